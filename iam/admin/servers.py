"""Admin screens for the server inventory and for role targets (servers, main accounts, services of a role)."""

from django.contrib import admin

from iam.admin import forms as iam_forms
from iam.admin.base import CATALOG, ServiceAdmin, changes
from iam.admin.inlines import ReadOnlyInline
from iam.models import RoleAccountTarget, RoleServiceTarget, RoleSsoAssignment, Server
from iam.services import roles as role_services
from iam.services import servers as server_services


@admin.register(Server)
class ServerAdmin(ServiceAdmin):
    audit_names = {
        "create": f"{CATALOG}Change/registerServerInstance",
        "update": f"{CATALOG}Change/updateServerInstance",
        "delete": f"{CATALOG}Change/deregisterServerInstance",
    }
    add_form = iam_forms.ServerCreateForm
    change_form = iam_forms.ServerChangeForm
    list_display = ("name", "server_instance_no", "account", "private_ip", "public_ip", "role", "create_time")
    list_select_related = ("account", "role")
    list_filter = ("account",)
    search_fields = ("name", "=server_instance_no", "=private_ip", "=public_ip", "=account__member_no")
    autocomplete_fields = ("account",)
    add_fieldsets = ((None, {"fields": ("account", "server_instance_no", "name", "private_ip", "public_ip", "tags")}),)
    change_fieldsets = (
        (None, {"fields": ("account", "server_instance_no", "nrn", "name", "private_ip", "public_ip", "role")}),
        (None, {"fields": ("tags", "has_metadata_token")}),
        ("Times", {"fields": ("create_time", "modified_time")}),
    )
    change_readonly_fields = (
        "account",
        "server_instance_no",
        "nrn",
        "has_metadata_token",
        "create_time",
        "modified_time",
    )
    actions = ["reset_metadata_token"]

    @admin.display(description="NRN")
    def nrn(self, obj):
        return obj.nrn

    @admin.display(description="metadata token", boolean=True)
    def has_metadata_token(self, obj):
        return bool(obj.metadata_token_hash)

    def service_create(self, request, form):
        cd = form.cleaned_data
        server, token = server_services.server_create(
            account=cd["account"],
            server_instance_no=cd["server_instance_no"],
            name=cd["name"],
            private_ip=cd.get("private_ip"),
            public_ip=cd.get("public_ip"),
            tags=cd.get("tags"),
            with_metadata_token=True,
        )
        self.audit_note(request, metadataToken="issued")
        self.announce(request, f"Metadata token of {server.name} (shown this once): {token}")
        return server

    def service_update(self, request, obj, form):
        updates = changes(form, {"name", "private_ip", "public_ip", "tags", "role"})
        # The form has already set the new role on ``obj``: the one it has is the database's.
        current = Server.objects.select_related("role").get(pk=obj.pk).role
        role = updates.pop("role", current)
        server = server_services.server_update(server=obj, **updates) if updates else obj
        if role != current:
            if current is not None:
                role_services.role_servers_detach(role=current, server_instance_nos=[obj.server_instance_no])
            if role is not None:
                role_services.role_servers_attach(role=role, server_instance_nos=[obj.server_instance_no])
            server.refresh_from_db()
        return server

    def service_delete(self, request, obj):
        server_services.server_delete(server=obj)

    @admin.action(description="Issue a new metadata token (shown once)")
    def reset_metadata_token(self, request, queryset):
        for server in queryset.select_related("account"):
            token = server_services.server_metadata_token_reset(server=server)
            self.audit(
                request, server, f"{CATALOG}Change/resetServerInstanceMetadataToken", {"metadataToken": "issued"}
            )
            self.message_user(request, f"Metadata token of {server.name} (shown this once): {token}")


class RoleServerInline(ReadOnlyInline):
    """The servers a Server role is attached to (set a server's role on the server's page)."""

    model = Server
    fk_name = "role"
    fields = ("name", "server_instance_no", "private_ip", "public_ip")
    readonly_fields = fields
    verbose_name = "server"
    verbose_name_plural = "servers (targets)"


class RoleAccountTargetInline(ReadOnlyInline):
    """The main accounts an Account role names as targets."""

    model = RoleAccountTarget
    fields = ("target_account", "create_time")
    readonly_fields = fields
    verbose_name = "target main account"
    verbose_name_plural = "target main accounts"


class RoleServiceTargetInline(ReadOnlyInline):
    """The services that may assume a Service role."""

    model = RoleServiceTarget
    fields = ("service", "create_time")
    readonly_fields = fields
    verbose_name = "target service"
    verbose_name_plural = "target services"


class RoleSsoAssignmentInline(admin.TabularInline):
    """The Ncloud Single Sign-On users and groups of a Single Sign-On role: staff keep them, standing in for Single
    Sign-On (the API shows them read-only)."""

    model = RoleSsoAssignment
    fields = ("principal_type", "principal_name", "create_time")
    readonly_fields = ("create_time",)
    extra = 1
    verbose_name = "Single Sign-On assignment"
    verbose_name_plural = "Single Sign-On assignments"
