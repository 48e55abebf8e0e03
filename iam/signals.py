"""Reactions to changes: bump the account's authorization version so compiled policy caches are not used again."""

from django.db.models import F
from django.db.models.signals import post_delete, post_save

from iam.models import Account, GroupMembership, Policy, PolicyAttachment, Role, SubAccount


def authz_changed(account_id: int | None) -> None:
    """Mark every compiled authorization of an account stale (in the caller's transaction)."""
    if account_id is not None:
        Account.objects.filter(pk=account_id).update(authz_version=F("authz_version") + 1)


def _policy_changed(sender, instance: Policy, created: bool = False, **kwargs) -> None:
    if created:
        return  # a new policy is attached nowhere yet
    if instance.account_id is not None:
        authz_changed(instance.account_id)
    else:
        # A system policy is shared: every account that attached it is affected.
        for account_id in set(instance.attachments.values_list("account_id", flat=True)):
            authz_changed(account_id)


def _attachment_changed(sender, instance: PolicyAttachment, **kwargs) -> None:
    authz_changed(instance.account_id)


def _membership_changed(sender, instance: GroupMembership, **kwargs) -> None:
    account_id = Account.objects.filter(groups__pk=instance.group_id).values_list("pk", flat=True).first()
    authz_changed(account_id)


def _account_scoped_changed(sender, instance, **kwargs) -> None:
    authz_changed(instance.account_id)


def client_ip(request) -> str:
    """The staff user's address (X-Forwarded-For only from IAM_TRUSTED_PROXIES), as django-axes reads it."""
    from iam.gateway.authentication import client_ip as gateway_client_ip

    return gateway_client_ip(request)


def _staff_signed_in(sender, request, user, **kwargs) -> None:
    from axes.models import AccessAttempt

    from iam import audit

    # The user's own failures only (those at other usernames from the same address still count towards its lock).
    AccessAttempt.objects.filter(username=user.get_username()).delete()

    ip = client_ip(request) if request is not None else ""
    audit.record(
        account_id=None,
        action="Admin:signIn",
        detail={"username": user.get_username()},
        actor=audit.Actor(f"staff:{user.get_username()}", "Staff", ip),
    )


def _staff_sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    from iam import audit
    from iam.models import AuditEvent

    username = str(credentials.get("username", ""))[:150]  # never the password Django already masked
    ip = client_ip(request) if request is not None else ""
    audit.record(
        account_id=None,
        action="Admin:signIn",
        result=AuditEvent.DENIED,
        detail={"username": username},
        actor=audit.Actor(f"staff:{username}", "Staff", ip),
    )


def _staff_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    from iam import audit
    from iam.models import AuditEvent

    username = str(username or "")[:150]
    audit.record(
        account_id=None,
        action="Admin:signInLockout",
        result=AuditEvent.DENIED,
        detail={"username": username, "sourceIp": ip_address or ""},
        actor=audit.Actor(f"staff:{username}", "Staff", ip_address or ""),
    )


def connect() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_locked_out.connect(_staff_locked_out, dispatch_uid="iam.audit.staff_locked_out")

    user_logged_in.connect(_staff_signed_in, dispatch_uid="iam.audit.staff_signed_in")
    user_login_failed.connect(_staff_sign_in_failed, dispatch_uid="iam.audit.staff_sign_in_failed")
    post_save.connect(_policy_changed, sender=Policy, dispatch_uid="iam.gateway.authz.policy_saved")
    post_delete.connect(_policy_changed, sender=Policy, dispatch_uid="iam.gateway.authz.policy_deleted")
    for signal in (post_save, post_delete):
        signal.connect(
            _attachment_changed, sender=PolicyAttachment, dispatch_uid=f"iam.gateway.authz.attachment.{id(signal)}"
        )
        signal.connect(
            _membership_changed, sender=GroupMembership, dispatch_uid=f"iam.gateway.authz.membership.{id(signal)}"
        )
        signal.connect(_account_scoped_changed, sender=Role, dispatch_uid=f"iam.gateway.authz.role.{id(signal)}")
    post_delete.connect(
        _account_scoped_changed, sender=SubAccount, dispatch_uid="iam.gateway.authz.sub_account_deleted"
    )
