"""The one table that says which catalog action (and on which resource) each API endpoint needs.

Keys are (viewset basename, view action); a value is a rule giving the list of requests to authorize, built from
the URL and body (ids spelled canonically, as the services read them), so an unknown id is checked like a known one
and a caller learns nothing about ids it may not see. The one database read is of the caller's own resource's
current tags, to tell adding tags (tag action) from removing them (untag action).
"""

import uuid
from collections.abc import Callable

from iam.policy import catalog, nrn
from iam.policy.request import Request

SA = catalog.SUB_ACCOUNT
Rule = Callable[[object, object, int], list[Request]]


def act(
    action: str,
    resource_type: str | None = None,
    url_kwarg: str | None = None,
    product: str = SA,
    nrn_product: str | None = None,
) -> Rule:
    """A rule for one action, on the resource named by a URL parameter (or none). The resource's NRN is of
    ``nrn_product``: IAM for Sub Account actions, ExternalAccess for External Access ones, unless told otherwise."""
    if catalog.get_action(product, action) is None:
        raise ValueError(f"{product}:{action} is not in the catalog")
    if nrn_product is None:
        nrn_product = nrn.IAM if product == SA else nrn.EXTERNAL_ACCESS

    def rule(request, view, member_no: int) -> list[Request]:
        resource = None
        if resource_type is not None:
            resource = nrn.build(nrn_product, member_no, resource_type, view.kwargs[url_kwarg])
        return [Request(product, action, resource)]

    return rule


def by_method(**rules: Rule) -> Rule:
    """Different actions for the HTTP methods of one endpoint."""

    def rule(request, view, member_no: int) -> list[Request]:
        method = request.method.lower()
        chosen = rules.get(method) or (rules.get("get") if method == "head" else None)
        if chosen is None:
            return []  # no action for this method: the permission refuses an empty list
        return chosen(request, view, member_no)

    return rule


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


def _body_ids(request, field: str) -> list[str]:
    ids = _body(request).get(field)
    return [str(i) for i in ids[:500]] if isinstance(ids, list) else []


def _tag_actions(request, resource: str, tag_action: str, untag_action: str) -> list[str]:
    """Adding or changing a tag needs the tag action, dropping one the untag action (PUT replaces the whole map)."""
    from iam.selectors import resource_tags

    tags = _body(request).get("tags")
    if not isinstance(tags, dict):
        return [tag_action]  # the service refuses it; authorize as a change of tags
    existing = resource_tags(account_id=request.user.account_id, resource_nrn=resource)
    actions = []
    if any(existing.get(k) != v for k, v in tags.items()) or not existing:
        actions.append(tag_action)
    if any(k not in tags for k in existing):
        actions.append(untag_action)
    return actions or [tag_action]


SUB_ACCOUNT_ALLOW_SOURCE_FIELDS = {"useConsolePermitIp", "consolePermitIps", "useApiAllowSource", "apiAllowSources"}


def sub_account_update(request, view, member_no: int) -> list[Request]:
    """PUT /sub-accounts/{id}: each kind of change needs its own action (suspend, allow sources, tags, the rest)."""
    resource = nrn.build(nrn.IAM, member_no, "SubAccount", view.kwargs["subAccountId"])
    body = _body(request)
    actions = []
    if "active" in body:
        actions.append("Change/suspendSubAccount")
    if SUB_ACCOUNT_ALLOW_SOURCE_FIELDS & set(body):
        actions.append("Change/manageSubAccountAllowSourceSetting")
    if "tags" in body:
        actions.extend(_tag_actions(request, resource, "Change/tagSubAccount", "Change/untagSubAccount"))
    if not actions or set(body) - SUB_ACCOUNT_ALLOW_SOURCE_FIELDS - {"active", "tags"}:
        actions.insert(0, "Change/updateSubAccount")
    return [Request(SA, a, resource) for a in actions]


def _tagged_update(update_action: str, tag_action: str, untag_action: str, resource_type: str, url_kwarg: str) -> Rule:
    def rule(request, view, member_no: int) -> list[Request]:
        resource = nrn.build(nrn.IAM, member_no, resource_type, view.kwargs[url_kwarg])
        body = _body(request)
        actions = _tag_actions(request, resource, tag_action, untag_action) if "tags" in body else []
        if not actions or set(body) - {"tags"}:
            actions.insert(0, update_action)
        return [Request(SA, a, resource) for a in actions]

    return rule


def policy_resources_detach(request, view, member_no: int) -> list[Request]:
    """DELETE /policies/{id}/resources: the remove action of each kind of target named in the body."""
    requests = []
    for field, action, resource_type in (
        ("subAccountIdList", "Change/removePolicyFromSubAccount", "SubAccount"),
        ("groupIdList", "Change/removePolicyFromGroup", "Group"),
        ("roleNoList", "Change/removePolicyFromRole", "Role"),
    ):
        requests.extend(
            Request(SA, action, _canonical_nrn(member_no, resource_type, i)) for i in _body_ids(request, field)
        )
    return requests or [Request(SA, "Change/removePolicyFromSubAccount", None)]


def membership(action: str, url_type: str, url_kwarg: str, body_type: str, body_field: str) -> Rule:
    """Group membership acts on both the group and the sub account: the one in the URL and each one in the body."""

    def rule(request, view, member_no: int) -> list[Request]:
        requests = [Request(SA, action, nrn.build(nrn.IAM, member_no, url_type, view.kwargs[url_kwarg]))]
        requests.extend(
            Request(SA, action, _canonical_nrn(member_no, body_type, i)) for i in _body_ids(request, body_field)
        )
        return requests

    return rule


def policy_simulation(request, view, member_no: int) -> list[Request]:
    """POST /policy/simulation: validating policies, and reading the simulated principal's details."""
    body = _body(request)
    requests = [Request(SA, "View/validatePolicy", None)]
    if isinstance(body.get("subAccountId"), str) and body["subAccountId"]:
        requests.append(
            Request(SA, "View/getSubAccountDetail", _canonical_nrn(member_no, "SubAccount", body["subAccountId"]))
        )
    if isinstance(body.get("roleNo"), str) and body["roleNo"]:
        requests.append(Request(SA, "View/getRoleDetail", _canonical_nrn(member_no, "Role", body["roleNo"])))
    return requests


def _canonical_nrn(member_no: int, resource_type: str, value: str) -> str:
    """The NRN of an id as the services will look it up (UUIDs in their canonical spelling; anything else as sent,
    which then matches no row)."""
    try:
        value = str(uuid.UUID(value))
    except ValueError:
        pass
    return nrn.build(nrn.IAM, member_no, resource_type, value)


def server_act(action: str) -> Rule:
    """A rule for one action on the server named by the URL (``VPCServer:Server`` NRNs carry a region)."""
    if catalog.get_action(SA, action) is None:
        raise ValueError(f"{SA}:{action} is not in the catalog")

    def rule(request, view, member_no: int) -> list[Request]:
        return [Request(SA, action, nrn.server_nrn(member_no, view.kwargs["serverInstanceNo"]))]

    return rule


def role_update(request, view, member_no: int) -> list[Request]:
    """PUT /roles/{roleNo}: disabling or enabling needs Change/suspendRole, tags their actions, the rest updateRole."""
    resource = nrn.build(nrn.IAM, member_no, "Role", view.kwargs["roleNo"])
    body = _body(request)
    actions = ["Change/suspendRole"] if "active" in body else []
    if "tags" in body:
        actions.extend(_tag_actions(request, resource, "Change/tagRole", "Change/untagRole"))
    if not actions or set(body) - {"tags", "active"}:
        actions.insert(0, "Change/updateRole")
    return [Request(SA, a, resource) for a in actions]


def role_servers_attach(request, view, member_no: int) -> list[Request]:
    """POST /roles/{roleNo}/entities/servers: attaching the role, and viewing each server named (so a Deny on a
    server keeps it out of reach)."""
    requests = [Request(SA, "Change/attachRoleToServer", nrn.build(nrn.IAM, member_no, "Role", view.kwargs["roleNo"]))]
    requests.extend(
        Request(SA, "View/getServerInstanceDetail", nrn.server_nrn(member_no, number))
        for number in _body_ids(request, "serverInstanceNoList")
        if "/" not in number and number.strip() == number and number
    )
    return requests


SUB = ("SubAccount", "subAccountId")
GROUP = ("Group", "groupId")
POLICY = ("Policy", "policyId")
ROLE = ("Role", "roleNo")


def sts_credentials(request, view, member_no: int) -> list[Request]:
    """POST /credentials: a temporary key needs View/getStsSessionToken; switching to a role (``roleNrn``) also
    needs Change/switchRole on that role, named as policies spell it."""
    requests = [Request(SA, "View/getStsSessionToken")]
    role_nrn = _body(request).get("roleNrn")
    if isinstance(role_nrn, str):
        role_nrn = role_nrn.strip()  # as the serializer reads it: blank means no switch
    if role_nrn:
        resource = nrn.canonical_role_nrn(role_nrn) or str(role_nrn)[:300]
        requests.append(Request(SA, "Change/switchRole", resource))
    return requests


ENDPOINT_ACTIONS: dict[tuple[str, str], Rule] = {
    # Sub accounts
    ("sub-accounts", "list"): act("View/getSubAccountList"),
    ("sub-accounts", "create"): act("Change/createSubAccount"),
    ("sub-accounts", "retrieve"): act("View/getSubAccountDetail", *SUB),
    ("sub-accounts", "update"): sub_account_update,
    ("sub-accounts", "destroy"): act("Change/deleteSubAccount", *SUB),
    ("sub-accounts", "password"): act("Change/resetSubAccountPassword", *SUB),
    ("sub-accounts", "mfa_reset"): act("Change/resetSubAccountMFA", *SUB),
    ("sub-accounts", "mfa"): act("View/getSubAccountDetail", *SUB),
    ("sub-accounts", "groups"): by_method(
        post=membership("Change/addSubAccountToGroup", *SUB, "Group", "groupIdList"),
        delete=membership("Change/removeSubAccountFromGroup", *SUB, "Group", "groupIdList"),
    ),
    ("sub-accounts", "policies"): by_method(
        post=act("Change/addPolicyToSubAccount", *SUB), delete=act("Change/removePolicyFromSubAccount", *SUB)
    ),
    ("sub-accounts", "access_keys"): by_method(
        get=act("View/getSubAccountAccessKey", *SUB),
        post=act("Change/createSubAccountAccessKey", *SUB),
        put=act("Change/manageSubAccountAccessKeyState", *SUB),
        delete=act("Change/deleteSubAccountAccessKey", *SUB),
    ),
    ("join", "check_login_id"): act("View/getSubAccountList"),
    ("join", "check_password"): act("View/getSubAccountList"),
    # Groups
    ("groups", "list"): act("View/getGroupList"),
    ("groups", "create"): act("Change/createGroup"),
    ("groups", "retrieve"): act("View/getGroupDetail", *GROUP),
    ("groups", "update"): _tagged_update("Change/updateGroup", "Change/tagGroup", "Change/untagGroup", *GROUP),
    ("groups", "destroy"): act("Change/deleteGroup", *GROUP),
    ("groups", "sub_accounts"): by_method(
        post=membership("Change/addSubAccountToGroup", *GROUP, "SubAccount", "subAccountIdList"),
        delete=membership("Change/removeSubAccountFromGroup", *GROUP, "SubAccount", "subAccountIdList"),
    ),
    ("groups", "policies"): by_method(
        post=act("Change/addPolicyToGroup", *GROUP), delete=act("Change/removePolicyFromGroup", *GROUP)
    ),
    # Policies
    ("policies", "list"): act("View/getPolicyList"),
    ("policies", "create"): act("Change/createPolicy"),
    ("policies", "retrieve"): act("View/getPolicyDetail", *POLICY),
    ("policies", "update"): _tagged_update("Change/updatePolicy", "Change/tagPolicy", "Change/untagPolicy", *POLICY),
    ("policies", "destroy"): act("Change/deletePolicy", *POLICY),
    ("policies", "resources"): by_method(get=act("View/getPolicyDetail", *POLICY), delete=policy_resources_detach),
    ("policy-validation", "create"): act("View/validatePolicy"),
    ("policy-simulation", "create"): policy_simulation,
    # Roles
    ("roles", "list"): act("View/getRoleList"),
    ("roles", "create"): act("Change/createRole"),
    ("roles", "retrieve"): act("View/getRoleDetail", *ROLE),
    ("roles", "update"): role_update,
    ("roles", "destroy"): act("Change/deleteRole", *ROLE),
    ("roles", "policies"): by_method(
        post=act("Change/addPolicyToRole", *ROLE), delete=act("Change/removePolicyFromRole", *ROLE)
    ),
    ("roles", "entity_servers"): by_method(
        get=act("View/getRoleDetail", *ROLE),
        post=role_servers_attach,
        delete=act("Change/detachRoleFromServer", *ROLE),
    ),
    ("roles", "entity_accounts"): by_method(
        get=act("View/getRoleDetail", *ROLE),
        post=act("Change/attachRoleToAccount", *ROLE),
        delete=act("Change/detachRoleFromAccount", *ROLE),
    ),
    ("roles", "entity_services"): by_method(
        get=act("View/getRoleDetail", *ROLE),
        post=act("Change/attachRoleToService", *ROLE),
        delete=act("Change/detachRoleFromService", *ROLE),
    ),
    ("roles", "entity_sso_assignments"): act("View/getRoleDetail", *ROLE),
    # Servers (the inventory Server roles are attached to)
    ("servers", "list"): act("View/getServerInstanceList"),
    ("servers", "create"): act("Change/registerServerInstance"),
    ("servers", "retrieve"): server_act("View/getServerInstanceDetail"),
    ("servers", "update"): server_act("Change/updateServerInstance"),
    ("servers", "destroy"): server_act("Change/deregisterServerInstance"),
    ("servers", "metadata_token"): server_act("Change/resetServerInstanceMetadataToken"),
    # STS
    ("credentials", "list"): act("View/getStsSessionToken"),
    ("credentials", "create"): sts_credentials,
    # Audit trail (an extension action: NCP has no audit trail API)
    ("audit-events", "list"): act("View/getAuditEventList"),
    ("audit-events", "retrieve"): act("View/getAuditEventList"),
    # Dashboard and settings (reading a setting is part of viewing the dashboard)
    ("dashboard", "list"): act("View/getResourceCount"),
    ("settings-password", "setting"): by_method(
        get=act("View/getResourceCount"), put=act("Change/managePasswordSetting")
    ),
    ("settings-login-page", "setting"): by_method(
        get=act("View/getResourceCount"), put=act("Change/manageLoginPageSetting")
    ),
    ("settings-session", "setting"): by_method(
        get=act("View/getResourceCount"), put=act("Change/manageSessionSetting")
    ),
    ("settings-long-term-unused", "setting"): by_method(
        get=act("View/getResourceCount"), put=act("Change/manageLongtermUnusedDeactiveSetting")
    ),
    ("login-alias", "setting"): by_method(get=act("View/getResourceCount"), put=act("Change/manageLoginPageSetting")),
    ("tenant-settings-password-policy", "setting"): by_method(
        get=act("View/getResourceCount"), put=act("Change/managePasswordSetting")
    ),
    ("tenant-settings-session-policy", "setting"): by_method(
        get=act("View/getResourceCount"), put=act("Change/manageSessionSetting")
    ),
    ("tenant-settings-idle-disable", "setting"): by_method(
        get=act("View/getResourceCount"), put=act("Change/manageLongtermUnusedDeactiveSetting")
    ),
    ("sub-accounts", "unlock"): act("Change/updateSubAccount", *SUB),
}


EA = catalog.EXTERNAL_ACCESS
CA = ("CA", "caId")
TRUST_ANCHOR = ("TrustAnchor", "trustAnchorId")
CRL = ("Crl", "crlId")
PROFILE = ("Profile", "profileId")
SUBJECT = ("Subject", "subjectId")


def _ea(action: str, resource: tuple[str, str] | None = None, **kwargs) -> Rule:
    return act(action, *(resource or ()), product=EA, **kwargs)


def crl_update(request, view, member_no: int) -> list[Request]:
    """PATCH of a CRL: new crlData or a new name is an import (the catalog has no update action); a change of
    ``enabled`` needs the enable or disable action."""
    resource = nrn.build(nrn.EXTERNAL_ACCESS, member_no, "Crl", view.kwargs["crlId"])
    body = _body(request)
    actions = []
    if set(body) - {"enabled"} or not body:
        actions.append("Change/importCrl")
    if "enabled" in body:
        actions.append("Change/enableCrl" if body["enabled"] is True else "Change/disbleCrl")
    return [Request(EA, a, resource) for a in actions]


ENDPOINT_ACTIONS.update(
    {
        # Private CAs: reads by the engine; writes (no catalog action) also need the root key (see the views).
        ("cas", "list"): _ea("View/getCAList"),
        ("cas", "create"): _ea("View/getCAList"),
        ("cas", "retrieve"): _ea("View/getCADetail", CA, nrn_product=nrn.PRIVATE_CA),
        ("cas", "certificates"): _ea("View/getCADetail", CA, nrn_product=nrn.PRIVATE_CA),
        ("cas", "revoke"): _ea("View/getCADetail", CA, nrn_product=nrn.PRIVATE_CA),
        ("cas", "crl"): _ea("View/getCADetail", CA, nrn_product=nrn.PRIVATE_CA),
        # Trust anchors
        ("trust-anchors", "list"): _ea("View/getTrustAnchorList"),
        ("trust-anchors", "create"): _ea("Change/createTrustAnchor"),
        ("trust-anchors", "retrieve"): _ea("View/getTrustAnchorDetail", TRUST_ANCHOR),
        ("trust-anchors", "partial_update"): _ea("Change/updateTrustAnchor", TRUST_ANCHOR),
        ("trust-anchors", "destroy"): _ea("Change/deleteTrustAnchor", TRUST_ANCHOR),
        ("trust-anchors", "enable"): _ea("Change/enableTrustAnchor", TRUST_ANCHOR),
        ("trust-anchors", "disable"): _ea("Change/disableTrustAnchor", TRUST_ANCHOR),
        # CRLs of a trust anchor
        ("crls", "list"): _ea("View/getCrlList"),
        ("crls", "create"): _ea("Change/importCrl"),
        ("crls", "retrieve"): _ea("View/getCrlDetail", CRL),
        ("crls", "partial_update"): crl_update,
        ("crls", "destroy"): _ea("Change/deleteCrl", CRL),
        ("crls", "enable"): _ea("Change/enableCrl", CRL),
        ("crls", "disable"): _ea("Change/disbleCrl", CRL),
        # Profiles
        ("profiles", "list"): _ea("View/getProfileList"),
        ("profiles", "create"): _ea("Change/createProfile"),
        ("profiles", "retrieve"): _ea("View/getProfileDetail", PROFILE),
        ("profiles", "partial_update"): _ea("Change/updateProfile", PROFILE),
        ("profiles", "destroy"): _ea("Change/deleteProfile", PROFILE),
        ("profiles", "enable"): _ea("Change/enableProfile", PROFILE),
        ("profiles", "disable"): _ea("Change/disableProfile", PROFILE),
        # Subject activity (enable and disable have no catalog action: the root key only, see the view)
        ("subjects", "list"): _ea("View/getSubjectList"),
        ("subjects", "retrieve"): _ea("View/getSubjectDetail", SUBJECT),
        ("subjects", "enable"): _ea("View/getSubjectDetail", SUBJECT),
        ("subjects", "disable"): _ea("View/getSubjectDetail", SUBJECT),
    }
)


def requests_for(view, request, member_no: int) -> list[Request] | None:
    """The requests to authorize for this call, or None when the endpoint is not in the table."""
    rule = ENDPOINT_ACTIONS.get((getattr(view, "basename", None) or "", getattr(view, "action", None) or ""))
    return None if rule is None else rule(request, view, member_no)
