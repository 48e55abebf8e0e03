"""Admin screens for External Access: private CAs and their certificates, trust anchors, CRLs with their import
progress. Staff look, and enable, disable or revoke through the services (each an audit event); creating is done
through the API, where the caller's account is known. A CA's private key is never shown."""

from django.contrib import admin, messages

from external_access.models import (
    CertificateAuthority,
    Crl,
    IssuedCertificate,
    Profile,
    ProfileRole,
    SessionAttempt,
    Subject,
    SubjectCertificate,
    TrustAnchor,
)
from external_access.services import cas
from external_access.services.common import set_enabled
from iam import audit
from iam.admin.base import ReadOnlyAdmin, compact_time
from iam.admin.inlines import ReadOnlyInline


class StaffActionsAdmin(ReadOnlyAdmin):
    """Read-only rows whose actions change them through a service; actions need the model's change permission."""

    def has_act_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def each(self, request, queryset, verb: str, change, audit_action: str) -> None:
        for obj in queryset:
            change(obj)
            self.audit(request, obj, audit_action, {"via": "admin"}, resource=self.nrn_of(obj))
        self.message_user(request, f"{verb} {len(queryset)} {self.opts.verbose_name_plural}.", messages.SUCCESS)

    def nrn_of(self, obj) -> str:
        return obj.nrn

    def account_of(self, obj) -> int:
        return obj.account_id

    def audit(self, request, obj, action, detail=None, *, resource=None):
        audit.record(
            account_id=self.account_of(obj), action=action, resource=resource or self.nrn_of(obj), detail=detail
        )


def switch_actions(plural: str, noun: str):
    """The enable and disable actions of a model with an ``enabled`` column (each change audited)."""

    @admin.action(description=f"Enable the selected {plural}", permissions=["act"])
    def enable(modeladmin, request, queryset):
        modeladmin.each(request, queryset, "Enabled", lambda row: set_enabled(row, True), f"Admin:enable{noun}")

    @admin.action(description=f"Disable the selected {plural}", permissions=["act"])
    def disable(modeladmin, request, queryset):
        modeladmin.each(request, queryset, "Disabled", lambda row: set_enabled(row, False), f"Admin:disable{noun}")

    return enable, disable


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(ReadOnlyAdmin):
    list_display = ("name", "account", "ca_type", "key_algorithm", "status", "not_after_column", "create_time_column")
    list_filter = ("ca_type", "status", "key_algorithm")
    search_fields = ("name", "subject", "account__name", "=account__member_no")
    fields = (
        "account",
        "name",
        "ca_type",
        "parent",
        "key_algorithm",
        "subject",
        "serial_number",
        "status",
        "crl_number",
        "not_before",
        "not_after",
        "certificate_pem",
        "create_time",
        "update_time",
    )  # fmt: skip  (never private_key_encrypted)
    readonly_fields = fields
    not_after_column = compact_time("not_after", "expires")
    create_time_column = compact_time("create_time", "created")


@admin.register(IssuedCertificate)
class IssuedCertificateAdmin(StaffActionsAdmin):
    list_display = ("subject", "serial_number", "ca", "not_after_column", "revoke_time_column", "revocation_reason")
    list_filter = ("revocation_reason",)
    search_fields = ("subject", "=serial_number", "ca__name")
    fields = (
        "certificate_id", "ca", "subject", "serial_number", "not_before", "not_after", "revoke_time",
        "revocation_reason", "certificate_pem", "create_time",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["revoke"]
    not_after_column = compact_time("not_after", "expires")
    revoke_time_column = compact_time("revoke_time", "revoked")

    def nrn_of(self, obj) -> str:
        return obj.ca.nrn

    def account_of(self, obj) -> int:
        return obj.ca.account_id

    def audit(self, request, obj, action, detail=None, *, resource=None):
        super().audit(request, obj, action, {**(detail or {}), "serialNumber": obj.serial_number}, resource=resource)

    @admin.action(description="Revoke the selected certificates (reason: unspecified)", permissions=["act"])
    def revoke(self, request, queryset):
        queryset = queryset.select_related("ca__account").filter(revoke_time__isnull=True)
        self.each(
            request, queryset, "Revoked", lambda c: cas.certificate_revoke(certificate=c), "Admin:revokeCertificate"
        )


class CrlInline(ReadOnlyInline):
    model = Crl
    fields = ("name", "enabled", "import_status", "stored_serials", "total_serials", "this_update", "next_update")
    readonly_fields = fields
    show_change_link = True


@admin.register(TrustAnchor)
class TrustAnchorAdmin(StaffActionsAdmin):
    list_display = ("name", "account", "source_type", "enabled", "ca", "update_time_column")
    list_filter = ("enabled", "source_type")
    search_fields = ("name", "=trust_anchor_id", "account__name", "=account__member_no")
    fields = (
        "trust_anchor_id", "account", "name", "description", "enabled", "source_type", "ca",
        "certificate_bundle_pem", "create_time", "update_time",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [CrlInline]
    actions = ["enable", "disable"]
    enable, disable = switch_actions("trust anchors", "TrustAnchor")
    update_time_column = compact_time("update_time", "updated")


@admin.register(Crl)
class CrlAdmin(StaffActionsAdmin):
    list_display = ("name", "trust_anchor", "enabled", "import_status", "progress", "in_force", "this_update")
    list_filter = ("enabled", "import_status")
    search_fields = ("name", "=crl_id", "issuer", "trust_anchor__name")
    fields = (
        "crl_id", "trust_anchor", "name", "enabled", "issuer", "this_update", "next_update", "import_status",
        "import_error", "progress", "in_force", "generation", "active_generation", "import_started_time",
        "create_time", "update_time",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["enable", "disable"]
    enable, disable = switch_actions("CRLs", "Crl")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("trust_anchor__account").defer("crl_der")

    def account_of(self, obj) -> int:
        return obj.trust_anchor.account_id

    @admin.display(description="serials stored")
    def progress(self, obj) -> str:
        percent = 100 if not obj.total_serials else obj.stored_serials * 100 // obj.total_serials
        return f"{obj.stored_serials:,} of {obj.total_serials:,} ({percent}%)"

    @admin.display(description="in force", boolean=True)
    def in_force(self, obj) -> bool:
        return obj.enabled and obj.active_generation is not None


class ProfileRoleInline(ReadOnlyInline):
    model = ProfileRole
    fields = ("role", "create_time")
    readonly_fields = fields


@admin.register(Profile)
class ProfileAdmin(StaffActionsAdmin):
    list_display = ("name", "account", "enabled", "duration_seconds", "update_time_column")
    list_filter = ("enabled",)
    search_fields = ("name", "=profile_id", "account__name", "=account__member_no")
    fields = (
        "profile_id",
        "account",
        "name",
        "description",
        "enabled",
        "duration_seconds",
        "create_time",
        "update_time",
    )
    readonly_fields = fields
    inlines = [ProfileRoleInline]
    actions = ["enable", "disable"]
    enable, disable = switch_actions("profiles", "Profile")
    update_time_column = compact_time("update_time", "updated")


class SubjectCertificateInline(ReadOnlyInline):
    model = SubjectCertificate
    fields = ("serial_number", "issuer", "not_before", "not_after", "first_seen_time", "last_seen_time")
    readonly_fields = fields


class SessionAttemptInline(ReadOnlyInline):
    model = SessionAttempt
    fields = ("time", "outcome", "reason", "source_ip", "role_nrn", "access_key", "expire_time")
    readonly_fields = fields
    max_num = 0
    verbose_name_plural = "sessions (newest first)"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-time", "-id")


@admin.register(Subject)
class SubjectAdmin(StaffActionsAdmin):
    list_display = ("x509_subject", "account", "enabled", "last_seen_column", "create_time_column")
    list_filter = ("enabled",)
    search_fields = ("x509_subject", "=subject_id", "account__name", "=account__member_no")
    fields = ("subject_id", "account", "x509_subject", "enabled", "create_time", "update_time", "last_seen_time")
    readonly_fields = fields
    inlines = [SubjectCertificateInline, SessionAttemptInline]
    actions = ["enable", "disable"]
    enable, disable = switch_actions("subjects (a disabled one gets no session)", "Subject")
    last_seen_column = compact_time("last_seen_time", "last seen")
    create_time_column = compact_time("create_time", "created")
