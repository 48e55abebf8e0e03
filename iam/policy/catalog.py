"""Permission catalog: the actions and system-managed policies of Sub Account and External Access.

This module is pure data (no Django imports). It is transcribed by hand from the service documentation
("Sub Account" / "External Access" user-defined policy action tables and the system-managed policy table)
and is the single place where the product's action catalog lives.

Transcription notes (seed ambiguities and how they are resolved):

* Related actions written without a ``View/`` / ``Change/`` prefix (e.g. ``getSubAccountList``) are normalized
  at import time to the full name of the action in the same product with that bare name. Unknown or ambiguous
  bare names raise at import time, so a transcription mistake cannot go unnoticed.
* A resource type or related action of ``-`` (also written ``\\-``) means "none" and becomes ``()``.
* ``Change/addSubAccountToGroup`` / ``Change/removeSubAccountFromGroup`` list two resource types
  ("Group SubAccount") in both the "Resource type" and the "Group by resource type" columns. Resource types
  become ``("Group", "SubAccount")``; since ``group`` is a single value, they are filed under ``"Group"`` (the
  first one listed, and the resource the action changes).
* "All principal properties condition keys" (lower-case p on the last Sub Account row) is treated the same as
  "All Principal properties condition keys".
* External Access rows list only the principal condition keys (no resource/request tags).

Extensions: actions this service offers beyond NCP (which has no such API) are kept apart in ``_EXTENSION_ROWS``,
marked ``extension=True`` and listed after every documented action, so the transcription above stays exactly the
documentation's. They are real catalog actions (policies may name them, ``View*``/``Change*`` cover them).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

SUB_ACCOUNT = "SubAccount"
EXTERNAL_ACCESS = "ExternalAccess"
PRODUCTS = (SUB_ACCOUNT, EXTERNAL_ACCESS)

# Products that exist on the platform but are not implemented by this service; only referenced by system policies.
BILLING = "Billing"  # console: My Account > Billing and Cost Management > Billing and Payments
COST_EXPLORER = "CostExplorer"

VIEW = "View"
CHANGE = "Change"
ACTION_TYPES = (VIEW, CHANGE)

PRINCIPAL_CONDITION_KEYS = (
    "ncp:principalName",
    "ncp:principalId",
    "ncp:principaluuid",
    "ncp:principalType",
    "ncp:sourceIdentityId",
    "ncp:sourceIdentityType",
)
# Request-context keys applicable to every action.
GLOBAL_CONDITION_KEYS = (
    "ncp:SourceIp",
    "ncp:CurrentTime",
    "ncp:MultiFactorAuthPresent",
)

RESOURCE_TAG_KEYS = ("ncp:resourceTag/*",)
REQUEST_TAG_KEYS = ("ncp:requestTag/*", "ncp:TagKeys")


@dataclass(frozen=True)
class CatalogAction:
    product: str  # SUB_ACCOUNT or EXTERNAL_ACCESS
    name: str  # full name with View/ or Change/ prefix, e.g. "View/getSubAccountDetail"
    type: str  # "View" or "Change"
    related: tuple[str, ...]  # full names of related actions of the same product, in document order
    resource_types: tuple[str, ...]  # () when the table says "-"; foreign ones as written, e.g. "VPCServer:Server"
    group: str  # "Group by resource type" column
    description: str
    condition_keys: tuple[str, ...]  # applicable (non-global) condition keys
    extension: bool = False  # True for an action of this service that the NCP documentation does not have

    @property
    def key(self) -> tuple[str, str]:
        return (self.product, self.name)


# --------------------------------------------------------------------------------------------------------------
# Raw transcription of the action tables, in document order.
# (type, action, related actions as written, resource types, group, description, condition-key flags)
# Condition-key flags: "P" = all principal properties keys, "R" = ncp:resourceTag, "Q" = ncp:requestTag.
# --------------------------------------------------------------------------------------------------------------
_RawRow = tuple[str, str, tuple[str, ...], tuple[str, ...], str, str, str]

_SUB_ACCOUNT_ROWS: tuple[_RawRow, ...] = (
    (
        VIEW,
        "View/getResourceCount",
        (),
        (),
        "Dashboard",
        "Check Sub Account resource information",
        "P",
    ),
    (
        VIEW,
        "View/getSubAccountList",
        (),
        (),
        "SubAccount",
        "Check sub account list.",
        "P",
    ),
    (
        VIEW,
        "View/getSubAccountDetail",
        ("View/getSubAccountList",),
        ("SubAccount",),
        "SubAccount",
        "Check sub account details",
        "PR",
    ),
    (
        VIEW,
        "View/getSubAccountAccessKey",
        ("View/getSubAccountDetail", "View/getSubAccountList"),
        ("SubAccount",),
        "SubAccount",
        "View sub account's Access Key",
        "PR",
    ),
    (VIEW, "View/getGroupList", (), (), "Group", "View group list", "P"),
    (
        VIEW,
        "View/getGroupDetail",
        ("View/getGroupList",),
        ("Group",),
        "Group",
        "Viewing Group Details",
        "PR",
    ),
    (
        VIEW,
        "View/getPolicyList",
        (),
        (),
        "Policy",
        "View policy list created by user",
        "P",
    ),
    (
        VIEW,
        "View/getPolicyDetail",
        ("View/getPolicyList",),
        ("Policy",),
        "Policy",
        "View details of policy created by user",
        "PR",
    ),
    (VIEW, "View/validatePolicy", (), (), "Policy", "View policy validity", "P"),
    (VIEW, "View/getRoleList", (), (), "Role", "View role list", "P"),
    (
        VIEW,
        "View/getRoleDetail",
        ("View/getRoleList",),
        ("Role",),
        "Role",
        "View role details",
        "PR",
    ),
    (
        VIEW,
        "View/getServerInstanceList",
        (),
        (),
        "Role",
        "View server resource list to be granted a role",
        "P",
    ),
    (
        VIEW,
        "View/getServerInstanceDetail",
        ("View/getServerInstanceList",),
        ("VPCServer:Server",),
        "Role",
        "View Server resource details to assign roles",
        "PR",
    ),
    (
        VIEW,
        "View/getStsSessionToken",
        (),
        (),
        "STS",
        "Create STS token and view created STS token information",
        "P",
    ),
    (
        CHANGE,
        "Change/manageLoginPageSetting",
        (),
        (),
        "Dashboard",
        "Manage access page settings",
        "P",
    ),
    (
        CHANGE,
        "Change/managePasswordSetting",
        (),
        (),
        "Dashboard",
        "Manage password settings",
        "P",
    ),
    (
        CHANGE,
        "Change/manageSessionSetting",
        (),
        (),
        "Dashboard",
        "Manage session expiration settings",
        "P",
    ),
    (
        CHANGE,
        "Change/createSubAccount",
        ("View/getSubAccountList",),
        (),
        "SubAccount",
        "Create sub account",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/updateSubAccount",
        ("View/getSubAccountDetail", "View/getSubAccountList"),
        ("SubAccount",),
        "SubAccount",
        "Edit sub account",
        "PR",
    ),
    (
        CHANGE,
        "Change/deleteSubAccount",
        ("View/getSubAccountDetail", "View/getSubAccountList"),
        ("SubAccount",),
        "SubAccount",
        "Delete sub account",
        "PR",
    ),
    (
        CHANGE,
        "Change/suspendSubAccount",
        ("View/getSubAccountDetail", "View/getSubAccountList"),
        ("SubAccount",),
        "SubAccount",
        "Temporarily suspend and disconnect sub account",
        "PR",
    ),
    (
        CHANGE,
        "Change/resetSubAccountPassword",
        ("View/getSubAccountDetail", "View/getSubAccountList"),
        ("SubAccount",),
        "SubAccount",
        "Initialize sub account password",
        "PR",
    ),
    (
        CHANGE,
        "Change/addPolicyToSubAccount",
        (
            "View/getSubAccountDetail",
            "View/getSubAccountList",
            "View/getPolicyList",
            "View/getPolicyDetail",
        ),
        ("SubAccount",),
        "SubAccount",
        "Assign policy to sub account",
        "PR",
    ),
    (
        CHANGE,
        "Change/removePolicyFromSubAccount",
        ("View/getSubAccountDetail", "View/getSubAccountList"),
        ("SubAccount",),
        "SubAccount",
        "Delete policy from sub account",
        "PR",
    ),
    (
        CHANGE,
        "Change/createSubAccountAccessKey",
        (
            "View/getSubAccountDetail",
            "View/getSubAccountList",
            "View/getSubAccountAccessKey",
        ),
        ("SubAccount",),
        "SubAccount",
        "Create sub account's Access Key",
        "P",  # the seed lists no ncp:resourceTag for this one
    ),
    (
        CHANGE,
        "Change/deleteSubAccountAccessKey",
        (
            "View/getSubAccountDetail",
            "View/getSubAccountList",
            "View/getSubAccountAccessKey",
        ),
        ("SubAccount",),
        "SubAccount",
        "Delete sub account's Access Key",
        "PR",
    ),
    (
        CHANGE,
        "Change/manageSubAccountAccessKeyState",
        (
            "View/getSubAccountDetail",
            "View/getSubAccountList",
            "View/getSubAccountAccessKey",
        ),
        ("SubAccount",),
        "SubAccount",
        "Manage sub account access key status",
        "PR",
    ),
    (
        CHANGE,
        "Change/manageSubAccountAllowSourceSetting",
        ("View/getSubAccountDetail", "View/getSubAccountList"),
        ("SubAccount",),
        "SubAccount",
        "View and edit the source IP or VPC Server that can access the console or API",
        "PR",
    ),
    (
        CHANGE,
        "Change/resetSubAccountMFA",
        (
            "getSubAccountList",
            "getSubAccountDetail",
        ),  # written without prefix in the seed
        ("SubAccount",),
        "SubAccount",
        "Initialize sub account's two-factor authentication settings",
        "PR",
    ),
    (
        CHANGE,
        "Change/addSubAccountToGroup",
        (
            "View/getGroupList",
            "View/getSubAccountDetail",
            "View/getSubAccountList",
            "View/getGroupDetail",
        ),
        ("Group", "SubAccount"),
        "Group",  # seed: "Group SubAccount"
        "Add sub accounts to group",
        "PR",
    ),
    (
        CHANGE,
        "Change/removeSubAccountFromGroup",
        (
            "View/getGroupList",
            "View/getSubAccountDetail",
            "View/getSubAccountList",
            "View/getGroupDetail",
        ),
        ("Group", "SubAccount"),
        "Group",  # seed: "Group SubAccount"
        "Delete sub account from group",
        "PR",
    ),
    (
        CHANGE,
        "Change/addPolicyToGroup",
        (
            "View/getGroupList",
            "View/getPolicyList",
            "View/getPolicyDetail",
            "View/getGroupDetail",
        ),
        ("Group",),
        "Group",
        "Assign policy to group",
        "PR",
    ),
    (
        CHANGE,
        "Change/removePolicyFromGroup",
        ("View/getGroupList", "View/getGroupDetail"),
        ("Group",),
        "Group",
        "Delete policy from group",
        "PR",
    ),
    (
        CHANGE,
        "Change/createGroup",
        ("View/getGroupList",),
        (),
        "Group",
        "Creating Groups",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/updateGroup",
        ("View/getGroupList", "View/getGroupDetail"),
        ("Group",),
        "Group",
        "Edit group information",
        "PR",
    ),
    (
        CHANGE,
        "Change/deleteGroup",
        ("View/getGroupList", "View/getGroupDetail"),
        ("Group",),
        "Group",
        "Deleting Groups",
        "PR",
    ),
    (
        CHANGE,
        "Change/createPolicy",
        ("View/getPolicyList",),
        (),
        "Policy",
        "Create new policy",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/updatePolicy",
        ("View/getPolicyList", "View/getPolicyDetail"),
        ("Policy",),
        "Policy",
        "Change policy created by user",
        "PR",
    ),
    (
        CHANGE,
        "Change/deletePolicy",
        ("View/getPolicyList", "View/getPolicyDetail"),
        ("Policy",),
        "Policy",
        "Delete policy created by user",
        "PR",
    ),
    (
        CHANGE,
        "Change/createRole",
        ("View/getRoleList",),
        (),
        "Role",
        "Creating Roles",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/updateRole",
        ("View/getRoleDetail", "View/getRoleList"),
        ("Role",),
        "Role",
        "Edit role",
        "PR",
    ),
    (
        CHANGE,
        "Change/deleteRole",
        ("View/getRoleDetail", "View/getRoleList"),
        ("Role",),
        "Role",
        "Deleting Roles",
        "PR",
    ),
    (
        CHANGE,
        "Change/addPolicyToRole",
        (
            "View/getPolicyList",
            "View/getRoleDetail",
            "View/getRoleList",
            "View/getPolicyDetail",
        ),
        ("Role",),
        "Role",
        "Assign policy to role",
        "PR",
    ),
    (
        CHANGE,
        "Change/removePolicyFromRole",
        ("View/getRoleDetail", "View/getRoleList"),
        ("Role",),
        "Role",
        "Delete policy from role",
        "PR",
    ),
    (
        CHANGE,
        "Change/attachRoleToServer",
        (
            "View/getRoleDetail",
            "View/getServerInstanceList",
            "View/getRoleList",
            "View/getServerInstanceDetail",
        ),
        ("Role",),
        "Role",
        "Assign role to server resource",
        "PR",
    ),
    (
        CHANGE,
        "Change/detachRoleFromServer",
        ("View/getRoleDetail", "View/getRoleList"),
        ("Role",),
        "Role",
        "Remove roles from server resource",
        "PR",
    ),
    (
        CHANGE,
        "Change/suspendRole",
        ("View/getRoleDetail", "View/getRoleList"),
        ("Role",),
        "Role",
        "Suspend and release roles",
        "PR",
    ),
    (
        CHANGE,
        "Change/attachRoleToAccount",
        ("View/getRoleDetail", "View/getRoleList"),
        ("Role",),
        "Role",
        "Set target accounts in account role",
        "PR",
    ),
    (
        CHANGE,
        "Change/detachRoleFromAccount",
        ("View/getRoleDetail", "View/getRoleList"),
        ("Role",),
        "Role",
        "Delete target accounts in account role",
        "PR",
    ),
    (
        CHANGE,
        "Change/switchRole",
        (),
        ("Role",),
        "Role",
        "Switch permissions to the assigned account role",
        "PR",
    ),
    (
        CHANGE,
        "Change/tagSubAccount",
        ("View/getSubAccountList", "View/getSubAccountDetail"),
        ("SubAccount",),
        "SubAccount",
        "Assign tag to sub account",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/untagSubAccount",
        ("View/getSubAccountList", "View/getSubAccountDetail"),
        ("SubAccount",),
        "SubAccount",
        "Delete tag from sub account",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/tagGroup",
        ("View/getGroupList", "View/getGroupDetail"),
        ("Group",),
        "Group",
        "Assign tag to group",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/untagGroup",
        ("View/getGroupList", "View/getGroupDetail"),
        ("Group",),
        "Group",
        "Delete tag from group",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/tagPolicy",
        ("View/getPolicyList", "View/getPolicyDetail"),
        ("Policy",),
        "Policy",
        "Assign tag to policy",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/untagPolicy",
        ("View/getPolicyList", "View/getPolicyDetail"),
        ("Policy",),
        "Policy",
        "Delete tag from policy",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/tagRole",
        ("View/getRoleList", "View/getRoleDetail"),
        ("Role",),
        "Role",
        "Assign tag to role",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/untagRole",
        (
            "View/getRoleList",
            "getRoleDetail",
        ),  # second one written without prefix in the seed
        ("Role",),
        "Role",
        "Delete tag from role",
        "PRQ",
    ),
    (
        CHANGE,
        "Change/manageLongtermUnusedDeactiveSetting",
        (),
        (),
        "Dashboard",
        "Manage the ability to disable long-term inactive sub account",
        "P",
    ),
)

# External Access writes every related action without prefix; all rows list only the principal keys.
_EXTERNAL_ACCESS_ROWS: tuple[_RawRow, ...] = (
    (
        CHANGE,
        "Change/createTrustAnchor",
        ("getCAList", "getCADetail"),
        (),
        "TrustAnchor",
        "Create TrustAnchor",
        "P",
    ),
    (
        CHANGE,
        "Change/createProfile",
        ("getRoleList", "getRoleDetail"),
        (),
        "Profile",
        "Create Profile",
        "P",
    ),
    (
        CHANGE,
        "Change/deleteTrustAnchor",
        ("getTrustAnchorList", "getTrustAnchorDetail"),
        ("TrustAnchor",),
        "TrustAnchor",
        "Delete TrustAnchor",
        "P",
    ),
    (
        CHANGE,
        "Change/disableTrustAnchor",
        ("getTrustAnchorList", "getTrustAnchorDetail"),
        ("TrustAnchor",),
        "TrustAnchor",
        "Disable TrustAnchor",
        "P",
    ),
    (
        CHANGE,
        "Change/enableTrustAnchor",
        ("getTrustAnchorList", "getTrustAnchorDetail"),
        ("TrustAnchor",),
        "TrustAnchor",
        "Enable TrustAnchor",
        "P",
    ),
    (
        VIEW,
        "View/getTrustAnchorList",
        (),
        (),
        "TrustAnchor",
        "View list of TrustAnchor",
        "P",
    ),
    (
        VIEW,
        "View/getTrustAnchorDetail",
        ("getTrustAnchorList",),
        ("TrustAnchor",),
        "TrustAnchor",
        "View TrustAnchor details",
        "P",
    ),
    (
        CHANGE,
        "Change/updateTrustAnchor",
        ("getTrustAnchorList", "getTrustAnchorDetail", "getCAList", "getCADetail"),
        ("TrustAnchor",),
        "TrustAnchor",
        "Edit TrustAnchor",
        "P",
    ),
    (
        CHANGE,
        "Change/deleteProfile",
        ("getProfileList", "getProfileDetail"),
        ("Profile",),
        "Profile",
        "Delete Profile",
        "P",
    ),
    (
        CHANGE,
        "Change/disableProfile",
        ("getProfileList", "getProfileDetail"),
        ("Profile",),
        "Profile",
        "Disable Profile",
        "P",
    ),
    (
        CHANGE,
        "Change/enableProfile",
        ("getProfileList", "getProfileDetail"),
        ("Profile",),
        "Profile",
        "Enable Profile",
        "P",
    ),
    (VIEW, "View/getProfileList", (), (), "Profile", "View list of Profile", "P"),
    (
        VIEW,
        "View/getProfileDetail",
        ("getProfileList",),
        ("Profile",),
        "Profile",
        "View Profile details",
        "P",
    ),
    (
        CHANGE,
        "Change/updateProfile",
        ("getProfileList", "getProfileDetail", "getRoleList", "getRoleDetail"),
        ("Profile",),
        "Profile",
        "Edit Profile",
        "P",
    ),
    (VIEW, "View/getSubjectList", (), (), "Subject", "View SubjectActivity list", "P"),
    (
        VIEW,
        "View/getSubjectDetail",
        ("getSubjectList",),
        ("Subject",),
        "Subject",
        "View SubjectActivity details",
        "P",
    ),
    (VIEW, "View/getCAList", (), (), "TrustAnchor", "View CA list", "P"),
    (
        VIEW,
        "View/getCADetail",
        ("getCAList",),
        ("Private CA:CA",),
        "TrustAnchor",
        "View CA details",
        "P",
    ),
    # External Access's own role views (product ExternalAccess), distinct from Sub Account's View/getRole*.
    (VIEW, "View/getRoleList", (), (), "Profile", "View role list", "P"),
    (
        VIEW,
        "View/getRoleDetail",
        ("getRoleList",),
        ("Sub Account:Role",),
        "Profile",
        "View role details",
        "P",
    ),
    (
        CHANGE,
        "Change/importCrl",
        ("getTrustAnchorDetail",),
        ("Crl",),
        "Crl",
        "Import Crl",
        "P",
    ),
    (
        CHANGE,
        "Change/deleteCrl",
        ("getTrustAnchorDetail", "getCrlDetail", "getCrlList"),
        ("Crl",),
        "Crl",
        "Delete Crl",
        "P",
    ),
    # "disbleCrl" (sic): this is how the real service spells the action; keep it so policies stay compatible.
    (
        CHANGE,
        "Change/disbleCrl",
        ("getTrustAnchorDetail", "getCrlDetail"),
        ("Crl",),
        "Crl",
        "Disable Crl",
        "P",
    ),
    (
        CHANGE,
        "Change/enableCrl",
        ("getTrustAnchorDetail", "getCrlDetail"),
        ("Crl",),
        "Crl",
        "Enable Crl",
        "P",
    ),
    (
        VIEW,
        "View/getCrlDetail",
        ("getTrustAnchorDetail", "getCrlList"),
        ("Crl",),
        "Crl",
        "View Crl details",
        "P",
    ),
    (
        VIEW,
        "View/getCrlList",
        ("getTrustAnchorDetail",),
        ("Crl",),
        "Crl",
        "View Crl list",
        "P",
    ),
)


def _condition_keys(flags: str) -> tuple[str, ...]:
    keys: list[str] = []
    if "P" in flags:
        keys.extend(PRINCIPAL_CONDITION_KEYS)
    if "R" in flags:
        keys.extend(RESOURCE_TAG_KEYS)
    if "Q" in flags:
        keys.extend(REQUEST_TAG_KEYS)
    return tuple(keys)


def _bare(name: str) -> str:
    return name.split("/", 1)[1] if "/" in name else name


# --------------------------------------------------------------------------------------------------------------
# Extensions: actions beyond NCP, (product, row) in the same shape as the transcribed rows.
# --------------------------------------------------------------------------------------------------------------
_EXTENSION_ROWS: tuple[tuple[str, _RawRow], ...] = (
    (
        SUB_ACCOUNT,
        (VIEW, "View/getAuditEventList", (), (), "Audit", "View the audit trail (beyond NCP)", "P"),
    ),
    # The server inventory Server roles are attached to (NCP keeps servers in its VPC Server product; this service
    # registers them itself, so the metadata endpoint knows who is calling).
    (
        SUB_ACCOUNT,
        (
            CHANGE,
            "Change/registerServerInstance",
            (),
            (),
            "Server",
            "Register a server in the inventory (beyond NCP)",
            "P",
        ),
    ),
    (
        SUB_ACCOUNT,
        (
            CHANGE,
            "Change/updateServerInstance",
            (),
            ("VPCServer:Server",),
            "Server",
            "Edit a registered server (beyond NCP)",
            "PR",
        ),
    ),
    (
        SUB_ACCOUNT,
        (
            CHANGE,
            "Change/deregisterServerInstance",
            (),
            ("VPCServer:Server",),
            "Server",
            "Remove a server from the inventory (beyond NCP)",
            "PR",
        ),
    ),
    (
        SUB_ACCOUNT,
        (
            CHANGE,
            "Change/resetServerInstanceMetadataToken",
            (),
            ("VPCServer:Server",),
            "Server",
            "Issue a new metadata token for a registered server (beyond NCP)",
            "PR",
        ),
    ),
    # Service role targets: the documentation lets the console set them but its action table names no action.
    (
        SUB_ACCOUNT,
        (
            CHANGE,
            "Change/attachRoleToService",
            (),
            ("Role",),
            "Role",
            "Set the services that may assume a service role (beyond NCP)",
            "PR",
        ),
    ),
    (
        SUB_ACCOUNT,
        (
            CHANGE,
            "Change/detachRoleFromService",
            (),
            ("Role",),
            "Role",
            "Remove services from a service role (beyond NCP)",
            "PR",
        ),
    ),
)


def _build(product: str, rows: tuple[_RawRow, ...], *, extension: bool = False) -> tuple[CatalogAction, ...]:
    names = [row[1] for row in rows]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate action names in {product} catalog")
    by_bare: dict[str, list[str]] = {}
    for name in names:
        by_bare.setdefault(_bare(name), []).append(name)

    def resolve(ref: str) -> str:
        if ref in names:
            return ref
        candidates = by_bare.get(_bare(ref), [])
        if len(candidates) != 1:
            raise ValueError(f"cannot resolve related action {ref!r} in {product}: {candidates}")
        return candidates[0]

    actions = []
    for type_, name, related, resource_types, group, description, flags in rows:
        if type_ not in ACTION_TYPES or not name.startswith(type_ + "/"):
            raise ValueError(f"bad action type for {product} {name!r}")
        resolved: list[str] = []
        for ref in related:
            full = resolve(ref)
            if full != name and full not in resolved:
                resolved.append(full)
        actions.append(
            CatalogAction(
                product=product,
                name=name,
                type=type_,
                related=tuple(resolved),
                resource_types=tuple(resource_types),
                group=group,
                description=description,
                condition_keys=_condition_keys(flags),
                extension=extension,
            )
        )
    return tuple(actions)


def _build_extensions(documented: tuple[CatalogAction, ...]) -> tuple[CatalogAction, ...]:
    taken = {action.key for action in documented}
    extensions = []
    for product in PRODUCTS:
        rows = tuple(row for row_product, row in _EXTENSION_ROWS if row_product == product)
        for action in _build(product, rows, extension=True):
            if action.key in taken:
                raise ValueError(f"extension {action.key} clashes with a documented action")
            extensions.append(action)
    return tuple(extensions)


_DOCUMENTED: tuple[CatalogAction, ...] = _build(SUB_ACCOUNT, _SUB_ACCOUNT_ROWS) + _build(
    EXTERNAL_ACCESS, _EXTERNAL_ACCESS_ROWS
)
# The documented actions in document order, then the extensions.
ACTIONS: tuple[CatalogAction, ...] = _DOCUMENTED + _build_extensions(_DOCUMENTED)

_BY_KEY: dict[tuple[str, str], CatalogAction] = {action.key: action for action in ACTIONS}
_BY_PRODUCT: dict[str, tuple[CatalogAction, ...]] = {
    product: tuple(action for action in ACTIONS if action.product == product) for product in PRODUCTS
}


def get_action(product: str, name: str) -> CatalogAction | None:
    return _BY_KEY.get((product, name))


def actions_for(product: str) -> tuple[CatalogAction, ...]:
    return _BY_PRODUCT.get(product, ())


def is_known_action(product: str, name: str) -> bool:
    return (product, name) in _BY_KEY


def with_related(product: str, names: list[str]) -> list[str]:
    """Return ``names`` plus, transitively, their related actions (breadth-first), de-duplicated in first-seen order.

    Wildcard patterns (anything containing ``*``) and unknown names pass through unchanged and add nothing.
    """
    result: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name not in seen:
            seen.add(name)
            result.append(name)
    index = 0
    while index < len(result):
        name = result[index]
        index += 1
        if "*" in name:
            continue
        action = _BY_KEY.get((product, name))
        if action is None:
            continue
        for related in action.related:
            if related not in seen:
                seen.add(related)
                result.append(related)
    return result


def condition_key_applies(action: CatalogAction, key: str) -> bool:
    """Whether condition ``key`` may be used with ``action`` (exact, case-sensitive match).

    Global request-context keys apply to every action; a ``prefix/*`` entry (e.g. ``ncp:resourceTag/*``) matches any
    key ``prefix/<non-empty tag key>``.
    """
    if key in GLOBAL_CONDITION_KEYS or key in action.condition_keys:
        return True
    for entry in action.condition_keys:
        if entry.endswith("/*"):
            prefix = entry[:-1]  # keep the trailing "/"
            if key.startswith(prefix) and len(key) > len(prefix):
                return True
    return False


# --------------------------------------------------------------------------------------------------------------
# System-managed policies
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemPolicy:
    policy_id: str
    name: str
    description: str
    permissions: tuple  # policy-document statements (plain dicts); treat as read-only, use permissions_copy()

    def permissions_copy(self) -> list[dict]:
        """A deep, mutable copy of the permissions, safe to serialize or modify."""
        return copy.deepcopy(list(self.permissions))

    # dict-valued fields are unhashable; identity is the fixed policy id
    def __hash__(self) -> int:
        return hash(self.policy_id)


def _allow(*products: str, actions: str = "*") -> dict:
    return _statement("Allow", products, actions)


def _deny(*products: str, actions: str = "*") -> dict:
    return _statement("Deny", products, actions)


def _statement(effect: str, products: tuple[str, ...], actions: str) -> dict:
    return {
        "effect": effect,
        "targets": [{"product": product, "actions": [actions], "resourceNrns": ["*"]} for product in products],
    }


SYSTEM_POLICIES: tuple[SystemPolicy, ...] = (
    SystemPolicy(
        policy_id="00000000-0000-4000-8000-000000000001",
        name="NCP_ADMINISTRATOR",
        description="Full access to all services, same as the main account",
        permissions=(_allow("*"),),  # product "*" = every product
    ),
    SystemPolicy(
        policy_id="00000000-0000-4000-8000-000000000002",
        name="NCP_INFRA_MANAGER",
        description=(
            "Access to all services, except My Account > Billing and Cost Management > Billing and Payments "
            "in the console"
        ),
        # Everything, except the console's billing and payments (product "Billing"); Cost Explorer stays allowed.
        permissions=(_allow("*"), _deny(BILLING)),
    ),
    SystemPolicy(
        policy_id="00000000-0000-4000-8000-000000000003",
        name="NCP_FINANCE_MANAGER",
        description=(
            "Access only to Cost Explorer and My Account > Billing and Cost Management > Billing and Payments "
            "in the console"
        ),
        # Grants nothing in SubAccount / ExternalAccess.
        permissions=(_allow(BILLING, COST_EXPLORER),),
    ),
    SystemPolicy(
        policy_id="00000000-0000-4000-8000-000000000004",
        name="NCP_SUB_ACCOUNT_MANAGER",
        description="Permission to use the full Sub Account feature sets including External Access",
        permissions=(_allow(SUB_ACCOUNT, EXTERNAL_ACCESS),),
    ),
    SystemPolicy(
        policy_id="00000000-0000-4000-8000-000000000005",
        name="NCP_SUB_ACCOUNT_VIEWER",
        description="Permission to only use the view list and view feature in Sub Account",
        permissions=(_allow(SUB_ACCOUNT, actions="View*"),),
    ),
    SystemPolicy(
        policy_id="00000000-0000-4000-8000-000000000006",
        name="NCP_EXTERNAL_ACCESS_MANAGER",
        description="Permission to use all the features in External Access",
        permissions=(_allow(EXTERNAL_ACCESS),),
    ),
    SystemPolicy(
        policy_id="00000000-0000-4000-8000-000000000007",
        name="NCP_EXTERNAL_ACCESS_VIEWER",
        description="Permission to only use the view list and search function in External Access",
        permissions=(_allow(EXTERNAL_ACCESS, actions="View*"),),
    ),
)

_SYSTEM_POLICIES_BY_NAME: dict[str, SystemPolicy] = {policy.name: policy for policy in SYSTEM_POLICIES}


def get_system_policy(name: str) -> SystemPolicy | None:
    return _SYSTEM_POLICIES_BY_NAME.get(name)
