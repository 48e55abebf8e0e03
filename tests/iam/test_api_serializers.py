"""Read serializers whose fields are built once per class answer exactly what DRF's per-instance fields answer."""

import json

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from iam.api import serializers as s
from iam.models import AuditEvent, Group, Policy, Role, SubAccount
from iam.services.groups import group_create, group_members_add
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from iam.services.sub_accounts import access_key_create, sub_account_create

ADMINISTRATOR = "00000000-0000-4000-8000-000000000001"
BUILT_ONCE = [
    s.SubAccountSerializer,
    s.SubAccountDetailSerializer,
    s.GroupSerializer,
    s.GroupDetailSerializer,
    s.PolicySerializer,
    s.PolicyDetailSerializer,
    s.RoleSerializer,
    s.RoleDetailSerializer,
    s.AccessKeySerializer,
    s.AuditEventSerializer,
]


def drf_built(serializer_class):
    """The same serializer with the fields DRF builds (and deep-copies) for every instance, walks for every row and
    asks for each value (DRF's own Serializer.to_representation)."""

    def get_fields(self):
        return super(s.FieldsBuiltOnce, self).get_fields()

    overrides = {
        "get_fields": get_fields,
        "_readable_fields": serializers.Serializer._readable_fields,
        "to_representation": serializers.Serializer.to_representation,
    }
    return type(f"DrfBuilt{serializer_class.__name__}", (serializer_class,), overrides)


def _same_json(serializer_class, rows, context) -> bytes:
    ours = JSONRenderer().render(serializer_class(rows, many=True, context=context).data)
    theirs = JSONRenderer().render(drf_built(serializer_class)(rows, many=True, context=context).data)
    assert ours == theirs
    return ours


@pytest.fixture
def varied(tenant, api):
    """Rows with every kind of value: tags, IP lists, allowed sources, groups, policies, null and set times."""
    account = tenant.account
    plain, _ = sub_account_create(
        account=account, login_id="plain", name="Plain", email="p@example.com", can_console_access=False
    )
    rich, _ = sub_account_create(
        account=account,
        login_id="rich.user",
        name="Rich",
        email="r@example.com",
        memo="memo",
        can_console_access=True,
        need_password_generate=True,
        use_console_permit_ip=True,
        console_permit_ips=["10.0.0.1", "192.168.1.7/24"],
        use_api_allow_source=True,
        api_allow_sources=[{"type": "IP", "source": "10.1.2.3"}, {"type": "VPC", "source": "1234"}],
        tags={"team": "infra", "env": ""},
    )
    SubAccount.objects.filter(pk=rich.pk).update(last_login_time=timezone.now(), active=False)
    access_key_create(sub_account=rich)
    group = group_create(account=account, name="ops", description="on call", tags={"k": "v"})
    group_create(account=account, name="bare")
    group_members_add(group=group, sub_account_ids=[str(rich.sub_account_id), str(plain.sub_account_id)])
    policy = policy_create(
        account=account,
        name="readers",
        description="reads",
        tags={"x": "y"},
        permissions=[
            {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View*"], "resourceNrns": ["*"]}]}
        ],
    )
    role = role_create(
        account=account, name="deployer", role_type="Account", session_expiration_sec=3600, tags={"a": "1"}
    )
    role_create(account=account, name="server-role", role_type="Server")
    for target in (rich, group, role):
        policies_attach(target=target, policy_ids=[policy.policy_id, ADMINISTRATOR])
    api.call("POST", "/api/v1/groups", {"groupName": "audited"}, creds=tenant.root)  # an audit event
    return account


@pytest.mark.django_db
def test_list_and_detail_shapes_match_drfs_own_fields(varied):
    context = {"member_no": varied.member_no}
    subs = list(SubAccount.objects.for_account(varied).prefetch_related("groups", "policy_attachments__policy"))
    groups = list(Group.objects.for_account(varied).prefetch_related("members", "policy_attachments__policy"))
    policies = list(Policy.objects.for_account(varied))
    roles = list(Role.objects.for_account(varied).prefetch_related("policy_attachments__policy"))
    cases = [
        (s.SubAccountSerializer, subs),
        (s.SubAccountDetailSerializer, subs),
        (s.GroupSerializer, groups),
        (s.GroupDetailSerializer, groups),
        (s.PolicySerializer, policies),
        (s.PolicyDetailSerializer, policies),
        (s.RoleSerializer, roles),
        (s.RoleDetailSerializer, roles),
        (s.AccessKeySerializer, list(subs[1].access_keys.all())),
        (s.AuditEventSerializer, list(AuditEvent.objects.for_account(varied))),
    ]
    assert {c for c, _ in cases} == set(BUILT_ONCE)
    for serializer_class, rows in cases:
        assert rows, serializer_class
        for _ in range(2):  # the first instance builds the templates, the second uses them
            _same_json(serializer_class, rows, context)
        assert _same_json(serializer_class, [], context) == b"[]"
    rich = next(i for i in json.loads(_same_json(s.SubAccountDetailSerializer, subs, context)) if i["tags"])
    assert rich["tags"] == {"team": "infra", "env": ""} and rich["groups"][0]["groupName"] == "ops"  # varied rows


@pytest.mark.django_db
def test_each_serializer_binds_its_own_fields_and_context(varied):
    policy = Policy.objects.for_account(varied).get(name="readers")
    first = s.PolicySerializer(policy, context={"member_no": 1})
    second = s.PolicySerializer(policy, context={"member_no": 2})
    assert first.data["nrn"] == f"nrn:PUB:IAM::1:Policy/{policy.policy_id}"
    assert second.data["nrn"] == f"nrn:PUB:IAM::2:Policy/{policy.policy_id}"
    assert s.PolicySerializer(policy, context={"member_no": 1}).data["nrn"] == first.data["nrn"]
    assert first.fields["nrn"] is not second.fields["nrn"]
    assert first.fields["nrn"].parent is first and second.fields["nrn"].parent is second
    assert first._readable_fields == list(first.fields.values())  # a read shape has no write-only field
    templates = s.PolicySerializer.__dict__["_fields_built_once"]
    assert all(getattr(t, "parent", None) is None for t in templates.values())  # the templates stay unbound
    # A nested serializer is copied whole: its context is its own serializer's.
    sub = SubAccount.objects.for_account(varied).get(login_id="rich.user")
    nested = s.SubAccountSerializer(sub, context={"member_no": 7}).fields["apiAllowSources"]
    assert nested.child.context == {"member_no": 7}


@pytest.mark.django_db
def test_the_representation_plan_answers_what_drfs_fields_answer_for_odd_values(varied, settings):
    """Each field's value read and converted without DRF's per-value indirections, byte for byte the same JSON as
    DRF's own Serializer.to_representation: nulls, unicode, JSON columns holding what the API never writes (numbers
    and nulls in lists and tags, a list where tags belong), times with microseconds or far in the future, another
    current time zone and another DATETIME_FORMAT."""
    account = varied
    odd, _ = sub_account_create(
        account=account,
        login_id="odd.user",
        name="Ünïcødé 名前 ✓",
        email="ü@例え.jp",
        memo='"quote" \\ \n\t\u2028',
        can_console_access=False,
    )
    far = timezone.now().replace(year=9999, month=12, day=31, hour=20, microsecond=999_999)
    SubAccount.objects.filter(pk=odd.pk).update(
        console_permit_ips=["10.0.0.1", 7, None, {"a": 1}],
        tags={"키": "값", "n": 1, "none": None, "emoji": "🙂"},
        last_login_time=far,
        mfa_secret_encrypted="x",
    )
    weird, _ = sub_account_create(
        account=account, login_id="weird.user", name="Weird", email="w@example.com", can_console_access=False
    )
    SubAccount.objects.filter(pk=weird.pk).update(console_permit_ips="abc", tags={}, memo="")
    context = {"member_no": account.member_no}
    subs = list(SubAccount.objects.for_account(account).prefetch_related("groups", "policy_attachments__policy"))
    assert len(subs) >= 4
    for serializer_class in (s.SubAccountSerializer, s.SubAccountDetailSerializer):
        body = json.loads(_same_json(serializer_class, subs, context))
        row = next(r for r in body if r["loginId"] == "odd.user")
        assert row["tags"] == {"키": "값", "n": "1", "none": None, "emoji": "🙂"}
        assert row["consolePermitIps"] == ["10.0.0.1", "7", None, "{'a': 1}"]
        assert row["lastLoginTime"] == "9999-12-31T" + far.strftime("%H:%M:%S") + "Z" and row["hasMfa"] is True
        assert next(r for r in body if r["loginId"] == "weird.user")["consolePermitIps"] == ["a", "b", "c"]
    with timezone.override("Asia/Seoul"):  # 9999-12-31T23:59 UTC is past the calendar there: both refuse
        with pytest.raises(serializers.ValidationError) as ours:
            s.SubAccountSerializer(subs, many=True, context=context).data  # noqa: B018
        with pytest.raises(serializers.ValidationError) as theirs:
            drf_built(s.SubAccountSerializer)(subs, many=True, context=context).data  # noqa: B018
        assert ours.value.detail == theirs.value.detail
        for sub in subs:
            sub.last_login_time = sub.last_login_time and sub.last_login_time.replace(year=2999)
        seoul = json.loads(_same_json(s.SubAccountSerializer, subs, context))
        assert next(r for r in seoul if r["loginId"] == "odd.user")["lastLoginTime"][:11] == "3000-01-01T"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": "iso-8601"}
    iso = json.loads(_same_json(s.SubAccountSerializer, subs, context))
    assert iso[0]["createTime"].endswith("Z") and "." in iso[0]["createTime"]  # microseconds: the ISO branch ran
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": None}
    _same_json(s.SubAccountSerializer, subs, context)


@pytest.mark.django_db
def test_a_value_drf_cannot_represent_fails_the_same_way(varied):
    """What DRF refuses (an allowed source without its type) still goes through DRF's field, so it fails as before."""
    sub = SubAccount.objects.for_account(varied).get(login_id="rich.user")
    SubAccount.objects.filter(pk=sub.pk).update(api_allow_sources=[{"source": "10.0.0.1"}])
    sub.refresh_from_db()
    with pytest.raises(KeyError) as ours:
        s.SubAccountSerializer(sub).data  # noqa: B018
    with pytest.raises(KeyError) as theirs:
        drf_built(s.SubAccountSerializer)(sub).data  # noqa: B018
    assert str(ours.value) == str(theirs.value)
