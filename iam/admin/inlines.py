"""Inline rows of the change pages: attached policies and group members change through services; the rest is shown
for information only (keys without their secrets)."""

from django.contrib import admin

from iam.admin import forms as iam_forms
from iam.admin.base import SECRET_FIELDS
from iam.models import AccessKey, Group, GroupMembership, Policy, PolicyAttachment, SubAccount
from iam.services import groups as group_services
from iam.services import policies as policy_services


def _inline_changes(formset, field: str) -> tuple[list, list]:
    """(rows marked for removal, values picked in new rows) of an inline whose existing rows cannot be edited."""
    removed = [f.instance for f in formset.deleted_forms if f.instance.pk]
    deleted_ids = {id(f) for f in formset.deleted_forms}
    added = [
        f.cleaned_data[field]
        for f in formset.extra_forms
        if id(f) not in deleted_ids and f.has_changed() and f.cleaned_data.get(field) is not None
    ]
    return removed, added


def _record(formset, new_objects, deleted_objects) -> None:
    # What formset.save() would have recorded; the admin builds its change message (and audit events) from these.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = list(new_objects), [], deleted_objects


def _save_attachments(formset, target) -> None:
    removed, added = _inline_changes(formset, "policy")
    if removed:
        policy_services.policies_detach(target=target, policy_ids=[a.policy.policy_id for a in removed])
    added_ids = [p.policy_id for p in added]
    if added_ids:
        policy_services.policies_attach(target=target, policy_ids=added_ids)
    fk = formset.fk.name
    new = PolicyAttachment.objects.filter(**{fk: target}, policy__policy_id__in=added_ids).select_related("policy")
    _record(formset, new, removed)


def _save_memberships(formset, group: Group) -> None:
    removed, added = _inline_changes(formset, "sub_account")
    if removed:
        group_services.group_members_remove(
            group=group, sub_account_ids=[str(m.sub_account.sub_account_id) for m in removed]
        )
    if added:
        group_services.group_members_add(group=group, sub_account_ids=[str(s.sub_account_id) for s in added])
    new = GroupMembership.objects.filter(group=group, sub_account__in=added).select_related("sub_account")
    _record(formset, new, removed)


def target_label(attachment: PolicyAttachment) -> str:
    if attachment.sub_account_id:
        return f"sub account {attachment.sub_account.login_id}"
    if attachment.group_id:
        return f"group {attachment.group.name}"
    return f"role {attachment.role.name}"


class ReadOnlyInline(admin.TabularInline):
    """Rows shown for information only."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PolicyAttachmentInline(admin.TabularInline):
    """The policies attached to a sub account, group or role; adding and removing rows attach and detach."""

    model = PolicyAttachment
    form = iam_forms.PolicyAttachmentInlineForm
    fields = ("policy", "policy_type", "create_time")
    readonly_fields = ("policy_type", "create_time")
    extra = 1
    verbose_name = "attached policy"
    verbose_name_plural = "attached policies"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("policy")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.save_through_services = staticmethod(_save_attachments)
        if obj is not None:
            # Only this account's policies and the system ones can be attached.
            field = formset.form.base_fields["policy"]
            field.queryset = Policy.objects.for_account(obj.account).order_by("-policy_type", "name")
            field.label_from_instance = lambda p: f"{p.name} (system)" if p.is_system else p.name
        return formset

    @admin.display(description="type")
    def policy_type(self, obj):
        return obj.policy.get_policy_type_display() if obj.policy_id else "-"


class GroupMemberInline(admin.TabularInline):
    """A group's members; adding and removing rows add and remove members (within 10 groups per sub account)."""

    model = GroupMembership
    form = iam_forms.GroupMembershipInlineForm
    fields = ("sub_account", "create_time")
    readonly_fields = ("create_time",)
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sub_account")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.save_through_services = staticmethod(_save_memberships)
        if obj is not None:
            formset.form.base_fields["sub_account"].queryset = SubAccount.objects.for_account(obj.account).order_by(
                "login_id"
            )
        return formset


class SubAccountGroupInline(ReadOnlyInline):
    """The groups a sub account belongs to (membership is edited on the group)."""

    model = GroupMembership
    fields = ("group", "create_time")
    readonly_fields = fields
    verbose_name = "group"
    verbose_name_plural = "groups (change membership on the group)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")


class SubAccountAccessKeyInline(ReadOnlyInline):
    """A sub account's access keys (its STS temporary keys and role sessions too), without their secrets."""

    model = AccessKey
    fk_name = "sub_account"
    fields = ("access_key", "kind", "role", "active", "create_time", "last_used_time", "expire_time")
    readonly_fields = fields
    exclude = SECRET_FIELDS[AccessKey]


class RootAccessKeyInline(ReadOnlyInline):
    """A main account's root access keys, without their secrets."""

    model = AccessKey
    fk_name = "account"
    fields = ("access_key", "active", "create_time", "last_used_time")
    readonly_fields = fields
    exclude = SECRET_FIELDS[AccessKey]
    verbose_name = "root access key"
    verbose_name_plural = "root access keys"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=AccessKey.ROOT)


class PolicyUsageInline(ReadOnlyInline):
    """Where a policy is attached (detach on the sub account, group or role)."""

    model = PolicyAttachment
    fk_name = "policy"
    fields = ("account", "attached_to", "create_time")
    readonly_fields = fields
    verbose_name = "attachment"
    verbose_name_plural = "attached to"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "sub_account", "group", "role")

    @admin.display(description="attached to")
    def attached_to(self, obj):
        return target_label(obj)
