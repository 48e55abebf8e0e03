"""Sub account services: rules easier to pin down below the API (generated passwords, membership limits,
unknown fields, key limits)."""

import pytest
from django.contrib.auth.hashers import check_password

from iam.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from iam.models import AccessKey, GroupMembership, SubAccount
from iam.services import sub_accounts as services
from iam.services.groups import group_create, group_members_add
from iam.services.validation import password_problems


def _create(tenant, login_id: str = "bobby", **fields) -> SubAccount:
    fields.setdefault("can_console_access", False)
    sub, _ = services.sub_account_create(
        account=tenant.account, login_id=login_id, name=login_id[:30], email=f"{login_id}@example.com", **fields
    )
    return sub


class _Draws:
    """Stands in for iam.secrets.generate_password: returns the given candidates in turn and records the lengths."""

    def __init__(self, *candidates):
        self.candidates = list(candidates)
        self.lengths = []

    def __call__(self, length: int = 14) -> str:
        self.lengths.append(length)
        return self.candidates.pop(0)


# Generated passwords -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_generated_passwords_follow_the_rules(tenant):
    sub = _create(tenant, "abc", can_console_access=True, need_password_generate=True)
    seen = set()
    for _ in range(30):
        generated = services.sub_account_password_reset(sub_account=sub, need_password_generate=True)
        assert password_problems(generated, login_id="abc") == []
        assert check_password(generated, SubAccount.objects.get(pk=sub.pk).password)
        seen.add(generated)
    assert len(seen) == 30


@pytest.mark.django_db
def test_a_generated_password_containing_the_login_id_is_drawn_again(tenant, monkeypatch):
    draws = _Draws("xBoBBy1!abcdefg", "Good1!Password")
    monkeypatch.setattr(services, "generate_password", draws)
    sub, generated = services.sub_account_create(
        account=tenant.account, login_id="bobby", name="Bobby", email="bobby@example.com", need_password_generate=True
    )
    assert generated == "Good1!Password"
    assert draws.lengths == [14, 14]
    assert check_password("Good1!Password", sub.password)
    assert not check_password("xBoBBy1!abcdefg", sub.password)

    draws = _Draws("pre-bobby-9!A", "Other2@Password")
    monkeypatch.setattr(services, "generate_password", draws)
    assert services.sub_account_password_reset(sub_account=sub, need_password_generate=True) == "Other2@Password"
    assert check_password("Other2@Password", SubAccount.objects.get(pk=sub.pk).password)


@pytest.mark.django_db
@pytest.mark.parametrize("min_length", [8, 14, 15, 16])
def test_generated_passwords_meet_the_accounts_minimum_length(tenant, min_length):
    tenant.account.password_min_length = min_length
    tenant.account.save()
    sub, generated = services.sub_account_create(
        account=tenant.account, login_id="bobby", name="Bobby", email="bobby@example.com", need_password_generate=True
    )
    assert max(14, min_length) == len(generated)
    assert password_problems(generated, min_length=min_length, login_id="bobby") == []
    reset = services.sub_account_password_reset(sub_account=sub, need_password_generate=True)
    assert len(reset) == max(14, min_length)


@pytest.mark.django_db
def test_a_given_password_is_hashed_and_does_not_force_a_reset(tenant):
    sub = _create(tenant, can_console_access=True, password="Str0ng!Pass")
    assert sub.password != "Str0ng!Pass" and check_password("Str0ng!Pass", sub.password)
    assert sub.need_password_reset is False
    assert (
        services.sub_account_password_reset(sub_account=sub, need_password_generate=False, new_password="N3w!Pass")
        is None
    )
    assert check_password("N3w!Pass", SubAccount.objects.get(pk=sub.pk).password)


# Create and update rules -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_refuses_unknown_fields(tenant):
    with pytest.raises(InvalidInput) as caught:
        _create(tenant, mfa_secret_encrypted="x", sub_account_no=5)
    assert "mfa_secret_encrypted" in caught.value.message and "sub_account_no" in caught.value.message
    assert not SubAccount.objects.exists()


@pytest.mark.django_db
def test_update_refuses_unknown_fields_and_changes_nothing(tenant):
    sub = _create(tenant)
    with pytest.raises(InvalidInput) as caught:
        services.sub_account_update(sub_account=sub, login_id="renamed", name="Fine")
    assert "login_id" in caught.value.message
    assert SubAccount.objects.get(pk=sub.pk).login_id == "bobby"
    assert SubAccount.objects.get(pk=sub.pk).name == "bobby"


@pytest.mark.django_db
def test_update_normalizes_sources(tenant):
    sub = _create(tenant)
    updated = services.sub_account_update(
        sub_account=sub,
        console_permit_ips=["10.1.2.3/8", "::1"],
        api_allow_sources=[{"type": "IP", "source": "192.168.0.1/16"}, {"type": "VPC_SERVER", "source": "77"}],
    )
    row = SubAccount.objects.get(pk=sub.pk)
    assert row.console_permit_ips == updated.console_permit_ips == ["10.0.0.0/8", "::1"]
    assert row.api_allow_sources == [{"type": "IP", "source": "192.168.0.0/16"}, {"type": "VPC_SERVER", "source": "77"}]


@pytest.mark.django_db
def test_create_limit_counts_only_the_accounts_own_sub_accounts(tenant, other_tenant, settings):
    settings.IAM_MAX_SUB_ACCOUNTS = 2
    _create(other_tenant, "theirs1")
    _create(other_tenant, "theirs2")
    _create(tenant, "one")
    _create(tenant, "two")
    with pytest.raises(QuotaExceeded) as caught:
        _create(tenant, "three")
    assert caught.value.status == 409 and caught.value.error_code == 9012
    assert SubAccount.objects.for_account(tenant.account).count() == 2


@pytest.mark.django_db
def test_a_taken_login_id_is_a_conflict_regardless_of_case(tenant):
    _create(tenant, "Bobby")
    with pytest.raises(Conflict) as caught:
        _create(tenant, "BOBBY")
    assert caught.value.field_errors == [("loginId", "already in use in this account")]
    assert SubAccount.objects.count() == 1


@pytest.mark.django_db
def test_login_id_problem(tenant, other_tenant):
    _create(tenant, "Taken")
    _create(other_tenant, "elsewhere")
    assert services.login_id_problem(account=tenant.account, login_id="free") is None
    assert services.login_id_problem(account=tenant.account, login_id="elsewhere") is None
    assert services.login_id_problem(account=tenant.account, login_id="tAkEn") == "already in use in this account"
    for bad in ("ab", "9lives", "a" * 61, "with space", None, 123):
        assert "starting with a letter" in services.login_id_problem(account=tenant.account, login_id=bad)


@pytest.mark.django_db
def test_suspend_and_reactivate(tenant):
    sub = _create(tenant)
    assert services.sub_account_set_active(sub_account=sub, active=False).active is False
    assert SubAccount.objects.get(pk=sub.pk).active is False
    services.sub_account_set_active(sub_account=sub, active=True)
    assert SubAccount.objects.get(pk=sub.pk).active is True


@pytest.mark.django_db
def test_mfa_reset_clears_only_that_sub_account(tenant):
    sub = _create(tenant, "one")
    other = _create(tenant, "two")
    SubAccount.objects.update(mfa_secret_encrypted="secret")
    assert services.sub_account_mfa_reset(sub_account=sub).has_mfa is False
    assert SubAccount.objects.get(pk=sub.pk).mfa_secret_encrypted == ""
    assert SubAccount.objects.get(pk=other.pk).mfa_secret_encrypted == "secret"


# Group memberships -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_memberships_add_counts_only_new_groups(tenant, settings):
    settings.IAM_MAX_GROUPS_PER_SUB_ACCOUNT = 2
    sub = _create(tenant)
    g1, g2, g3 = (group_create(account=tenant.account, name=n) for n in ("alpha", "beta", "gamma"))
    assert services.memberships_add(account=tenant.account, sub_accounts=[sub], groups=[g1, g2]) == 2
    assert services.memberships_add(account=tenant.account, sub_accounts=[sub], groups=[g1, g2]) == 0
    with pytest.raises(QuotaExceeded) as caught:
        services.memberships_add(account=tenant.account, sub_accounts=[sub], groups=[g3])
    assert "2 groups" in caught.value.message and "bobby" in caught.value.message
    assert set(GroupMembership.objects.filter(sub_account=sub).values_list("group__name", flat=True)) == {
        "alpha",
        "beta",
    }


@pytest.mark.django_db
def test_one_sub_account_at_its_limit_stops_the_whole_group_add(tenant, settings):
    settings.IAM_MAX_GROUPS_PER_SUB_ACCOUNT = 2
    free = _create(tenant, "free")
    full = _create(tenant, "full")
    g1, g2, g3 = (group_create(account=tenant.account, name=n) for n in ("alpha", "beta", "gamma"))
    services.sub_account_groups_add(sub_account=full, group_ids=[str(g1.group_id), str(g2.group_id)])
    with pytest.raises(QuotaExceeded):
        group_members_add(group=g3, sub_account_ids=[str(free.sub_account_id), str(full.sub_account_id)])
    assert not GroupMembership.objects.filter(group=g3).exists()
    assert not GroupMembership.objects.filter(sub_account=free).exists()


@pytest.mark.django_db
def test_groups_add_treats_spellings_of_one_id_as_one_group(tenant):
    sub = _create(tenant)
    group = group_create(account=tenant.account, name="alpha")
    gid = str(group.group_id)
    added = services.sub_account_groups_add(sub_account=sub, group_ids=[gid, gid.upper(), gid.replace("-", "")])
    assert added == 1
    assert list(GroupMembership.objects.filter(sub_account=sub).values_list("group_id", flat=True)) == [group.pk]


@pytest.mark.django_db
def test_groups_add_and_remove_name_every_missing_group(tenant, other_tenant):
    sub = _create(tenant)
    mine = group_create(account=tenant.account, name="mine")
    theirs = group_create(account=other_tenant.account, name="theirs")
    ids = [str(mine.group_id), str(theirs.group_id), "00000000-0000-4000-8000-0000000000ff"]
    for service in (services.sub_account_groups_add, services.sub_account_groups_remove):
        with pytest.raises(NotFound) as caught:
            service(sub_account=sub, group_ids=ids)
        assert [m for _, m in caught.value.field_errors] == [f"no such group: {i}" for i in ids[1:]]
    assert not GroupMembership.objects.exists()
    with pytest.raises(InvalidInput):
        services.sub_account_groups_add(sub_account=sub, group_ids=[])


# Access keys -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_access_key_limit_and_state(tenant, settings):
    sub = _create(tenant, can_api_gateway_access=True)
    first, secret = services.access_key_create(sub_account=sub)
    assert first.access_key.startswith("ncp_iam_") and first.secret_encrypted != secret
    services.access_key_create(sub_account=sub)
    with pytest.raises(QuotaExceeded):
        services.access_key_create(sub_account=sub)
    assert AccessKey.objects.filter(sub_account=sub).count() == 2

    with pytest.raises(InvalidInput):
        services.access_key_set_active(sub_account=sub, access_key=first.access_key, active="no")
    services.access_key_set_active(sub_account=sub, access_key=first.access_key, active=False)
    assert AccessKey.objects.get(pk=first.pk).active is False

    other = _create(tenant, "other")
    with pytest.raises(NotFound):
        services.access_key_delete(sub_account=other, access_key=first.access_key)
    with pytest.raises(InvalidInput):
        services.access_key_delete(sub_account=sub, access_key=None)
    services.access_key_delete(sub_account=sub, access_key=first.access_key)
    assert not AccessKey.objects.filter(pk=first.pk).exists()
