"""Tests for the pure-data permission catalog (no database needed)."""

import ast
import dataclasses
from collections import Counter

import pytest

from iam.policy import catalog
from iam.policy.catalog import (
    ACTIONS,
    EXTERNAL_ACCESS,
    GLOBAL_CONDITION_KEYS,
    PRINCIPAL_CONDITION_KEYS,
    PRODUCTS,
    SUB_ACCOUNT,
    SYSTEM_POLICIES,
    actions_for,
    condition_key_applies,
    get_action,
    get_system_policy,
    is_known_action,
    with_related,
)

RESOURCE_TAG = "ncp:resourceTag/*"
REQUEST_TAG = "ncp:requestTag/*"


def _action(product, name):
    action = get_action(product, name)
    assert action is not None, (product, name)
    return action


# --- shape of the catalog -----------------------------------------------------------------------------------------


def test_module_has_no_django_dependency():
    with open(catalog.__file__, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "copy", "dataclasses"}


def _documented(product=None):
    return tuple(a for a in ACTIONS if not a.extension and (product is None or a.product == product))


def test_action_counts_match_seed():
    assert len(_documented(SUB_ACCOUNT)) == 59
    assert len(_documented(EXTERNAL_ACCESS)) == 26
    assert len(_documented()) == 85
    sub_types = Counter(a.type for a in _documented(SUB_ACCOUNT))
    ext_types = Counter(a.type for a in _documented(EXTERNAL_ACCESS))
    assert sub_types == {"View": 14, "Change": 45}
    assert ext_types == {"View": 12, "Change": 14}


def test_actions_in_document_order_then_extensions():
    assert PRODUCTS == (SUB_ACCOUNT, EXTERNAL_ACCESS)
    assert ACTIONS[0].key == (SUB_ACCOUNT, "View/getResourceCount")
    assert ACTIONS[58].key == (
        SUB_ACCOUNT,
        "Change/manageLongtermUnusedDeactiveSetting",
    )
    assert ACTIONS[59].key == (EXTERNAL_ACCESS, "Change/createTrustAnchor")
    assert ACTIONS[84].key == (EXTERNAL_ACCESS, "View/getCrlList")
    assert ACTIONS[:85] == _documented()
    assert all(a.extension for a in ACTIONS[85:])
    # a product's actions: its documented ones in document order, then its extensions
    for product in PRODUCTS:
        assert actions_for(product) == _documented(product) + tuple(a for a in ACTIONS[85:] if a.product == product)


# --- extensions (actions beyond NCP) ------------------------------------------------------------------------------


EXTENSIONS = [
    "View/getAuditEventList",
    "Change/registerServerInstance",
    "Change/updateServerInstance",
    "Change/deregisterServerInstance",
    "Change/resetServerInstanceMetadataToken",
    "Change/attachRoleToService",
    "Change/detachRoleFromService",
]


def test_the_extensions_are_the_audit_trail_the_server_inventory_and_service_role_targets():
    assert [a.key for a in ACTIONS if a.extension] == [(SUB_ACCOUNT, name) for name in EXTENSIONS]
    for name in EXTENSIONS[1:]:
        action = _action(SUB_ACCOUNT, name)
        assert action.type == "Change" and action.description.endswith("(beyond NCP)")
        assert action.group == ("Role" if "Service" in name and "Role" in name else "Server")
    assert _action(SUB_ACCOUNT, "Change/updateServerInstance").resource_types == ("VPCServer:Server",)
    assert _action(SUB_ACCOUNT, "Change/attachRoleToService").resource_types == ("Role",)


def test_the_audit_trail_view_extension():
    action = _action(SUB_ACCOUNT, "View/getAuditEventList")
    assert action.extension is True
    assert action.type == "View"
    assert action.related == ()
    assert action.resource_types == ()
    assert action.group == "Audit"
    assert action.description == "View the audit trail (beyond NCP)"
    assert action.condition_keys == PRINCIPAL_CONDITION_KEYS
    assert actions_for(SUB_ACCOUNT)[59] == action
    assert not is_known_action(EXTERNAL_ACCESS, "View/getAuditEventList")


def test_documented_actions_are_not_extensions():
    assert _action(SUB_ACCOUNT, "View/getSubAccountList").extension is False
    assert _action(EXTERNAL_ACCESS, "View/getCrlList").extension is False


def test_view_pattern_covers_the_extension():
    from iam.policy.document import statement_actions

    def named(actions):
        return {a.name for a in statement_actions({"targets": [{"product": SUB_ACCOUNT, "actions": actions}]})}

    assert "View/getAuditEventList" in named(["View*"])
    assert "View/getAuditEventList" in named(["*"])
    assert "View/getAuditEventList" not in named(["Change*"])


def test_an_extension_may_not_reuse_a_documented_name(monkeypatch):
    clash = (SUB_ACCOUNT, ("View", "View/getSubAccountList", (), (), "Audit", "clash", "P"))
    monkeypatch.setattr(catalog, "_EXTENSION_ROWS", (clash,))
    with pytest.raises(ValueError, match="clashes with a documented action"):
        catalog._build_extensions(catalog._DOCUMENTED)


def test_names_unique_per_product():
    for product in PRODUCTS:
        names = [a.name for a in actions_for(product)]
        assert len(names) == len(set(names)), product
    assert len({a.key for a in ACTIONS}) == len(ACTIONS)


def test_name_prefix_matches_type():
    for action in ACTIONS:
        assert action.type in ("View", "Change")
        assert action.name.startswith(action.type + "/"), action.name
        assert action.product in PRODUCTS
        assert action.description
        assert action.group


def test_every_related_action_resolves_within_same_product():
    for action in ACTIONS:
        assert len(set(action.related)) == len(action.related), action.name
        assert action.name not in action.related
        for related in action.related:
            assert related.startswith(("View/", "Change/")), (action.name, related)
            target = get_action(action.product, related)
            assert target is not None, (action.key, related)
            assert target.product == action.product


def test_related_actions_are_views():
    # In the seed every related action is a View action.
    for action in ACTIONS:
        for related in action.related:
            assert related.startswith("View/"), (action.key, related)


def test_actions_are_frozen():
    action = _action(SUB_ACCOUNT, "View/getSubAccountList")
    with pytest.raises(dataclasses.FrozenInstanceError):
        action.name = "x"


# --- specific rows --------------------------------------------------------------------------------------------------


def test_add_sub_account_to_group_row():
    action = _action(SUB_ACCOUNT, "Change/addSubAccountToGroup")
    assert action.type == "Change"
    assert action.resource_types == ("Group", "SubAccount")
    assert action.group == "Group"
    assert action.related == (
        "View/getGroupList",
        "View/getSubAccountDetail",
        "View/getSubAccountList",
        "View/getGroupDetail",
    )
    assert action.description == "Add sub accounts to group"
    assert RESOURCE_TAG in action.condition_keys
    assert REQUEST_TAG not in action.condition_keys


def test_remove_sub_account_from_group_row():
    action = _action(SUB_ACCOUNT, "Change/removeSubAccountFromGroup")
    assert action.resource_types == ("Group", "SubAccount")
    assert action.description == "Delete sub account from group"


def test_reset_mfa_related_normalized():
    action = _action(SUB_ACCOUNT, "Change/resetSubAccountMFA")
    assert action.related == ("View/getSubAccountList", "View/getSubAccountDetail")
    assert action.resource_types == ("SubAccount",)


def test_untag_role_related_normalized():
    action = _action(SUB_ACCOUNT, "Change/untagRole")
    assert action.related == ("View/getRoleList", "View/getRoleDetail")


def test_server_instance_detail_foreign_resource_type():
    action = _action(SUB_ACCOUNT, "View/getServerInstanceDetail")
    assert action.resource_types == ("VPCServer:Server",)
    assert action.group == "Role"
    assert action.related == ("View/getServerInstanceList",)


def test_rows_without_resource_type():
    assert _action(SUB_ACCOUNT, "View/getResourceCount").resource_types == ()
    assert _action(SUB_ACCOUNT, "Change/createSubAccount").resource_types == ()
    assert _action(EXTERNAL_ACCESS, "Change/createTrustAnchor").resource_types == ()
    assert _action(EXTERNAL_ACCESS, "View/getTrustAnchorList").related == ()
    assert _action(SUB_ACCOUNT, "Change/switchRole").related == ()
    assert _action(SUB_ACCOUNT, "Change/switchRole").resource_types == ("Role",)


def test_create_sub_account_condition_keys():
    action = _action(SUB_ACCOUNT, "Change/createSubAccount")
    assert action.related == ("View/getSubAccountList",)
    assert REQUEST_TAG in action.condition_keys
    assert "ncp:TagKeys" in action.condition_keys
    assert RESOURCE_TAG in action.condition_keys
    for key in PRINCIPAL_CONDITION_KEYS:
        assert key in action.condition_keys


def test_create_access_key_has_no_resource_tag():
    action = _action(SUB_ACCOUNT, "Change/createSubAccountAccessKey")
    assert action.condition_keys == PRINCIPAL_CONDITION_KEYS
    assert RESOURCE_TAG not in action.condition_keys
    assert action.related == (
        "View/getSubAccountDetail",
        "View/getSubAccountList",
        "View/getSubAccountAccessKey",
    )
    # its sibling does list ncp:resourceTag
    assert RESOURCE_TAG in _action(SUB_ACCOUNT, "Change/deleteSubAccountAccessKey").condition_keys


def test_request_tag_rows():
    with_request_tag = {a.name for a in actions_for(SUB_ACCOUNT) if REQUEST_TAG in a.condition_keys}
    assert with_request_tag == {
        "Change/createSubAccount",
        "Change/createGroup",
        "Change/createPolicy",
        "Change/createRole",
        "Change/tagSubAccount",
        "Change/untagSubAccount",
        "Change/tagGroup",
        "Change/untagGroup",
        "Change/tagPolicy",
        "Change/untagPolicy",
        "Change/tagRole",
        "Change/untagRole",
    }
    for action in ACTIONS:
        assert (REQUEST_TAG in action.condition_keys) == ("ncp:TagKeys" in action.condition_keys)
        # every row lists the principal keys
        assert action.condition_keys[: len(PRINCIPAL_CONDITION_KEYS)] == PRINCIPAL_CONDITION_KEYS


def test_resource_tag_rows_are_exactly_resource_scoped_sub_account_actions_and_creates():
    for action in actions_for(SUB_ACCOUNT):
        has_tag = RESOURCE_TAG in action.condition_keys
        if action.name == "Change/createSubAccountAccessKey":
            assert not has_tag
        elif action.resource_types or action.name in {
            "Change/createSubAccount",
            "Change/createGroup",
            "Change/createPolicy",
            "Change/createRole",
        }:
            assert has_tag, action.name
        else:
            assert not has_tag, action.name


def test_external_access_only_principal_keys():
    for action in actions_for(EXTERNAL_ACCESS):
        assert action.condition_keys == PRINCIPAL_CONDITION_KEYS, action.name


def test_external_access_role_actions_are_distinct_from_sub_account():
    ext_list = _action(EXTERNAL_ACCESS, "View/getRoleList")
    ext_detail = _action(EXTERNAL_ACCESS, "View/getRoleDetail")
    sub_detail = _action(SUB_ACCOUNT, "View/getRoleDetail")
    assert ext_list.group == "Profile"
    assert ext_detail.resource_types == ("Sub Account:Role",)
    assert ext_detail.related == ("View/getRoleList",)
    assert sub_detail.resource_types == ("Role",)
    assert ext_detail != sub_detail
    assert _action(EXTERNAL_ACCESS, "Change/createProfile").related == (
        "View/getRoleList",
        "View/getRoleDetail",
    )


def test_external_access_rows():
    assert _action(EXTERNAL_ACCESS, "View/getCADetail").resource_types == ("Private CA:CA",)
    assert _action(EXTERNAL_ACCESS, "View/getCADetail").group == "TrustAnchor"
    assert _action(EXTERNAL_ACCESS, "Change/updateTrustAnchor").related == (
        "View/getTrustAnchorList",
        "View/getTrustAnchorDetail",
        "View/getCAList",
        "View/getCADetail",
    )
    assert _action(EXTERNAL_ACCESS, "Change/deleteCrl").related == (
        "View/getTrustAnchorDetail",
        "View/getCrlDetail",
        "View/getCrlList",
    )
    assert _action(EXTERNAL_ACCESS, "View/getSubjectDetail").group == "Subject"


def test_disble_crl_spelling_kept():
    assert is_known_action(EXTERNAL_ACCESS, "Change/disbleCrl")
    assert not is_known_action(EXTERNAL_ACCESS, "Change/disableCrl")
    assert _action(EXTERNAL_ACCESS, "Change/disbleCrl").description == "Disable Crl"


def test_lookups():
    assert is_known_action(SUB_ACCOUNT, "View/getSubAccountDetail")
    assert not is_known_action(EXTERNAL_ACCESS, "View/getSubAccountDetail")
    assert not is_known_action(SUB_ACCOUNT, "getSubAccountDetail")
    assert not is_known_action(SUB_ACCOUNT, "view/getSubAccountDetail")
    assert not is_known_action(SUB_ACCOUNT, "Change/createTrustAnchor")
    assert get_action("Server", "View/getServerInstanceList") is None
    assert actions_for("Server") == ()
    assert _action(SUB_ACCOUNT, "View/getSubAccountDetail").key == (
        SUB_ACCOUNT,
        "View/getSubAccountDetail",
    )


# --- with_related -------------------------------------------------------------------------------------------------


def test_with_related_add_policy_to_sub_account():
    assert with_related(SUB_ACCOUNT, ["Change/addPolicyToSubAccount"]) == [
        "Change/addPolicyToSubAccount",
        "View/getSubAccountDetail",
        "View/getSubAccountList",
        "View/getPolicyList",
        "View/getPolicyDetail",
    ]


def test_with_related_is_transitive_and_dedups():
    # getSubAccountAccessKey -> getSubAccountDetail -> getSubAccountList
    assert with_related(SUB_ACCOUNT, ["View/getSubAccountAccessKey"]) == [
        "View/getSubAccountAccessKey",
        "View/getSubAccountDetail",
        "View/getSubAccountList",
    ]
    # breadth-first: getTrustAnchorList and getCrlList are only reached through the related actions' own relations
    assert with_related(EXTERNAL_ACCESS, ["Change/disbleCrl"]) == [
        "Change/disbleCrl",
        "View/getTrustAnchorDetail",
        "View/getCrlDetail",
        "View/getTrustAnchorList",
        "View/getCrlList",
    ]
    assert with_related(
        SUB_ACCOUNT,
        [
            "View/getSubAccountList",
            "View/getSubAccountDetail",
            "View/getSubAccountList",
        ],
    ) == [
        "View/getSubAccountList",
        "View/getSubAccountDetail",
    ]


def test_with_related_input_names_come_first():
    assert with_related(SUB_ACCOUNT, ["View/getGroupDetail", "Change/createSubAccount"]) == [
        "View/getGroupDetail",
        "Change/createSubAccount",
        "View/getGroupList",
        "View/getSubAccountList",
    ]


def test_with_related_patterns_and_unknown_pass_through():
    assert with_related(SUB_ACCOUNT, ["View*"]) == ["View*"]
    assert with_related(SUB_ACCOUNT, ["*", "Change*"]) == ["*", "Change*"]
    assert with_related(SUB_ACCOUNT, ["Change/nope"]) == ["Change/nope"]
    assert with_related(SUB_ACCOUNT, []) == []
    # product matters: a Sub Account action is unknown in External Access, so nothing is added
    assert with_related(EXTERNAL_ACCESS, ["Change/createSubAccount"]) == ["Change/createSubAccount"]


def test_with_related_does_not_mutate_input():
    names = ["Change/updateRole"]
    result = with_related(SUB_ACCOUNT, names)
    assert names == ["Change/updateRole"]
    assert result == ["Change/updateRole", "View/getRoleDetail", "View/getRoleList"]


def test_with_related_closure_for_every_action_stays_in_product():
    for product in PRODUCTS:
        for action in actions_for(product):
            closure = with_related(product, [action.name])
            assert closure[0] == action.name
            assert len(closure) == len(set(closure))
            assert all(is_known_action(product, name) for name in closure)


# --- condition_key_applies ---------------------------------------------------------------------------------------


def test_condition_key_applies_global_keys_everywhere():
    for action in ACTIONS:
        for key in GLOBAL_CONDITION_KEYS:
            assert condition_key_applies(action, key)


def test_condition_key_applies_principal_keys():
    action = _action(EXTERNAL_ACCESS, "View/getCAList")
    for key in PRINCIPAL_CONDITION_KEYS:
        assert condition_key_applies(action, key)
    assert not condition_key_applies(action, "ncp:resourceTag/team")
    assert not condition_key_applies(action, "ncp:requestTag/team")
    assert not condition_key_applies(action, "ncp:TagKeys")


def test_condition_key_applies_tag_prefixes():
    detail = _action(SUB_ACCOUNT, "View/getSubAccountDetail")
    assert condition_key_applies(detail, "ncp:resourceTag/team")
    assert not condition_key_applies(detail, "ncp:requestTag/team")
    assert not condition_key_applies(detail, "ncp:TagKeys")
    assert not condition_key_applies(detail, "ncp:resourceTag/")  # empty tag key
    assert not condition_key_applies(detail, "ncp:resourceTagX")

    create = _action(SUB_ACCOUNT, "Change/createSubAccount")
    assert condition_key_applies(create, "ncp:requestTag/env")
    assert condition_key_applies(create, "ncp:resourceTag/env")
    assert condition_key_applies(create, "ncp:TagKeys")

    key_create = _action(SUB_ACCOUNT, "Change/createSubAccountAccessKey")
    assert not condition_key_applies(key_create, "ncp:resourceTag/team")
    assert condition_key_applies(key_create, "ncp:principalName")


def test_condition_key_applies_case_sensitive_and_unknown():
    action = _action(SUB_ACCOUNT, "View/getSubAccountDetail")
    assert not condition_key_applies(action, "ncp:sourceip")
    assert not condition_key_applies(action, "ncp:ResourceTag/team")
    assert not condition_key_applies(action, "ncp:principalname")
    assert not condition_key_applies(action, "ncp:unknownKey")
    assert not condition_key_applies(action, "")


# --- system policies ---------------------------------------------------------------------------------------------


def test_system_policy_names_in_order():
    assert [p.name for p in SYSTEM_POLICIES] == [
        "NCP_ADMINISTRATOR",
        "NCP_INFRA_MANAGER",
        "NCP_FINANCE_MANAGER",
        "NCP_SUB_ACCOUNT_MANAGER",
        "NCP_SUB_ACCOUNT_VIEWER",
        "NCP_EXTERNAL_ACCESS_MANAGER",
        "NCP_EXTERNAL_ACCESS_VIEWER",
    ]


def test_system_policy_ids_are_stable_and_unique():
    assert [p.policy_id for p in SYSTEM_POLICIES] == [f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 8)]
    assert len({hash(p) for p in SYSTEM_POLICIES}) == 7


def test_system_policy_descriptions():
    assert get_system_policy("NCP_ADMINISTRATOR").description == "Full access to all services, same as the main account"
    assert get_system_policy("NCP_SUB_ACCOUNT_VIEWER").description == (
        "Permission to only use the view list and view feature in Sub Account"
    )
    assert get_system_policy("NCP_EXTERNAL_ACCESS_VIEWER").description == (
        "Permission to only use the view list and search function in External Access"
    )
    assert get_system_policy("NCP_NOPE") is None
    assert get_system_policy("ncp_administrator") is None


def _targets(policy_name, effect):
    policy = get_system_policy(policy_name)
    return [
        (t["product"], tuple(t["actions"]), tuple(t["resourceNrns"]))
        for s in policy.permissions
        if s["effect"] == effect
        for t in s["targets"]
    ]


def test_system_policy_permissions():
    star = ("*",)
    assert _targets("NCP_ADMINISTRATOR", "Allow") == [("*", star, star)]
    assert _targets("NCP_ADMINISTRATOR", "Deny") == []
    assert _targets("NCP_INFRA_MANAGER", "Allow") == [("*", star, star)]
    assert _targets("NCP_INFRA_MANAGER", "Deny") == [("Billing", star, star)]
    assert _targets("NCP_FINANCE_MANAGER", "Allow") == [
        ("Billing", star, star),
        ("CostExplorer", star, star),
    ]
    assert _targets("NCP_SUB_ACCOUNT_MANAGER", "Allow") == [
        (SUB_ACCOUNT, star, star),
        (EXTERNAL_ACCESS, star, star),
    ]
    assert _targets("NCP_SUB_ACCOUNT_VIEWER", "Allow") == [(SUB_ACCOUNT, ("View*",), star)]
    assert _targets("NCP_EXTERNAL_ACCESS_MANAGER", "Allow") == [(EXTERNAL_ACCESS, star, star)]
    assert _targets("NCP_EXTERNAL_ACCESS_VIEWER", "Allow") == [(EXTERNAL_ACCESS, ("View*",), star)]


def test_system_policy_statements_are_wire_format():
    for policy in SYSTEM_POLICIES:
        assert isinstance(policy.permissions, tuple) and policy.permissions
        for statement in policy.permissions:
            assert set(statement) == {
                "effect",
                "targets",
            }  # no conditions on system policies
            assert statement["effect"] in ("Allow", "Deny")
            for target in statement["targets"]:
                assert set(target) == {"product", "actions", "resourceNrns"}
                assert isinstance(target["actions"], list)
                assert target["resourceNrns"] == ["*"]


def test_system_policy_permissions_copy_is_independent():
    policy = get_system_policy("NCP_SUB_ACCOUNT_VIEWER")
    doc = policy.permissions_copy()
    doc[0]["targets"][0]["actions"].append("Change*")
    assert policy.permissions[0]["targets"][0]["actions"] == ["View*"]
