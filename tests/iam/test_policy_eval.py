"""Action patterns (the engine's decisions are tested in test_engine.py and test_conditions.py)."""

import pytest

from iam.policy.request import action_matches


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", "View/getSubAccountList", True),
        ("*", "Change/createPolicy", True),
        ("View*", "View/getSubAccountList", True),
        ("View*", "Change/createPolicy", False),
        ("Change*", "Change/createPolicy", True),
        ("Change*", "View/getPolicyList", False),
        ("View/getSubAccountList", "View/getSubAccountList", True),
        ("View/getSubAccountList", "View/getSubAccountDetail", False),
        ("view/getSubAccountList", "View/getSubAccountList", False),
    ],
)
def test_action_patterns(pattern, action, expected):
    assert action_matches(pattern, action) is expected
