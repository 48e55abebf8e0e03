"""Main accounts: created with a root access key (its secret shown once), changed through the account services."""

from django.contrib import admin, messages

from iam.admin import forms as iam_forms
from iam.admin.base import ServiceAdmin, changes
from iam.admin.inlines import RootAccessKeyInline
from iam.models import Account
from iam.services import accounts as account_services
from iam.services import policies as policy_services


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
        ("Sign-in", {"fields": ("login_page_alias", "sign_in_page", "session_expiration_minutes")}),
        ("Long-term unused sub accounts", {"fields": ("use_long_term_unused_deactivation", "long_term_unused_days")}),
        ("Times", {"fields": ("create_time", "modified_time")}),
    )
    change_readonly_fields = ("member_no", "policy_count", "sign_in_page", "create_time", "modified_time")

    @admin.display(description="sub account sign-in page")
    def sign_in_page(self, obj):
        """Where the account's sub accounts sign in to the console (the member number while no alias is chosen)."""
        return f"/signin/{obj.sign_in_alias}/"

    def has_delete_permission(self, request, obj=None):
        # There is no account deletion service; suspend a main account instead.
        return False

    def service_create(self, request, form):
        cd = form.cleaned_data
        account, key, secret = account_services.account_create(
            name=cd["name"], email=cd.get("email") or "", member_no=cd.get("member_no")
        )
        # The root secret is issued and shown (once, after commit) by this save: the event says so, never what it is.
        self.audit_note(request, memberNo=account.member_no, rootAccessKey=key.access_key, secret="issued")
        self.announce(
            request,
            f"Root access key of {account}: {key.access_key} — secret key: {secret} — "
            "this is the only time the secret key is shown; store it now.",
        )
        return account

    def service_update(self, request, obj, form):
        identity = {f: form.cleaned_data[f] for f in ("name", "email") if f in form.changed_data}
        if identity:
            account_services.account_update(account=obj, **identity)
        allowed = {f for fields in account_services.SETTINGS_FIELDS.values() for f in fields}
        settings_changes = changes(form, allowed)
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
            self.audit(request, account, "Admin:reconcilePolicyCounter", {"before": before, "after": after})
            if before != after:
                repaired.append(f"{account.member_no}: {before} → {after}")
        detail = "; repaired " + ", ".join(repaired) if repaired else "; all were right"
        self.message_user(request, f"Checked {len(queryset)} policy counter(s){detail}.", messages.SUCCESS)

    @admin.action(description="Suspend selected main accounts", permissions=["change"])
    def suspend_accounts(self, request, queryset):
        for account in queryset:
            account_services.account_set_active(account=account, active=False)
            self.audit(request, account, "Admin:suspendAccount", {"active": False})
        self.message_user(request, f"Suspended {len(queryset)} main account(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected main accounts", permissions=["change"])
    def activate_accounts(self, request, queryset):
        for account in queryset:
            account_services.account_set_active(account=account, active=True)
            self.audit(request, account, "Admin:activateAccount", {"active": True})
        self.message_user(request, f"Reactivated {len(queryset)} main account(s).", messages.SUCCESS)
