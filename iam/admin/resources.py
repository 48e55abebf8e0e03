"""Groups, policies (system ones read-only), roles, and the list of policy attachments."""

from django.contrib import admin
from django.db import router, transaction
from django.db.models import Count
from django.utils.html import format_html

from iam.admin import forms as iam_forms
from iam.admin.base import CATALOG, AuditedAdmin, ServiceAdmin, changes
from iam.admin.inlines import GroupMemberInline, PolicyAttachmentInline, PolicyUsageInline, target_label
from iam.admin.permissions import EffectivePermissionsMixin
from iam.admin.servers import (
    RoleAccountTargetInline,
    RoleServerInline,
    RoleServiceTargetInline,
    RoleSsoAssignmentInline,
)
from iam.models import Group, Policy, PolicyAttachment, Role
from iam.services import groups as group_services
from iam.services import policies as policy_services
from iam.services import roles as role_services
from iam.services import simulation


def _catalog_names(entity: str) -> dict[str, str]:
    return {verb: f"{CATALOG}Change/{verb}{entity}" for verb in ("create", "update", "delete")}


# Groups -----------------------------------------------------------------------------------------------------------


@admin.register(Group)
class GroupAdmin(ServiceAdmin):
    audit_names = _catalog_names("Group")
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
        updates = changes(form, {"name", "description", "tags"})
        return group_services.group_update(group=obj, **updates) if updates else obj

    def service_delete(self, request, obj):
        group_services.group_delete(group=obj)


# Policies ---------------------------------------------------------------------------------------------------------


@admin.register(Policy)
class PolicyAdmin(ServiceAdmin):
    audit_names = _catalog_names("Policy")
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
        updates = changes(form, {"name", "description", "permissions", "tags"})
        return policy_services.policy_update(policy=obj, **updates) if updates else obj

    def service_delete(self, request, obj):
        policy_services.policy_delete(policy=obj)


# Roles ------------------------------------------------------------------------------------------------------------


@admin.register(Role)
class RoleAdmin(EffectivePermissionsMixin, ServiceAdmin):
    audit_names = _catalog_names("Role")
    add_form = iam_forms.RoleCreateForm
    change_form = iam_forms.RoleChangeForm
    list_display = ("name", "role_type", "account", "active", "session_expiration_sec", "create_time", "last_use_time")
    list_select_related = ("account",)
    list_filter = ("role_type", "active", "account")
    search_fields = ("name", "description", "=role_no", "=account__member_no")
    autocomplete_fields = ("account",)
    inlines = [
        PolicyAttachmentInline,
        RoleServerInline,
        RoleAccountTargetInline,
        RoleServiceTargetInline,
        RoleSsoAssignmentInline,
    ]
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

    def permissions_subject(self, obj):
        return simulation.subject_for_role(role=obj)

    def service_create(self, request, form):
        cd = form.cleaned_data
        return role_services.role_create(
            account=cd["account"],
            name=cd["name"],
            role_type=cd["role_type"],
            session_expiration_sec=cd.get("session_expiration_sec"),
            description=cd.get("description") or "",
            tags=cd.get("tags"),
            by_staff=True,
        )

    def get_inlines(self, request, obj):
        # Each role type shows the targets it can have.
        if obj is None:
            return []
        targets = {
            Role.SERVER: RoleServerInline,
            Role.ACCOUNT: RoleAccountTargetInline,
            Role.SERVICE: RoleServiceTargetInline,
            Role.SINGLE_SIGN_ON: RoleSsoAssignmentInline,
        }
        return [PolicyAttachmentInline] + ([targets[obj.role_type]] if obj.role_type in targets else [])

    def service_update(self, request, obj, form):
        updates = changes(form, {"name", "description", "session_expiration_sec", "tags", "active"})
        return role_services.role_update(role=obj, by_staff=True, **updates) if updates else obj

    def service_delete(self, request, obj):
        role_services.role_delete(role=obj, by_staff=True)


# Attachments: listed for search, detached here or on their owners ----------------------------------------------


@admin.register(PolicyAttachment)
class PolicyAttachmentAdmin(AuditedAdmin):
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
        return target_label(obj)

    def audit_name(self, verb: str, obj=None) -> str:
        if verb == "delete" and obj is not None:
            return f"{CATALOG}Change/removePolicyFrom{type(obj.target).__name__}"
        return super().audit_name(verb, obj)

    def deletion_detail(self, obj) -> dict:
        return {"policyId": obj.policy.policy_id, "policyName": obj.policy.name}

    def delete_model(self, request, obj):
        policy_services.policies_detach(target=obj.target, policy_ids=[obj.policy.policy_id])

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=router.db_for_write(self.model)):
            for attachment in queryset.select_related("policy", "sub_account", "group", "role"):
                self.delete_model(request, attachment)
