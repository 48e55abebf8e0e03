"""Sub Account data: main accounts, sub accounts, groups, policies, roles, attachments and access keys."""

import re
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from iam.policy import nrn
from iam.querysets import AccessKeyQuerySet, AccountScopedQuerySet, AuditEventQuerySet, PolicyQuerySet

LOGIN_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.@_-]{2,59}$")
POLICY_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{2,29}$")
LOGIN_PAGE_ALIAS_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
SERVER_INSTANCE_NO_RE = re.compile(r"^[1-9][0-9]{0,19}$")
SERVER_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")


class Account(models.Model):
    """A main account (tenant): owns everything else; its root access keys may do everything in it."""

    member_no = models.PositiveBigIntegerField(unique=True, db_index=True)
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)
    # Per-account counter behind the 500-policy limit; a conditional UPDATE keeps it exact under
    # concurrency and the reconcile task repairs drift against the rows.
    policy_count = models.PositiveIntegerField(default=0)
    # Bumped in the same transaction as any change to who may do what in this account (a policy's statements, an
    # attachment, a group membership, a role): compiled authorization caches are keyed by it, so a change takes
    # effect on the very next request in every process.
    authz_version = models.PositiveBigIntegerField(default=0)
    # Dashboard settings.
    password_expiration_days = models.PositiveIntegerField(default=0, help_text="0 = passwords never expire")
    password_min_length = models.PositiveSmallIntegerField(default=8)
    password_reuse_prevention = models.PositiveSmallIntegerField(default=0)
    login_page_alias = models.CharField(max_length=63, null=True, blank=True, unique=True)
    session_expiration_minutes = models.PositiveIntegerField(default=60)
    use_long_term_unused_deactivation = models.BooleanField(default=False)
    long_term_unused_days = models.PositiveIntegerField(default=90)
    create_time = models.DateTimeField(auto_now_add=True)
    modified_time = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["member_no"]

    def __str__(self) -> str:
        return f"{self.name} ({self.member_no})"

    @property
    def sign_in_alias(self) -> str:
        """The alias of the account's sub account sign-in page: the chosen one, else the member number."""
        return self.login_page_alias or str(self.member_no)

    def clean(self) -> None:
        errors = {}
        if self.login_page_alias and not LOGIN_PAGE_ALIAS_RE.match(self.login_page_alias):
            errors["login_page_alias"] = (
                "3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen"
            )
        elif self.login_page_alias and self.login_page_alias.isdigit():
            # All digits is how default aliases (member numbers) are spelled: a chosen one could take another's.
            errors["login_page_alias"] = "must contain a letter (an alias of digits only is another account's default)"
        if not 8 <= self.password_min_length <= 16:
            errors["password_min_length"] = "must be between 8 and 16"
        if self.password_expiration_days > 365:
            errors["password_expiration_days"] = "must be between 0 and 365"
        if self.password_reuse_prevention > 24:
            errors["password_reuse_prevention"] = "must be between 0 and 24"
        if not 10 <= self.session_expiration_minutes <= 1440:
            errors["session_expiration_minutes"] = "must be between 10 and 1440"
        if not 30 <= self.long_term_unused_days <= 365:
            errors["long_term_unused_days"] = "must be between 30 and 365"
        if errors:
            raise ValidationError(errors)


class SubAccount(models.Model):
    """A user of a main account, with its own login, keys, groups and policies."""

    sub_account_no = models.BigAutoField(primary_key=True)
    sub_account_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sub_accounts")
    login_id = models.CharField(max_length=60)
    name = models.CharField(max_length=30)
    email = models.CharField(max_length=100)
    memo = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)
    can_api_gateway_access = models.BooleanField(default=False)
    can_console_access = models.BooleanField(default=True)
    use_console_permit_ip = models.BooleanField(default=False)
    console_permit_ips = models.JSONField(default=list, blank=True)
    use_api_allow_source = models.BooleanField(default=False)
    api_allow_sources = models.JSONField(default=list, blank=True)
    need_password_reset = models.BooleanField(default=False)
    is_mfa_mandatory = models.BooleanField(default=False)
    password = models.CharField(max_length=256, blank=True, default="")
    mfa_secret_encrypted = models.TextField(blank=True, default="")
    # One-time use and lockout of MFA codes (STS): the last TOTP time step accepted, wrong codes in a row.
    mfa_last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    mfa_failed_attempts = models.PositiveIntegerField(default=0, editable=False)
    mfa_locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    tags = models.JSONField(default=dict, blank=True)
    create_time = models.DateTimeField(auto_now_add=True)
    modified_time = models.DateTimeField(auto_now=True)
    last_login_time = models.DateTimeField(null=True, blank=True)
    # When the password was last set (None: at creation); the account's password expiry counts from it.
    password_changed_time = models.DateTimeField(null=True, blank=True, editable=False)
    # Console sign-in: wrong passwords in a row, and when too many of them locked the sub account (None: not locked).
    login_failed_attempts = models.PositiveIntegerField(default=0, editable=False)
    login_locked_time = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["sub_account_no"]
        constraints = [
            models.UniqueConstraint(Lower("login_id"), "account", name="uniq_sub_account_login_id_per_account"),
        ]

    def __str__(self) -> str:
        return self.login_id

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.IAM, self.account.member_no, "SubAccount", self.sub_account_id)

    @property
    def has_mfa(self) -> bool:
        return bool(self.mfa_secret_encrypted)

    def clean(self) -> None:
        errors = {}
        if not LOGIN_ID_RE.match(self.login_id or ""):
            errors["login_id"] = "3-60 characters of letters, digits, '.', '@', '_' and '-', starting with a letter"
        if not 2 <= len(self.name or "") <= 30:
            errors["name"] = "must be 2-30 characters"
        if not 6 <= len(self.email or "") <= 100:
            errors["email"] = "must be 6-100 characters"
        if len((self.memo or "").encode("utf-8")) > 300:
            errors["memo"] = "must be at most 300 bytes"
        if errors:
            raise ValidationError(errors)


class Group(models.Model):
    """A named set of sub accounts that share the group's policies."""

    group_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=30)
    description = models.CharField(max_length=300, blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(SubAccount, through="GroupMembership", related_name="groups", blank=True)
    create_time = models.DateTimeField(auto_now_add=True)
    modified_time = models.DateTimeField(auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint("account", "name", name="uniq_group_name_per_account")]

    def __str__(self) -> str:
        return self.name

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.IAM, self.account.member_no, "Group", self.group_id)

    def clean(self) -> None:
        if not 3 <= len(self.name or "") <= 30:
            raise ValidationError({"name": "must be 3-30 characters"})


class GroupMembership(models.Model):
    """A sub account's membership of a group."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    sub_account = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="memberships")
    create_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint("group", "sub_account", name="uniq_group_membership")]

    def __str__(self) -> str:
        return f"{self.sub_account} in {self.group}"


class Policy(models.Model):
    """A set of permission statements; system-managed (shared, read-only) or user-created (per account)."""

    SYSTEM_MANAGED = "SYSTEM_MANAGED"
    USER_CREATED = "USER_CREATED"
    TYPE_CHOICES = [(SYSTEM_MANAGED, "System managed"), (USER_CREATED, "User created")]

    policy_id = models.CharField(max_length=40, unique=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="policies", null=True, blank=True)
    name = models.CharField(max_length=30)
    policy_type = models.CharField(max_length=20, choices=TYPE_CHOICES, default=USER_CREATED)
    description = models.CharField(max_length=300, blank=True, default="")
    permissions = models.JSONField(default=list)
    tags = models.JSONField(default=dict, blank=True)
    create_time = models.DateTimeField(auto_now_add=True)
    modified_time = models.DateTimeField(auto_now=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint("account", "name", name="uniq_policy_name_per_account"),
            models.CheckConstraint(
                condition=(Q(policy_type="SYSTEM_MANAGED", account__isnull=True))
                | Q(policy_type="USER_CREATED", account__isnull=False),
                name="policy_type_matches_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_system(self) -> bool:
        return self.policy_type == self.SYSTEM_MANAGED

    def nrn_for(self, member_no: int) -> str:
        return nrn.build(nrn.IAM, member_no, "Policy", self.policy_id)

    def clean(self) -> None:
        if not self.is_system and not POLICY_NAME_RE.match(self.name or ""):
            raise ValidationError({"name": "3-30 letters, digits, '.', '-' and '_', starting with a letter"})


class Role(models.Model):
    """A set of policies that a server, account, SSO user or service can take on temporarily."""

    SERVER = "Server"
    ACCOUNT = "Account"
    SERVICE = "Service"
    SINGLE_SIGN_ON = "SingleSignOn"
    TYPE_CHOICES = [(SERVER, SERVER), (ACCOUNT, ACCOUNT), (SERVICE, SERVICE), (SINGLE_SIGN_ON, SINGLE_SIGN_ON)]
    SESSION_EXPIRATION_CHOICES = (600, 1800, 3600, 10800)

    role_no = models.CharField(max_length=40, unique=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=100)
    role_type = models.CharField(max_length=20, choices=TYPE_CHOICES)
    session_expiration_sec = models.PositiveIntegerField(null=True, blank=True)
    description = models.CharField(max_length=1000, blank=True, default="")
    active = models.BooleanField(default=True)
    tags = models.JSONField(default=dict, blank=True)
    create_time = models.DateTimeField(auto_now_add=True)
    modified_time = models.DateTimeField(auto_now=True)
    last_use_time = models.DateTimeField(null=True, blank=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint("account", "name", name="uniq_role_name_per_account")]

    def __str__(self) -> str:
        return self.name

    @property
    def nrn(self) -> str:
        return nrn.build(nrn.IAM, self.account.member_no, "Role", self.role_no)

    def clean(self) -> None:
        errors = {}
        if not 3 <= len(self.name or "") <= 100:
            errors["name"] = "must be 3-100 characters"
        if self.role_type == self.ACCOUNT:
            if self.session_expiration_sec not in self.SESSION_EXPIRATION_CHOICES:
                errors["session_expiration_sec"] = "must be one of 600, 1800, 3600, 10800 for Account roles"
        elif self.session_expiration_sec is not None:
            errors["session_expiration_sec"] = "only Account roles have a session expiration"
        if errors:
            raise ValidationError(errors)


class Server(models.Model):
    """A server registered in an account's inventory: what a Server role is attached to (one role at most), and who
    may read that role's keys from the metadata endpoint (by its registered address or its metadata token)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="servers")
    server_instance_no = models.CharField(max_length=20)
    name = models.CharField(max_length=30)
    private_ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=True)
    public_ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=True)
    # A server has at most one role: a single foreign key, so the database itself holds the rule.
    role = models.ForeignKey(Role, on_delete=models.SET_NULL, null=True, blank=True, related_name="servers")
    # SHA-256 of the per-server metadata token (the token is shown once, when set); "" when none.
    metadata_token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    tags = models.JSONField(default=dict, blank=True)
    create_time = models.DateTimeField(auto_now_add=True)
    modified_time = models.DateTimeField(auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("account", "server_instance_no", name="uniq_server_instance_no_per_account"),
            models.UniqueConstraint("account", "name", name="uniq_server_name_per_account"),
            models.UniqueConstraint(
                "account",
                "private_ip",
                condition=Q(private_ip__isnull=False),
                name="uniq_server_private_ip_per_account",
            ),
            # A public address is the caller's own on the internet: one server anywhere.
            models.UniqueConstraint("public_ip", condition=Q(public_ip__isnull=False), name="uniq_server_public_ip"),
            models.UniqueConstraint(
                "metadata_token_hash", condition=~Q(metadata_token_hash=""), name="uniq_server_metadata_token"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.server_instance_no})"

    @property
    def nrn(self) -> str:
        return nrn.server_nrn(self.account.member_no, self.server_instance_no)

    def clean(self) -> None:
        errors = {}
        if not SERVER_INSTANCE_NO_RE.match(self.server_instance_no or ""):
            errors["server_instance_no"] = "must be 1-20 digits, not starting with 0"
        if not SERVER_NAME_RE.match(self.name or ""):
            errors["name"] = (
                "3-30 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen"
            )
        if self.role_id is not None and self.role.role_type != Role.SERVER:
            errors["role"] = "only a Server role can be attached to a server"
        if errors:
            raise ValidationError(errors)


class RoleAccountTarget(models.Model):
    """A main account named as a target of an Account role: its sub accounts may switch to the role once that
    account's own policies allow Change/switchRole on it (naming the account grants nothing by itself)."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="account_targets")
    target_account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="role_grants")
    create_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint("role", "target_account", name="uniq_role_account_target")]

    def __str__(self) -> str:
        return f"{self.role} -> {self.target_account}"


class RoleServiceTarget(models.Model):
    """A service that may assume a Service role (External Access sessions, for one)."""

    EXTERNAL_ACCESS = "ExternalAccess"
    SERVICE_CHOICES = [
        (EXTERNAL_ACCESS, "External Access"),
        ("CloudFunctions", "Cloud Functions"),
        ("SourceDeploy", "SourceDeploy"),
        ("DataFlow", "Data Flow"),
        ("CloudLogAnalytics", "Cloud Log Analytics"),
    ]

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="service_targets")
    service = models.CharField(max_length=40, choices=SERVICE_CHOICES)
    create_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint("role", "service", name="uniq_role_service_target")]

    def __str__(self) -> str:
        return f"{self.role} -> {self.service}"


class RoleSsoAssignment(models.Model):
    """A user or group of Ncloud Single Sign-On assigned a Single Sign-On role: Single Sign-On owns it (staff stand
    in for it in the admin); the API only shows it as the role's targets."""

    USER = "User"
    GROUP = "Group"
    PRINCIPAL_TYPE_CHOICES = [(USER, USER), (GROUP, GROUP)]

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="sso_assignments")
    principal_type = models.CharField(max_length=10, choices=PRINCIPAL_TYPE_CHOICES)
    principal_name = models.CharField(max_length=200)
    create_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("role", "principal_type", "principal_name", name="uniq_role_sso_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.principal_type} {self.principal_name} -> {self.role}"

    def clean(self) -> None:
        if self.role_id is not None and self.role.role_type != Role.SINGLE_SIGN_ON:
            raise ValidationError({"role": "only Single Sign-On roles have Single Sign-On assignments"})


class PolicyAttachment(models.Model):
    """A policy attached to exactly one sub account, group or role of the policy's account."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="attachments")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="policy_attachments")
    sub_account = models.ForeignKey(
        SubAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="policy_attachments"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="policy_attachments")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, null=True, blank=True, related_name="policy_attachments")
    create_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(sub_account__isnull=False, group__isnull=True, role__isnull=True)
                    | Q(sub_account__isnull=True, group__isnull=False, role__isnull=True)
                    | Q(sub_account__isnull=True, group__isnull=True, role__isnull=False)
                ),
                name="attachment_has_exactly_one_target",
            ),
            models.UniqueConstraint("policy", "sub_account", name="uniq_policy_sub_account"),
            models.UniqueConstraint("policy", "group", name="uniq_policy_group"),
            models.UniqueConstraint("policy", "role", name="uniq_policy_role"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} -> {self.target}"

    @property
    def target(self):
        return self.sub_account or self.group or self.role


class AccessKey(models.Model):
    """An API access key: a main account's root key, a sub account's key, or a temporary STS key.

    A TEMPORARY key always expires. Without a role it is the sub account's own short-lived key; with a role it is a
    role session: calls are decided by the role's policies, and ``source_identity_*`` say who took the role on (a
    sub account that switched to it, later an External Access certificate subject). ``sub_account`` is then the
    sub account behind the session, if any, so suspending it ends the session at once.
    """

    ROOT = "ROOT"
    SUB_ACCOUNT = "SUB_ACCOUNT"
    TEMPORARY = "TEMPORARY"
    KIND_CHOICES = [(ROOT, "Root"), (SUB_ACCOUNT, "Sub account"), (TEMPORARY, "Temporary")]

    access_key = models.CharField(max_length=64, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="access_keys")
    sub_account = models.ForeignKey(
        SubAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="access_keys"
    )
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    secret_encrypted = models.TextField(editable=False)
    active = models.BooleanField(default=True)
    create_time = models.DateTimeField(auto_now_add=True)
    last_used_time = models.DateTimeField(null=True, blank=True)
    expire_time = models.DateTimeField(null=True, blank=True)
    role = models.ForeignKey(
        "Role", on_delete=models.CASCADE, null=True, blank=True, related_name="session_keys", help_text="role sessions"
    )
    server = models.ForeignKey(
        Server,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="session_keys",
        help_text="a Server role session read from the metadata endpoint: the server it was issued to",
    )
    source_identity_type = models.CharField(max_length=40, blank=True, default="")
    source_identity_id = models.CharField(max_length=200, blank=True, default="")
    mfa_present = models.BooleanField(default=False, help_text="issued after a valid MFA token code")
    issued_by = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="issued_keys",
        help_text="the key that obtained this temporary key: disabling or deleting it ends this one too",
    )

    objects = AccessKeyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="ROOT", sub_account__isnull=True) | ~Q(kind="ROOT"),
                name="root_key_has_no_sub_account",
            ),
            models.CheckConstraint(
                condition=Q(kind="TEMPORARY", expire_time__isnull=False) | ~Q(kind="TEMPORARY"),
                name="temporary_key_expires",
            ),
            models.CheckConstraint(
                condition=Q(role__isnull=True) | Q(kind="TEMPORARY"),
                name="only_temporary_keys_have_a_role",
            ),
            models.CheckConstraint(
                condition=Q(server__isnull=True) | Q(role__isnull=False), name="server_keys_are_role_sessions"
            ),
        ]
        indexes = [models.Index(fields=["kind", "expire_time"], name="accesskey_kind_expire")]

    def __str__(self) -> str:
        return self.access_key

    @property
    def is_role_session(self) -> bool:
        return self.role_id is not None


class AuditEvent(models.Model):
    """One recorded change, secret issue, sign-in or denied request: who did what to which resource, and how it went."""

    SUCCESS = "Success"
    FAILED = "Failed"
    DENIED = "Denied"
    RESULT_CHOICES = [(SUCCESS, SUCCESS), (FAILED, FAILED), (DENIED, DENIED)]

    time = models.DateTimeField(db_index=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events")
    actor = models.CharField(max_length=300, help_text="principal NRN, staff:<username> or system:<job>")
    actor_type = models.CharField(max_length=30)
    action = models.CharField(max_length=120, help_text="Product:catalog action, or System:<job>")
    resource = models.CharField(max_length=400, blank=True, default="")
    result = models.CharField(max_length=10, choices=RESULT_CHOICES)
    source_ip = models.CharField(max_length=64, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["account", "-time"], name="audit_account_time"),
            models.Index(fields=["account", "action", "-time"], name="audit_account_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.result}"


class OutboxMessage(models.Model):
    """Follow-up work written in the same transaction as the change that needs it, relayed to the broker after commit
    (and again by the relay until the broker takes it), so a broker outage loses nothing."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    create_time = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatch_time = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["dispatch_time", "id"], name="outbox_pending")]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} {'sent' if self.dispatch_time else 'pending'}"


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the heartbeat task (readiness needs a recent one)."""

    name = models.CharField(max_length=200, unique=True)
    beat_time = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_time:%Y-%m-%d %H:%M:%S}"


class PasswordHistory(models.Model):
    """A sub account's earlier password (its hash), kept for the account's reuse prevention setting: a new password
    may not be any of the last ``password_reuse_prevention`` ones (the current one included)."""

    KEPT = 24  # the setting's maximum

    sub_account = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=256, editable=False)
    replaced_time = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "password history"

    def __str__(self) -> str:
        return f"replaced {self.replaced_time:%Y-%m-%d %H:%M}"


class UsedSignature(models.Model):
    """A signature of a non-GET request already accepted once (the replay cache's database store, used when no
    shared cache is configured or it is down); kept until its timestamp leaves the accepted window."""

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the access key and the signature")
    expire_time = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.digest[:12]}… until {self.expire_time:%Y-%m-%d %H:%M:%S}"


class ConsoleSession(models.Model):
    """A sub account's sign-in to the console: the cookie holds a random token, the row only its hash. A session
    passes through the sign-in stages (MFA code, MFA enrolment, forced password change) before it is ACTIVE; an
    active one may be switched into an Account role of the account."""

    MFA = "mfa"
    MFA_ENROL = "mfa_enrol"
    PASSWORD_CHANGE = "password_change"
    ACTIVE = "active"
    STAGE_CHOICES = [
        (MFA, "MFA code"),
        (MFA_ENROL, "MFA enrolment"),
        (PASSWORD_CHANGE, "Password change"),
        (ACTIVE, "Active"),
    ]

    token_hash = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the cookie token")
    sub_account = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="console_sessions")
    stage = models.CharField(max_length=20, choices=STAGE_CHOICES)
    mfa_present = models.BooleanField(default=False)
    # An MFA secret shown for enrolment and not yet confirmed with a code (encrypted like every stored secret).
    pending_mfa_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    # Deleting the role returns its console sessions to their sub accounts' own permissions.
    role = models.ForeignKey(Role, on_delete=models.SET_NULL, null=True, blank=True, related_name="console_sessions")
    role_switch_time = models.DateTimeField(null=True, blank=True)
    source_ip = models.CharField(max_length=64, blank=True, default="")
    create_time = models.DateTimeField(auto_now_add=True)
    last_seen_time = models.DateTimeField()
    expire_time = models.DateTimeField(db_index=True, help_text="idle expiry: pushed back by every request")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.sub_account} ({self.stage})"
