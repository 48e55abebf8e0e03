"""Selectors: the key a signed call names, read as the ORM would read it."""

import pytest

from iam.models import AccessKey
from iam.selectors import access_key_for_signature
from iam.services.roles import role_create
from sts.services import role_session_issue
from tests.conftest import make_sub_account

RELATIONS = ("account", "sub_account", "role")


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _same_as_the_orm(access_key: str, django_assert_num_queries) -> AccessKey:
    expected = AccessKey.objects.select_related(*RELATIONS).get(access_key=access_key)
    with django_assert_num_queries(1):
        key = access_key_for_signature(access_key)
        related = {name: getattr(key, name) for name in RELATIONS}  # loaded with the key: no more queries
    assert _values(key) == _values(expected)
    for name in RELATIONS:
        wanted = getattr(expected, name)
        if wanted is None:
            assert related[name] is None, name
        else:
            assert type(related[name]) is type(wanted) and _values(related[name]) == _values(wanted), name
    assert key._state.adding is False and key._state.db == "default"
    return key


def test_a_root_key_comes_with_its_account(tenant, django_assert_num_queries):
    key = _same_as_the_orm(tenant.root.access_key, django_assert_num_queries)
    assert key.kind == AccessKey.ROOT and key.sub_account is None and key.role is None
    assert key.account.authz_version == tenant.account.authz_version


def test_a_sub_account_key_comes_with_its_sub_account(tenant, django_assert_num_queries):
    sub, creds = make_sub_account(
        tenant, "reader", actions=["View/getSubAccountList"], use_api_allow_source=True,
        api_allow_sources=[{"type": "IP", "source": "10.0.0.0/8"}],
    )  # fmt: skip
    key = _same_as_the_orm(creds.access_key, django_assert_num_queries)
    assert key.sub_account.sub_account_id == sub.sub_account_id
    assert key.sub_account.api_allow_sources == [{"type": "IP", "source": "10.0.0.0/8"}]  # JSON decoded
    assert key.create_time.tzinfo is not None and isinstance(key.active, bool)


def test_a_role_session_key_comes_with_its_role_and_sub_account(tenant, django_assert_num_queries):
    sub, _ = make_sub_account(tenant, "switcher")
    role = role_create(account=tenant.account, name="operator", role_type="Account", tags={"team": "ops"})
    session, _ = role_session_issue(
        role=role,
        source_identity_type="SubAccount",
        source_identity_id=str(sub.sub_account_id),
        duration_sec=3600,
        sub_account=sub,
        mfa_present=True,
    )
    key = _same_as_the_orm(session.access_key, django_assert_num_queries)
    assert key.role.role_no == role.role_no and key.role.tags == {"team": "ops"}
    assert key.sub_account.pk == sub.pk and key.mfa_present is True and key.expire_time is not None


@pytest.mark.django_db
def test_an_unknown_key_is_none(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert access_key_for_signature("NO-SUCH-KEY") is None
