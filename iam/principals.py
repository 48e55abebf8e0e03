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
    extra: dict = field(default_factory=dict, compare=False)

    is_authenticated = True
    is_anonymous = False

    @property
    def is_root(self) -> bool:
        return self.principal_type == MAIN_ACCOUNT

    @property
    def pk(self) -> str:  # used by DRF throttles / logging
        return self.principal_id
