"""Who is calling: the one shape every kind of caller (root key, sub account, later role and External Access
sessions) takes after authentication, so that the authorization component sees them all alike. No ORM."""

from dataclasses import dataclass, field

MAIN_ACCOUNT = "MainAccount"
SUB_ACCOUNT = "SubAccount"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller within one main account."""

    account_id: int
    member_no: int
    principal_type: str  # MAIN_ACCOUNT or SUB_ACCOUNT (role and certificate sessions come later)
    principal_id: str  # memberNo for the main account, subAccountId for a sub account
    name: str
    nrn: str
    access_key: str = ""
    sub_account_no: int | None = None
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
    def policy_owner(self) -> str:
        """What the effective policies hang off (cache key part): the sub account, later a role session's role."""
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
