"""Who is calling: the one shape every kind of caller (root key, sub account, role session, External Access
session) takes after authentication, so that the authorization component sees them all alike. No ORM."""

from dataclasses import dataclass, field

MAIN_ACCOUNT = "MainAccount"
SUB_ACCOUNT = "SubAccount"
ROLE = "Role"  # a role session, however it was obtained (role switching, an External Access certificate)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller within one main account."""

    account_id: int
    member_no: int
    principal_type: str  # MAIN_ACCOUNT, SUB_ACCOUNT or ROLE
    principal_id: str  # memberNo for the main account, subAccountId for a sub account, roleNo for a role session
    name: str
    nrn: str
    access_key: str = ""
    sub_account_no: int | None = None  # a sub account, or the sub account behind a role session
    role_id: int | None = None  # a role session's role (database id)
    mfa_present: bool = False
    source_ip: str = ""
    policy_version: int = 0  # the account's authz_version when the principal was authenticated
    extra: dict = field(default_factory=dict, compare=False)

    is_authenticated = True
    is_anonymous = False

    @property
    def is_root(self) -> bool:
        return self.principal_type == MAIN_ACCOUNT

    @property
    def is_role_session(self) -> bool:
        return self.principal_type == ROLE

    @property
    def policy_owner(self) -> str:
        """What the effective policies hang off (cache key part): the sub account, or a role session's role (every
        session of one role shares the role's compiled policies)."""
        # Ids that are never reused (UUIDs), so a key can never name another principal's policies.
        return f"{self.principal_type}:{self.principal_id}"

    @property
    def pk(self) -> str:  # used by DRF throttles / logging
        return self.principal_id


def main_account_principal(account, **request_facts) -> Principal:
    """The principal of a main account's root key (``account`` is an iam.models.Account)."""
    return Principal(
        account_id=account.pk,
        member_no=account.member_no,
        principal_type=MAIN_ACCOUNT,
        principal_id=str(account.member_no),
        name=account.name,
        nrn=f"nrn:PUB:IAM::{account.member_no}:MainAccount/{account.member_no}",
        policy_version=account.authz_version,
        **request_facts,
    )


def sub_account_principal(sub_account, account, **request_facts) -> Principal:
    """The principal of a sub account of ``account`` (iam.models objects); ``request_facts`` are access_key,
    source_ip, mfa_present and the like."""
    return Principal(
        account_id=account.pk,
        member_no=account.member_no,
        principal_type=SUB_ACCOUNT,
        principal_id=str(sub_account.sub_account_id),
        name=sub_account.login_id,
        nrn=f"nrn:PUB:IAM::{account.member_no}:SubAccount/{sub_account.sub_account_id}",
        sub_account_no=sub_account.sub_account_no,
        policy_version=account.authz_version,
        **request_facts,
    )


def role_session_principal(role, account, *, source_identity_type: str, source_identity_id: str, **request_facts):
    """The principal of a session of ``role`` (iam.models objects). The role's policies decide its calls;
    ``ncp:sourceIdentityType`` / ``ncp:sourceIdentityId`` say who took the role on (``SubAccount`` and a
    subAccountId for role switching; External Access sessions name their certificate subject)."""
    role_nrn = f"nrn:PUB:IAM::{account.member_no}:Role/{role.role_no}"
    extra = dict(request_facts.pop("extra", None) or {})
    extra.update(sourceIdentityType=source_identity_type, sourceIdentityId=source_identity_id)
    return Principal(
        account_id=account.pk,
        member_no=account.member_no,
        principal_type=ROLE,
        principal_id=str(role.role_no),
        name=role.name,
        nrn=role_nrn,
        role_id=role.pk,
        policy_version=account.authz_version,
        extra=extra,
        **request_facts,
    )
