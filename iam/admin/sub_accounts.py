"""Sub accounts (a generated password is shown once after saving) and access keys (listed without secrets)."""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone

from iam.admin import forms as iam_forms
from iam.admin.base import CATALOG, SECRET_FIELDS, AuditedAdmin, ServiceAdmin, changes, compact_time
from iam.admin.inlines import PolicyAttachmentInline, SubAccountAccessKeyInline, SubAccountGroupInline
from iam.admin.permissions import EffectivePermissionsMixin
from iam.errors import ServiceError
from iam.models import AccessKey, ConsoleSession, SubAccount
from iam.services import signin, simulation
from iam.services import sub_accounts as sub_account_services

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
class SubAccountAdmin(EffectivePermissionsMixin, ServiceAdmin):
    add_form = iam_forms.SubAccountCreateForm
    change_form = iam_forms.SubAccountChangeForm
    change_form_template = "admin/iam/subaccount_change_form.html"
    # Short columns, so that the list fits a 1,400 px window (e-mail and creation time are on the change page).
    list_display = ("login_id", "name", "account", "active", "console", "api", "has_mfa", "locked", "last_login")
    list_select_related = ("account",)
    list_filter = ("active", "can_api_gateway_access", "can_console_access", "is_mfa_mandatory", "account")
    search_fields = ("login_id", "name", "email", "=account__member_no")
    autocomplete_fields = ("account",)
    exclude = SECRET_FIELDS[SubAccount]
    inlines = [PolicyAttachmentInline, SubAccountAccessKeyInline, SubAccountGroupInline]
    actions = ["suspend_selected", "activate_selected", "unlock_sign_in"]
    audit_names = {
        "create": f"{CATALOG}Change/createSubAccount",
        "update": f"{CATALOG}Change/updateSubAccount",
        "delete": f"{CATALOG}Change/deleteSubAccount",
    }
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
        ("Console sign-in", {"fields": ("sign_in_page", "locked", "login_failed_attempts", "password_changed_time")}),
        ("Tags", {"fields": ("tags",)}),
        ("Times", {"fields": ("create_time", "modified_time", "last_login_time")}),
    )
    change_readonly_fields = (
        "account",
        "login_id",
        "sub_account_id",
        "nrn",
        "has_mfa",
        "sign_in_page",
        "locked",
        "login_failed_attempts",
        "password_changed_time",
        "create_time",
        "modified_time",
        "last_login_time",
    )

    last_login = compact_time("last_login_time", "last sign-in")

    @admin.display(boolean=True, description="MFA")
    def has_mfa(self, obj):
        return obj.has_mfa

    @admin.display(boolean=True, description="locked")
    def locked(self, obj):
        """Locked by wrong console passwords (the lock may still end by itself after IAM_SIGNIN_LOCK_SECONDS)."""
        return signin.lock_active(obj, timezone.now())

    @admin.display(description="sign-in page")
    def sign_in_page(self, obj):
        return f"/signin/{obj.account.sign_in_alias}/"

    @admin.display(boolean=True, description="console", ordering="can_console_access")
    def console(self, obj):
        return obj.can_console_access

    @admin.display(boolean=True, description="API", ordering="can_api_gateway_access")
    def api(self, obj):
        return obj.can_api_gateway_access

    # Issuing an access key: a button on the change page; the secret is shown once, in a message ------------------

    def get_urls(self):
        view = self.admin_site.admin_view(self.issue_access_key_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_issue_access_key"
        return [path("<path:object_id>/issue-access-key/", view, name=name), *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_issue_access_key"] = obj is not None and self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def issue_access_key_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        sub_account = self.get_object(request, unquote(object_id))
        if sub_account is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, sub_account):
            raise PermissionDenied
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[quote(sub_account.pk)],
            current_app=self.admin_site.name,
        )
        try:
            with transaction.atomic(using=router.db_for_write(AccessKey)):
                key, secret = sub_account_services.access_key_create(sub_account=sub_account)
                self.audit(
                    request,
                    sub_account,
                    f"{CATALOG}Change/createSubAccountAccessKey",
                    {"accessKey": key.access_key, "secret": "issued"},
                )
        except ServiceError as exc:
            self.message_user(request, f"No access key was issued: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        # After the commit, in the server-side session (MESSAGE_STORAGE), shown on the next page only.
        self.message_user(
            request,
            f"Access key of {sub_account.login_id}: {key.access_key} — secret key: {secret} — "
            "this is the only time the secret key is shown; store it now.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)

    @admin.display(description="NRN")
    def nrn(self, obj):
        return obj.nrn

    def permissions_subject(self, obj):
        return simulation.subject_for_sub_account(account=obj.account, sub_account=obj)

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
            self.audit_note(request, password="generated")
            self._announce_password(request, sub_account, generated)
        elif cd.get("new_password"):
            self.audit_note(request, password="set")
        return sub_account

    def service_update(self, request, obj, form):
        updates = changes(form, sub_account_services.UPDATABLE_FIELDS)
        if updates:
            sub_account_services.sub_account_update(sub_account=obj, **updates)
        cd = form.cleaned_data
        if cd.get("generate_password") or cd.get("new_password"):
            generated = sub_account_services.sub_account_password_reset(
                sub_account=obj,
                need_password_generate=bool(cd.get("generate_password")),
                new_password=cd.get("new_password") or None,
            )
            self.audit(
                request,
                obj,
                f"{CATALOG}Change/resetSubAccountPassword",
                {"password": "generated" if generated else "set"},
            )
            if generated:
                self._announce_password(request, obj, generated)
        return SubAccount.objects.get(pk=obj.pk)

    def service_delete(self, request, obj):
        sub_account_services.sub_account_delete(sub_account=obj)

    def deletion_detail(self, obj) -> dict:
        return {"loginId": obj.login_id}

    def _announce_password(self, request, sub_account, password: str) -> None:
        self.announce(
            request,
            f"Generated password of {sub_account.login_id}: {password} — this is the only time it is shown; "
            "it must be changed at the first sign-in.",
        )

    @admin.action(description="Suspend selected sub accounts", permissions=["change"])
    def suspend_selected(self, request, queryset):
        for sub_account in queryset.select_related("account"):
            sub_account_services.sub_account_set_active(sub_account=sub_account, active=False)
            self.audit(request, sub_account, f"{CATALOG}Change/suspendSubAccount", {"active": False})
        self.message_user(request, f"Suspended {len(queryset)} sub account(s).", messages.SUCCESS)

    @admin.action(description="Activate selected sub accounts", permissions=["change"])
    def activate_selected(self, request, queryset):
        for sub_account in queryset.select_related("account"):
            sub_account_services.sub_account_set_active(sub_account=sub_account, active=True)
            self.audit(request, sub_account, f"{CATALOG}Change/suspendSubAccount", {"active": True})
        self.message_user(request, f"Activated {len(queryset)} sub account(s).", messages.SUCCESS)

    @admin.action(description="Unlock console sign-in of selected sub accounts", permissions=["change"])
    def unlock_sign_in(self, request, queryset):
        for sub_account in queryset.select_related("account"):
            signin.sub_account_sign_in_unlock(sub_account=sub_account)
            self.audit(request, sub_account, f"{CATALOG}Change/updateSubAccount", {"signInLock": "lifted"})
        self.message_user(request, f"Unlocked console sign-in of {len(queryset)} sub account(s).", messages.SUCCESS)


@admin.register(AccessKey)
class AccessKeyAdmin(AuditedAdmin):
    """Every key: root, sub account and STS temporary keys (role sessions show their role and who is behind them).
    Disabling a temporary key ends that session at once."""

    list_display = ("access_key", "kind", "account", "sub_account", "role", "active", "created", "last_used", "expires")
    list_select_related = ("account", "sub_account", "role")
    list_filter = ("kind", "active", "mfa_present")
    search_fields = ("=access_key", "=account__member_no", "sub_account__login_id", "role__name")
    fields = (
        "access_key",
        "kind",
        "account",
        "sub_account",
        "role",
        "source_identity_type",
        "source_identity_id",
        "mfa_present",
        "active",
        "create_time",
        "last_used_time",
        "expire_time",
    )
    readonly_fields = fields
    exclude = SECRET_FIELDS[AccessKey]
    actions = ["disable_selected"]
    created = compact_time("create_time", "created")
    last_used = compact_time("last_used_time", "last used")
    expires = compact_time("expire_time", "expires")

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

    def audit_name(self, verb: str, obj=None) -> str:
        if obj is not None and obj.kind == AccessKey.SUB_ACCOUNT:
            name = {"delete": "deleteSubAccountAccessKey", "disable": "manageSubAccountAccessKeyState"}.get(verb)
            if name:
                return f"{CATALOG}Change/{name}"
        return super().audit_name(verb, obj)

    def deletion_detail(self, obj) -> dict:
        return {"accessKey": obj.access_key}

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
        for key in queryset.select_related("account", "sub_account__account"):
            sub_account_services.access_key_disable(key=key)
            self.audit(request, key, self.audit_name("disable", key), {"accessKey": key.access_key, "active": False})
        self.message_user(request, f"Disabled {len(queryset)} access key(s).", messages.SUCCESS)


@admin.register(ConsoleSession)
class ConsoleSessionAdmin(AuditedAdmin):
    """Sub accounts signed in to the console (and sign-ins under way); ending one signs that browser out at once."""

    list_display = ("sub_account", "account", "stage", "role", "source_ip", "created", "last_seen", "expires")
    list_select_related = ("sub_account__account", "role")
    list_filter = ("stage",)
    search_fields = ("sub_account__login_id", "=sub_account__account__member_no", "source_ip")
    exclude = SECRET_FIELDS[ConsoleSession]
    readonly_fields = ("sub_account", "stage", "mfa_present", "role", "role_switch_time", "source_ip",
                       "create_time", "last_seen_time", "expire_time")  # fmt: skip
    actions = ["end_selected"]
    created = compact_time("create_time", "created")
    last_seen = compact_time("last_seen_time", "last seen")
    expires = compact_time("expire_time", "idle expiry")

    @admin.display(description="account")
    def account(self, obj):
        return obj.sub_account.account

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_end_permission(self, request):
        return request.user.has_perm("iam.delete_consolesession")

    @admin.action(description="End selected console sessions", permissions=["end"])
    def end_selected(self, request, queryset):
        sessions = list(queryset.select_related("sub_account__account"))
        for session in sessions:
            ConsoleSession.objects.filter(pk=session.pk).delete()
            self.audit(request, session.sub_account, "Admin:endConsoleSession", {"stage": session.stage})
        self.message_user(request, f"Ended {len(sessions)} console session(s).", messages.SUCCESS)
