"""Admin screens for staff: main accounts and everything in them. Every write goes through the services of
``iam.services`` (the same ones the API calls), so limits, counters and validation hold here too.

Secrets never show: no form, list, read-only field or search touches ``AccessKey.secret_encrypted``,
``SubAccount.password`` or ``SubAccount.mfa_secret_encrypted``. A new secret (root key, generated password) is shown
once, in a message after saving. System-managed policies are read-only.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db import models, router, transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from iam import forms as iam_forms
from iam.errors import ServiceError
from iam.models import AccessKey, Account, Group, GroupMembership, Policy, PolicyAttachment, Role, SubAccount
from iam.services import accounts as account_services
from iam.services import groups as group_services
from iam.services import policies as policy_services
from iam.services import roles as role_services
from iam.services import sub_accounts as sub_account_services

_SECRET_FIELDS = {
    AccessKey: ("secret_encrypted",),
    SubAccount: ("password", "mfa_secret_encrypted"),
}


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Copy a service's saved row into the admin's in-memory object, so the admin's log and redirect use it."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def _changes(form, allowed) -> dict:
    return {f: form.cleaned_data[f] for f in form.changed_data if f in allowed}


class ServiceAdmin(admin.ModelAdmin):
    """A model admin whose saves and deletes are done by services.

    A service refusal (``ServiceError``) raised while saving rolls the whole save back (the admin's change view
    runs in one transaction) and the form is shown again with the service's errors on it. Messages that reveal a
    secret are queued and only sent once the save has gone through.
    """

    add_form = change_form = None
    add_fieldsets: tuple = ()
    change_fieldsets: tuple = ()
    add_readonly_fields: tuple = ()
    change_readonly_fields: tuple = ()

    # Services ---------------------------------------------------------------------------------------------------

    def service_create(self, request, form) -> models.Model:
        raise NotImplementedError

    def service_update(self, request, obj, form) -> models.Model:
        raise NotImplementedError

    def service_delete(self, request, obj) -> None:
        raise NotImplementedError

    # Forms --------------------------------------------------------------------------------------------------------

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            kwargs["form_class"] = iam_forms.PrettyJSONField
            if db_field.has_default():
                kwargs["empty_value"] = db_field.get_default()
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.add_readonly_fields if obj is None else self.change_readonly_fields

    def get_inlines(self, request, obj):
        # Inlines act on an existing row through services (attach, add member); there is none yet on the add page.
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = self.add_form if obj is None else self.change_form
        if form_class is not None:
            kwargs["form"] = form_class
        form = super().get_form(request, obj, change, **kwargs)
        # modelform_factory made this class for this request only, so setting the attribute touches nothing shared.
        form.service_error = getattr(request, "_iam_service_error", None)
        return form

    # Views --------------------------------------------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        request._iam_announcements = []
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            if request.method != "POST":
                raise
            # The failed save was rolled back with the view's transaction; render the same form with the errors.
            # The form is invalid this time (it carries the error), so nothing is saved on this second pass.
            request._iam_announcements = []
            request._iam_service_error = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            self.message_user(request, f"Not deleted: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[quote(object_id)],
                    current_app=self.admin_site.name,
                )
            )

    def changelist_view(self, request, extra_context=None):
        if request.method != "POST":
            return super().changelist_view(request, extra_context)
        # Actions (and bulk deletes) are all or nothing: one refusal undoes the batch and its log entries.
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().changelist_view(request, extra_context)
        except ServiceError as exc:
            self.message_user(request, f"Nothing was changed: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        self._send_announcements(request)
        return response

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        self._send_announcements(request)
        return response

    def announce(self, request, text: str) -> None:
        """A message to show once the save has committed (a new secret must not be shown for a rolled-back save)."""
        request._iam_announcements.append(text)

    def _send_announcements(self, request) -> None:
        for text in getattr(request, "_iam_announcements", ()):
            messages.success(request, text)
        request._iam_announcements = []

    # Saving -------------------------------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        saved = self.service_update(request, obj, form) if change else self.service_create(request, form)
        _adopt(obj, saved)

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in queryset:
                self.service_delete(request, obj)

    def save_formset(self, request, form, formset, change):
        save = getattr(formset, "save_through_services", None)
        if save is not None:
            save(formset, form.instance)
        else:
            super().save_formset(request, form, formset, change)


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
    # What formset.save() would have recorded; the admin builds its change message from these.
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


def _target_label(attachment: PolicyAttachment) -> str:
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


# Inlines ----------------------------------------------------------------------------------------------------------


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
    """A sub account's access keys, without their secrets."""

    model = AccessKey
    fk_name = "sub_account"
    fields = ("access_key", "active", "create_time", "last_used_time")
    readonly_fields = fields
    exclude = _SECRET_FIELDS[AccessKey]


class RootAccessKeyInline(ReadOnlyInline):
    """A main account's root access keys, without their secrets."""

    model = AccessKey
    fk_name = "account"
    fields = ("access_key", "active", "create_time", "last_used_time")
    readonly_fields = fields
    exclude = _SECRET_FIELDS[AccessKey]
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
        return _target_label(obj)


# Main accounts ------------------------------------------------------------------------------------------------


@admin.register(Account)
class AccountAdmin(ServiceAdmin):
    add_form = iam_forms.AccountCreateForm
    change_form = iam_forms.AccountChangeForm
    list_display = ("member_no", "name", "email", "active", "policy_count", "create_time")
    list_filter = ("active", "use_long_term_unused_deactivation")
    search_fields = ("=member_no", "name", "email", "login_page_alias")
    ordering = ("member_no",)
    inlines = [RootAccessKeyInline]
    actions = ["reconcile_policy_counter", "suspend_accounts", "activate_accounts"]
    add_fieldsets = ((None, {"fields": ("name", "email", "member_no")}),)
    change_fieldsets = (
        (None, {"fields": ("member_no", "name", "email", "active", "policy_count")}),
        (
            "Password policy",
            {"fields": ("password_min_length", "password_expiration_days", "password_reuse_prevention")},
        ),
        ("Sign-in", {"fields": ("login_page_alias", "session_expiration_minutes")}),
        ("Long-term unused sub accounts", {"fields": ("use_long_term_unused_deactivation", "long_term_unused_days")}),
        ("Times", {"fields": ("create_time", "modified_time")}),
    )
    change_readonly_fields = ("member_no", "policy_count", "create_time", "modified_time")

    def has_delete_permission(self, request, obj=None):
        # There is no account deletion service; suspend a main account instead.
        return False

    def service_create(self, request, form):
        cd = form.cleaned_data
        account, key, secret = account_services.account_create(
            name=cd["name"], email=cd.get("email") or "", member_no=cd.get("member_no")
        )
        self.announce(
            request,
            f"Root access key of {account}: {key.access_key} — secret key: {secret} — "
            "this is the only time the secret key is shown; store it now.",
        )
        return account

    def service_update(self, request, obj, form):
        direct = [f for f in ("name", "email") if f in form.changed_data]
        if direct:
            # Name and e-mail are plain columns with no rules beyond the form's; no service owns them.
            fresh = Account.objects.select_for_update().get(pk=obj.pk)
            for field in direct:
                setattr(fresh, field, form.cleaned_data[field])
            fresh.save(update_fields=[*direct, "modified_time"])
        allowed = {f for fields in account_services.SETTINGS_FIELDS.values() for f in fields}
        settings_changes = _changes(form, allowed)
        if settings_changes:
            account_services.account_settings_update(account=obj, **settings_changes)
        if "active" in form.changed_data:
            account_services.account_set_active(account=obj, active=form.cleaned_data["active"])
        return Account.objects.get(pk=obj.pk)

    @admin.action(description="Reconcile policy counter", permissions=["change"])
    def reconcile_policy_counter(self, request, queryset):
        repaired = []
        for account in queryset:
            before, after = policy_services.policy_counter_reconcile(account=account)
            if before != after:
                repaired.append(f"{account.member_no}: {before} → {after}")
        detail = "; repaired " + ", ".join(repaired) if repaired else "; all were right"
        self.message_user(request, f"Checked {len(queryset)} policy counter(s){detail}.", messages.SUCCESS)

    @admin.action(description="Suspend selected main accounts", permissions=["change"])
    def suspend_accounts(self, request, queryset):
        for account in queryset:
            account_services.account_set_active(account=account, active=False)
        self.message_user(request, f"Suspended {len(queryset)} main account(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected main accounts", permissions=["change"])
    def activate_accounts(self, request, queryset):
        for account in queryset:
            account_services.account_set_active(account=account, active=True)
        self.message_user(request, f"Reactivated {len(queryset)} main account(s).", messages.SUCCESS)


# Sub accounts -------------------------------------------------------------------------------------------------

_SUB_ACCOUNT_ACCESS = (
    "can_console_access",
    "use_console_permit_ip",
    "console_permit_ips",
    "can_api_gateway_access",
    "use_api_allow_source",
    "api_allow_sources",
    "is_mfa_mandatory",
    "need_password_reset",
)


@admin.register(SubAccount)
class SubAccountAdmin(ServiceAdmin):
    add_form = iam_forms.SubAccountCreateForm
    change_form = iam_forms.SubAccountChangeForm
    list_display = (
        "login_id",
        "name",
        "email",
        "account",
        "active",
        "can_console_access",
        "can_api_gateway_access",
        "has_mfa",
        "create_time",
        "last_login_time",
    )
    list_select_related = ("account",)
    list_filter = ("active", "can_api_gateway_access", "can_console_access", "is_mfa_mandatory", "account")
    search_fields = ("login_id", "name", "email", "=account__member_no")
    autocomplete_fields = ("account",)
    exclude = _SECRET_FIELDS[SubAccount]
    inlines = [PolicyAttachmentInline, SubAccountAccessKeyInline, SubAccountGroupInline]
    actions = ["suspend_selected", "activate_selected"]
    add_fieldsets = (
        (None, {"fields": ("account", "login_id", "name", "email", "memo", "active")}),
        ("Password", {"fields": ("new_password", "generate_password")}),
        ("Access", {"fields": _SUB_ACCOUNT_ACCESS}),
        ("Tags", {"fields": ("tags",)}),
    )
    change_fieldsets = (
        (None, {"fields": ("account", "login_id", "sub_account_id", "nrn", "name", "email", "memo", "active")}),
        ("Reset password", {"fields": ("new_password", "generate_password")}),
        ("Access", {"fields": (*_SUB_ACCOUNT_ACCESS, "has_mfa")}),
        ("Tags", {"fields": ("tags",)}),
        ("Times", {"fields": ("create_time", "modified_time", "last_login_time")}),
    )
    change_readonly_fields = (
        "account",
        "login_id",
        "sub_account_id",
        "nrn",
        "has_mfa",
        "create_time",
        "modified_time",
        "last_login_time",
    )

    @admin.display(boolean=True, description="MFA")
    def has_mfa(self, obj):
        return obj.has_mfa

    @admin.display(description="NRN")
    def nrn(self, obj):
        return obj.nrn

    def service_create(self, request, form):
        cd = form.cleaned_data
        fields = {
            f: cd[f] for f in sub_account_services.UPDATABLE_FIELDS if f in cd and f not in ("name", "email", "memo")
        }
        sub_account, generated = sub_account_services.sub_account_create(
            account=cd["account"],
            login_id=cd["login_id"],
            name=cd["name"],
            email=cd["email"],
            memo=cd.get("memo") or "",
            password=cd.get("new_password") or None,
            need_password_generate=bool(cd.get("generate_password")),
            **fields,
        )
        if generated:
            self._announce_password(request, sub_account, generated)
        return sub_account

    def service_update(self, request, obj, form):
        changes = _changes(form, sub_account_services.UPDATABLE_FIELDS)
        if changes:
            sub_account_services.sub_account_update(sub_account=obj, **changes)
        cd = form.cleaned_data
        if cd.get("generate_password") or cd.get("new_password"):
            generated = sub_account_services.sub_account_password_reset(
                sub_account=obj,
                need_password_generate=bool(cd.get("generate_password")),
                new_password=cd.get("new_password") or None,
            )
            if generated:
                self._announce_password(request, obj, generated)
        return SubAccount.objects.get(pk=obj.pk)

    def service_delete(self, request, obj):
        sub_account_services.sub_account_delete(sub_account=obj)

    def _announce_password(self, request, sub_account, password: str) -> None:
        self.announce(
            request,
            f"Generated password of {sub_account.login_id}: {password} — this is the only time it is shown; "
            "it must be changed at the first sign-in.",
        )

    @admin.action(description="Suspend selected sub accounts", permissions=["change"])
    def suspend_selected(self, request, queryset):
        for sub_account in queryset:
            sub_account_services.sub_account_set_active(sub_account=sub_account, active=False)
        self.message_user(request, f"Suspended {len(queryset)} sub account(s).", messages.SUCCESS)

    @admin.action(description="Activate selected sub accounts", permissions=["change"])
    def activate_selected(self, request, queryset):
        for sub_account in queryset:
            sub_account_services.sub_account_set_active(sub_account=sub_account, active=True)
        self.message_user(request, f"Activated {len(queryset)} sub account(s).", messages.SUCCESS)


# Groups -----------------------------------------------------------------------------------------------------------


@admin.register(Group)
class GroupAdmin(ServiceAdmin):
    add_form = iam_forms.GroupCreateForm
    change_form = iam_forms.GroupChangeForm
    list_display = ("name", "account", "member_count", "description", "create_time")
    list_select_related = ("account",)
    list_filter = ("account",)
    search_fields = ("name", "description", "=account__member_no")
    autocomplete_fields = ("account",)
    inlines = [GroupMemberInline, PolicyAttachmentInline]
    add_fieldsets = ((None, {"fields": ("account", "name", "description", "tags")}),)
    change_fieldsets = (
        (None, {"fields": ("account", "group_id", "name", "description", "tags")}),
        ("Times", {"fields": ("create_time", "modified_time")}),
    )
    change_readonly_fields = ("account", "group_id", "create_time", "modified_time")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    def service_create(self, request, form):
        cd = form.cleaned_data
        return group_services.group_create(
            account=cd["account"], name=cd["name"], description=cd.get("description") or "", tags=cd.get("tags")
        )

    def service_update(self, request, obj, form):
        changes = _changes(form, {"name", "description", "tags"})
        return group_services.group_update(group=obj, **changes) if changes else obj

    def service_delete(self, request, obj):
        group_services.group_delete(group=obj)


# Policies ---------------------------------------------------------------------------------------------------------


@admin.register(Policy)
class PolicyAdmin(ServiceAdmin):
    add_form = iam_forms.PolicyCreateForm
    change_form = iam_forms.PolicyChangeForm
    list_display = ("name", "policy_type", "account", "attachment_count", "description", "modified_time")
    list_select_related = ("account",)
    list_filter = ("policy_type", "account")
    search_fields = ("name", "description", "=policy_id", "=account__member_no")
    autocomplete_fields = ("account",)
    inlines = [PolicyUsageInline]
    add_fieldsets = ((None, {"fields": ("account", "name", "description", "permissions", "tags")}),)
    change_fieldsets = (
        (None, {"fields": ("policy_id", "policy_type", "account", "name", "description", "permissions", "tags")}),
        ("Times", {"fields": ("create_time", "modified_time")}),
    )
    system_fieldsets = (
        (None, {"fields": ("policy_id", "policy_type", "name", "description", "permissions_document")}),
        ("Times", {"fields": ("create_time", "modified_time")}),
    )
    change_readonly_fields = ("policy_id", "policy_type", "account", "create_time", "modified_time")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(attachment_count=Count("attachments", distinct=True))

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_system:
            return self.system_fieldsets
        return super().get_fieldsets(request, obj)

    def has_change_permission(self, request, obj=None):
        # System-managed policies are shared by every account and never change (also checked by the services).
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="attached", ordering="attachment_count")
    def attachment_count(self, obj):
        return obj.attachment_count

    @admin.display(description="permissions")
    def permissions_document(self, obj):
        return format_html("<pre>{}</pre>", iam_forms.PrettyJSONField().prepare_value(obj.permissions))

    def service_create(self, request, form):
        cd = form.cleaned_data
        return policy_services.policy_create(
            account=cd["account"],
            name=cd["name"],
            permissions=cd["permissions"],
            description=cd.get("description") or "",
            tags=cd.get("tags"),
        )

    def service_update(self, request, obj, form):
        changes = _changes(form, {"name", "description", "permissions", "tags"})
        return policy_services.policy_update(policy=obj, **changes) if changes else obj

    def service_delete(self, request, obj):
        policy_services.policy_delete(policy=obj)


# Roles ------------------------------------------------------------------------------------------------------------


@admin.register(Role)
class RoleAdmin(ServiceAdmin):
    add_form = iam_forms.RoleCreateForm
    change_form = iam_forms.RoleChangeForm
    list_display = ("name", "role_type", "account", "active", "session_expiration_sec", "create_time", "last_use_time")
    list_select_related = ("account",)
    list_filter = ("role_type", "active", "account")
    search_fields = ("name", "description", "=role_no", "=account__member_no")
    autocomplete_fields = ("account",)
    inlines = [PolicyAttachmentInline]
    add_fieldsets = (
        (None, {"fields": ("account", "name", "role_type", "session_expiration_sec", "description", "tags")}),
    )
    change_fieldsets = (
        (None, {"fields": ("account", "role_no", "nrn", "role_type", "name", "active", "session_expiration_sec")}),
        (None, {"fields": ("description", "tags")}),
        ("Times", {"fields": ("create_time", "modified_time", "last_use_time")}),
    )
    change_readonly_fields = ("account", "role_no", "nrn", "role_type", "create_time", "modified_time", "last_use_time")

    @admin.display(description="NRN")
    def nrn(self, obj):
        return obj.nrn

    def service_create(self, request, form):
        cd = form.cleaned_data
        return role_services.role_create(
            account=cd["account"],
            name=cd["name"],
            role_type=cd["role_type"],
            session_expiration_sec=cd.get("session_expiration_sec"),
            description=cd.get("description") or "",
            tags=cd.get("tags"),
        )

    def service_update(self, request, obj, form):
        changes = _changes(form, {"name", "description", "session_expiration_sec", "tags", "active"})
        return role_services.role_update(role=obj, **changes) if changes else obj

    def service_delete(self, request, obj):
        role_services.role_delete(role=obj)


# Attachments and access keys: listed for search, changed on their owners or by actions ---------------------------


@admin.register(PolicyAttachment)
class PolicyAttachmentAdmin(admin.ModelAdmin):
    list_display = ("policy", "attached_to", "account", "create_time")
    list_select_related = ("policy", "account", "sub_account", "group", "role")
    list_filter = ("policy__policy_type", "account")
    search_fields = ("policy__name", "sub_account__login_id", "group__name", "role__name", "=account__member_no")
    fields = ("policy", "account", "attached_to", "create_time")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="attached to")
    def attached_to(self, obj):
        return _target_label(obj)

    def delete_model(self, request, obj):
        policy_services.policies_detach(target=obj.target, policy_ids=[obj.policy.policy_id])

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=router.db_for_write(self.model)):
            for attachment in queryset.select_related("policy", "sub_account", "group", "role"):
                self.delete_model(request, attachment)


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    list_display = ("access_key", "kind", "account", "sub_account", "active", "create_time", "last_used_time")
    list_select_related = ("account", "sub_account")
    list_filter = ("kind", "active")
    search_fields = ("=access_key", "=account__member_no", "sub_account__login_id")
    fields = ("access_key", "kind", "account", "sub_account", "active", "create_time", "last_used_time", "expire_time")
    readonly_fields = fields
    exclude = _SECRET_FIELDS[AccessKey]
    actions = ["disable_selected"]

    def has_add_permission(self, request):
        # Keys are issued with their secret by the API (or with a main account), never typed in here.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Root keys are disabled, not deleted; sub account keys go with their sub account (or by the API).
        if obj is not None and obj.kind == AccessKey.ROOT:
            return False
        return super().has_delete_permission(request, obj)

    def has_disable_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def delete_model(self, request, obj):
        if obj.kind == AccessKey.SUB_ACCOUNT and obj.sub_account_id:
            sub_account_services.access_key_delete(sub_account=obj.sub_account, access_key=obj.access_key)
        else:
            obj.delete()

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=router.db_for_write(self.model)):
            for key in queryset.select_related("sub_account"):
                self.delete_model(request, key)

    @admin.action(description="Disable selected keys", permissions=["disable"])
    def disable_selected(self, request, queryset):
        for key in queryset:
            sub_account_services.access_key_disable(key=key)
        self.message_user(request, f"Disabled {len(queryset)} access key(s).", messages.SUCCESS)
