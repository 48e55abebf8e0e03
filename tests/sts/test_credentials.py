"""STS: temporary keys of sub accounts and role sessions, through the signed API and the same authorization engine."""

from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone

from iam.gateway.authentication import REFUSED
from iam.models import AccessKey, AuditEvent, SubAccount
from iam.secrets import encrypt_secret
from iam.services.policies import policies_attach, policies_detach, policy_create
from iam.services.roles import role_create, role_delete, role_update
from iam.services.sub_accounts import sub_account_set_active
from sts.services import expired_temporary_keys_delete
from sts.tasks import expired_temporary_keys_purge
from tests.conftest import Credentials, make_sub_account
from tests.documents import policy_doc

pytestmark = pytest.mark.django_db

STS = "View/getStsSessionToken"


def _policy(tenant, name, actions, **kwargs):
    return policy_create(account=tenant.account, name=name, permissions=policy_doc(actions, **kwargs))


def _role(tenant, name="ops-role", actions=("View/getSubAccountList",), role_type="Account", **kwargs):
    if role_type == "Account":
        kwargs.setdefault("session_expiration_sec", 3600)
    role = role_create(account=tenant.account, name=name, role_type=role_type, **kwargs)
    if actions:
        policies_attach(target=role, policy_ids=[_policy(tenant, f"{name}-p", actions).policy_id])
    return role


def _role_nrn(tenant, role) -> str:
    return f"nrn:PUB:IAM::{tenant.account.member_no}:Role/{role.role_no}"


def _switcher(tenant, role, login_id="switcher", extra=()):
    """A sub account that may obtain keys and switch to ``role``."""
    policy = _policy(tenant, f"sw-{login_id}"[:30], ["Change/switchRole"], resources=[_role_nrn(tenant, role)])
    return make_sub_account(tenant, login_id, actions=[STS, *extra], policy_ids=[policy.policy_id])


def _obtain(api, creds, **body):
    return api.call("POST", "/api/v1/credentials", body, creds=creds)


def _creds(response) -> Credentials:
    assert response.status_code == 200, response.json()
    return Credentials(response.json()["accessKey"], response.json()["keySecret"])


# Sub account temporary keys -----------------------------------------------------------------------------------


def test_sub_account_obtains_a_temporary_key_that_signs_like_its_own(api, tenant):
    sub, creds = make_sub_account(tenant, "tempuser", actions=[STS, "View/getSubAccountList"])
    response = _obtain(api, creds, durationSec=900)
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"accessKey", "keySecret", "createTime", "expireTime", "useMfa"}
    assert body["accessKey"].startswith("ncp_iam_") and body["useMfa"] is False
    key = AccessKey.objects.get(access_key=body["accessKey"])
    assert key.kind == AccessKey.TEMPORARY and key.sub_account_id == sub.pk and key.role_id is None
    assert timedelta(seconds=895) < key.expire_time - key.create_time <= timedelta(seconds=901)

    temp = _creds(response)
    assert api.call("GET", "/api/v1/sub-accounts", creds=temp).status_code == 200
    # Same policies as the sub account: what it may not do, its temporary key may not do either.
    denied = api.call("POST", "/api/v1/groups", {"groupName": "nope"}, creds=temp)
    assert denied.status_code == 401 and denied.json()["error"]["errorCode"] == "210"
    described = api.call("GET", "/api/v1/credentials", creds=temp).json()
    assert described["keyType"] == "TEMPORARY" and described["principalType"] == "SubAccount"
    assert described["principalNrn"].endswith(f"SubAccount/{sub.sub_account_id}")
    assert "keySecret" not in described and temp.secret not in str(described)


def test_default_duration_is_an_hour_and_the_key_stops_at_expire_time(api, tenant):
    _, creds = make_sub_account(tenant, "expiring", actions=[STS, "View/getSubAccountList"])
    temp = _creds(_obtain(api, creds))
    key = AccessKey.objects.get(access_key=temp.access_key)
    assert timedelta(seconds=3595) < key.expire_time - key.create_time <= timedelta(seconds=3601)
    AccessKey.objects.filter(pk=key.pk).update(expire_time=timezone.now() - timedelta(seconds=1))
    response = api.call("GET", "/api/v1/sub-accounts", creds=temp)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == "access key has expired"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"durationSec": 599}, "durationSec"),
        ({"durationSec": 43_201}, "durationSec"),
        ({"durationSec": "soon"}, "durationSec"),
        ({"tokenCode": "123456"}, "serialNumber"),
        ({"serialNumber": "mfa-1"}, "tokenCode"),
        ({"serialNumber": "mfa-1", "tokenCode": "123456"}, "serialNumber"),  # no MFA device
        ({"roleNrn": "not-an-nrn"}, "roleNrn"),
        ({"roleNrn": "nrn:PUB:IAM::2942:Group/x"}, "roleNrn"),
    ],
)
def test_bad_requests_name_the_field_and_issue_nothing(api, tenant, body, field):
    _, creds = make_sub_account(
        tenant, "badreq", actions=[STS], policy_ids=[_policy(tenant, "anyswitch", ["Change/switchRole"]).policy_id]
    )
    before = AccessKey.objects.count()
    response = _obtain(api, creds, **body)
    assert response.status_code == 400, response.json()
    assert field in [e["field"] for e in response.json()["fieldErrors"]]
    assert AccessKey.objects.count() == before


def test_main_account_key_cannot_obtain_temporary_keys(api, tenant):
    response = _obtain(api, tenant.root)
    assert response.status_code == 400
    assert response.json()["fieldErrors"][0]["field"] == "accessKey"
    assert not AccessKey.objects.filter(kind=AccessKey.TEMPORARY).exists()


def test_obtaining_a_key_needs_the_sts_action(api, tenant, no_policy_user):
    _, creds = no_policy_user
    response = _obtain(api, creds)
    assert response.status_code == 401 and response.json()["error"]["errorCode"] == "210"
    assert not AccessKey.objects.filter(kind=AccessKey.TEMPORARY).exists()
    assert AuditEvent.objects.filter(action=f"SubAccount:{STS}", result=AuditEvent.DENIED).exists()


def test_valid_mfa_code_marks_the_key_and_the_condition_key(api, tenant):
    secret = pyotp.random_base32()
    mfa_only = _policy(
        tenant, "mfa-only", ["View/getGroupList"], condition={"Bool": {"ncp:MultiFactorAuthPresent": ["true"]}}
    )
    sub, creds = make_sub_account(tenant, "mfauser", actions=[STS], policy_ids=[mfa_only.policy_id])
    SubAccount.objects.filter(pk=sub.pk).update(mfa_secret_encrypted=encrypt_secret(secret))
    assert api.call("GET", "/api/v1/groups", creds=creds).status_code == 401

    device = f"nrn:PUB:IAM::{tenant.account.member_no}:MfaDevice/{sub.sub_account_id}"
    wrong = _obtain(api, creds, serialNumber=device, tokenCode=_wrong_code(secret))
    assert wrong.status_code == 400 and wrong.json()["fieldErrors"][0]["field"] == "tokenCode"
    failed = AuditEvent.objects.get(action=f"SubAccount:{STS}", result=AuditEvent.FAILED)
    assert failed.detail["reason"] == "MFA: tokenCode does not match the MFA device"
    other_device = _obtain(api, creds, serialNumber="mfa-device", tokenCode=pyotp.TOTP(secret).now())
    assert other_device.status_code == 400 and other_device.json()["fieldErrors"][0]["field"] == "serialNumber"

    response = _obtain(api, creds, serialNumber=device, tokenCode=pyotp.TOTP(secret).now())
    assert response.json()["useMfa"] is True
    temp = _creds(response)
    assert api.call("GET", "/api/v1/groups", creds=temp).status_code == 200
    assert api.call("GET", "/api/v1/credentials", creds=temp).json()["useMfa"] is True
    assert AccessKey.objects.filter(kind=AccessKey.TEMPORARY).count() == 1


def _wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    valid = {totp.at(now + timedelta(seconds=offset)) for offset in (-30, 0, 30)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def _mfa_user(tenant, login_id):
    secret = pyotp.random_base32()
    sub, creds = make_sub_account(tenant, login_id, actions=[STS])
    SubAccount.objects.filter(pk=sub.pk).update(mfa_secret_encrypted=encrypt_secret(secret))
    return secret, f"nrn:PUB:IAM::{tenant.account.member_no}:MfaDevice/{sub.sub_account_id}", creds


def test_an_mfa_code_is_accepted_once(api, tenant):
    secret, device, creds = _mfa_user(tenant, "replayer")
    code = pyotp.TOTP(secret).now()
    assert _obtain(api, creds, serialNumber=device, tokenCode=code).status_code == 200
    replay = _obtain(api, creds, serialNumber=device, tokenCode=code)
    assert replay.status_code == 400
    assert replay.json()["fieldErrors"] == [
        {"field": "tokenCode", "message": "has already been used: wait for the next code"}
    ]
    assert AccessKey.objects.filter(kind=AccessKey.TEMPORARY).count() == 1


def test_wrong_mfa_codes_in_a_row_lock_the_device(api, tenant, settings):
    settings.IAM_MFA_MAX_FAILURES = 3
    secret, device, creds = _mfa_user(tenant, "guesser")
    for _ in range(3):
        assert _obtain(api, creds, serialNumber=device, tokenCode=_wrong_code(secret)).status_code == 400
    locked = _obtain(api, creds, serialNumber=device, tokenCode=pyotp.TOTP(secret).now())
    assert locked.status_code == 400
    assert locked.json()["fieldErrors"][0]["message"] == "too many wrong codes: try again later"
    assert not AccessKey.objects.filter(kind=AccessKey.TEMPORARY).exists()
    assert AuditEvent.objects.filter(action=f"SubAccount:{STS}", result=AuditEvent.FAILED).count() == 4
    SubAccount.objects.filter(login_id="guesser").update(mfa_locked_until=timezone.now() - timedelta(seconds=1))
    assert _obtain(api, creds, serialNumber=device, tokenCode=pyotp.TOTP(secret).now()).status_code == 200


def test_a_token_code_sent_as_an_integer_keeps_its_leading_zeros(api, tenant, monkeypatch):
    secret, device, creds = _mfa_user(tenant, "intcode")
    monkeypatch.setattr(pyotp.TOTP, "generate_otp", lambda self, step: "012345")
    response = _obtain(api, creds, serialNumber=device, tokenCode=12345)
    assert response.status_code == 200 and response.json()["useMfa"] is True


def test_get_credentials_shows_the_mfa_device_serial_number(api, tenant):
    _, device, creds = _mfa_user(tenant, "serialview")
    assert api.call("GET", "/api/v1/credentials", creds=creds).json()["mfaSerialNumber"] == device


def test_a_temporary_key_cannot_outlive_the_key_that_obtained_it(api, tenant):
    _, creds = make_sub_account(tenant, "chain", actions=[STS])
    first = _creds(_obtain(api, creds, durationSec=600))
    second = _creds(_obtain(api, first, durationSec=43_200))
    first_key = AccessKey.objects.get(access_key=first.access_key)
    assert AccessKey.objects.get(access_key=second.access_key).expire_time <= first_key.expire_time


def test_live_temporary_keys_are_limited(api, tenant, settings):
    settings.IAM_MAX_TEMPORARY_KEYS_PER_SUB_ACCOUNT = 2
    _, creds = make_sub_account(tenant, "greedy", actions=[STS])
    _creds(_obtain(api, creds))
    _creds(_obtain(api, creds))
    response = _obtain(api, creds)
    assert response.status_code == 409 and response.json()["errorCode"] == 9012
    assert AccessKey.objects.filter(kind=AccessKey.TEMPORARY).count() == 2


def test_temporary_keys_are_not_listed_or_counted_as_the_sub_accounts_keys(api, tenant):
    sub, creds = make_sub_account(tenant, "lister", actions=[STS])
    _creds(_obtain(api, creds))
    listed = api.call("GET", f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys", creds=tenant.root).json()
    assert [k["accessKey"] for k in listed] == [creds.access_key]
    # The permanent-key limit (2) still leaves room for one more permanent key.
    created = api.call("POST", f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys", creds=tenant.root)
    assert created.status_code == 200


def test_suspending_the_sub_account_ends_its_temporary_keys_for_good(api, tenant):
    sub, creds = make_sub_account(tenant, "suspended", actions=[STS, "View/getSubAccountList"])
    temp = _creds(_obtain(api, creds))
    sub_account_set_active(sub_account=sub, active=False)
    response = api.call("GET", "/api/v1/sub-accounts", creds=temp)
    assert response.status_code == 401 and response.json()["error"]["details"] == "access key is disabled"
    sub_account_set_active(sub_account=sub, active=True)
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 200  # its own key works again
    assert api.call("GET", "/api/v1/sub-accounts", creds=temp).status_code == 401  # the temporary one never does


def test_a_sub_account_suspended_behind_the_services_back_is_still_refused(api, tenant):
    sub, creds = make_sub_account(tenant, "rawsuspend", actions=[STS, "View/getSubAccountList"])
    temp = _creds(_obtain(api, creds))
    SubAccount.objects.filter(pk=sub.pk).update(active=False)
    response = api.call("GET", "/api/v1/sub-accounts", creds=temp)
    assert response.status_code == 401 and response.json()["error"]["details"] == "sub account is suspended"


def test_disabling_or_deleting_the_key_that_obtained_a_temporary_key_ends_it(api, tenant):
    sub, creds = make_sub_account(tenant, "parent", actions=[STS, "View/getSubAccountList"])
    child = _creds(_obtain(api, creds))
    grandchild = _creds(_obtain(api, child))
    uri = f"/api/v1/sub-accounts/{sub.sub_account_id}/access-keys"
    assert api.call("PUT", uri, {"accessKey": creds.access_key, "active": False}, creds=tenant.root).status_code == 200
    assert api.call("PUT", uri, {"accessKey": creds.access_key, "active": True}, creds=tenant.root).status_code == 200
    for ended in (child, grandchild):
        response = api.call("GET", "/api/v1/sub-accounts", creds=ended)
        assert response.status_code == 401 and response.json()["error"]["details"] == "access key is disabled"
    assert api.call("GET", "/api/v1/sub-accounts", creds=creds).status_code == 200

    another = _creds(_obtain(api, creds))
    assert api.call("DELETE", uri, {"accessKey": creds.access_key}, creds=tenant.root).status_code == 200
    assert not AccessKey.objects.filter(access_key=another.access_key).exists()


def test_issuing_is_audited_without_the_secret(api, tenant):
    sub, creds = make_sub_account(tenant, "audited", actions=[STS])
    temp = _creds(_obtain(api, creds))
    event = AuditEvent.objects.get(action=f"SubAccount:{STS}", result=AuditEvent.SUCCESS)
    assert event.detail["accessKey"] == temp.access_key and event.detail["secret"] == "issued"
    assert temp.secret not in str(event.detail)
    assert event.actor.endswith(f"SubAccount/{sub.sub_account_id}")


# Role sessions ------------------------------------------------------------------------------------------------


def test_switching_to_a_role_gives_a_session_decided_by_the_roles_policies(api, tenant):
    role = _role(tenant, actions=["View/getGroupList"])
    sub, creds = _switcher(tenant, role, extra=["View/getSubAccountList"])
    response = _obtain(api, creds, roleNrn=_role_nrn(tenant, role), durationSec=1800)
    assert response.json()["roleNrn"] == _role_nrn(tenant, role)
    session = _creds(response)
    key = AccessKey.objects.get(access_key=session.access_key)
    assert key.role_id == role.pk and key.source_identity_type == "SubAccount"
    assert key.source_identity_id == str(sub.sub_account_id)

    # The role's policies, not the sub account's.
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 200
    assert api.call("GET", "/api/v1/sub-accounts", creds=session).status_code == 401
    assert api.call("GET", "/api/v1/groups", creds=creds).status_code == 401

    described = api.call("GET", "/api/v1/credentials", creds=session)
    assert described.status_code == 401  # the role has no View/getStsSessionToken
    role_update(role=role, description="x")  # nothing to do with it; the session keeps working
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 200


def test_role_session_audit_names_the_role_and_who_is_behind_it(api, tenant):
    role = _role(tenant, actions=["Change/createGroup"])
    sub, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    switched = AuditEvent.objects.get(action="SubAccount:Change/switchRole")
    assert switched.resource == _role_nrn(tenant, role) and switched.result == AuditEvent.SUCCESS
    assert switched.detail["accessKey"] == session.access_key and session.secret not in str(switched.detail)

    assert api.call("POST", "/api/v1/groups", {"groupName": "by-role"}, creds=session).status_code == 200
    event = AuditEvent.objects.get(action="SubAccount:Change/createGroup")
    assert event.actor == f"{_role_nrn(tenant, role)}/SubAccount/{sub.sub_account_id}"
    assert event.actor_type == "Role"
    role.refresh_from_db()
    assert role.last_use_time is not None


def test_switching_needs_switch_role_on_that_role(api, tenant):
    allowed_role = _role(tenant, name="allowed-role")
    other_role = _role(tenant, name="other-role")
    _, creds = _switcher(tenant, allowed_role)
    response = _obtain(api, creds, roleNrn=_role_nrn(tenant, other_role))
    assert response.status_code == 401 and response.json()["error"]["errorCode"] == "210"
    assert not AccessKey.objects.filter(role=other_role).exists()
    denied = AuditEvent.objects.get(action="SubAccount:Change/switchRole", result=AuditEvent.DENIED)
    assert denied.resource == _role_nrn(tenant, other_role)


def test_a_deny_on_the_role_spelled_in_upper_case_still_applies(api, tenant):
    role = _role(tenant)
    deny = _policy(tenant, "deny-switch", ["Change/switchRole"], effect="Deny", resources=[_role_nrn(tenant, role)])
    _, creds = _switcher(tenant, role, login_id="shouter")
    policies_attach(target=SubAccount.objects.get(login_id="shouter"), policy_ids=[deny.policy_id])
    upper = f"nrn:PUB:IAM::{tenant.account.member_no}:Role/{str(role.role_no).upper()}"
    response = _obtain(api, creds, roleNrn=upper)
    assert response.status_code == 401
    assert not AccessKey.objects.filter(role=role).exists()


@pytest.mark.parametrize("role_type", ["Server", "Service"])
def test_only_account_roles_can_be_switched_to(api, tenant, role_type):
    role = _role(tenant, name=f"{role_type.lower()}-role", role_type=role_type)
    _, creds = _switcher(tenant, role)
    response = _obtain(api, creds, roleNrn=_role_nrn(tenant, role))
    assert response.status_code == 400 and response.json()["fieldErrors"][0]["field"] == "roleNrn"
    assert not AccessKey.objects.filter(role=role).exists()


def test_a_disabled_role_cannot_be_switched_to_and_its_sessions_end_for_good(api, tenant):
    role = _role(tenant, actions=["View/getSubAccountList"])
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    role_update(role=role, active=False)
    response = api.call("GET", "/api/v1/sub-accounts", creds=session)
    assert response.status_code == 401 and response.json()["error"]["details"] == "access key is disabled"
    again = _obtain(api, creds, roleNrn=_role_nrn(tenant, role))
    assert again.status_code == 400 and again.json()["fieldErrors"][0]["field"] == "roleNrn"
    role_update(role=role, active=True)  # "STS also expires": enabling the role again does not revive the session
    assert api.call("GET", "/api/v1/sub-accounts", creds=session).status_code == 401
    fresh = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    assert api.call("GET", "/api/v1/sub-accounts", creds=fresh).status_code == 200


def test_a_role_disabled_behind_the_services_back_still_refuses_its_sessions(api, tenant):
    role = _role(tenant, name="raw-role", actions=["View/getSubAccountList"])
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    type(role).objects.filter(pk=role.pk).update(active=False)
    response = api.call("GET", "/api/v1/sub-accounts", creds=session)
    assert response.status_code == 401 and response.json()["error"]["details"] == "role is disabled"


def test_a_temporary_key_cannot_switch_to_a_session_that_outlives_it(api, tenant):
    role = _role(tenant, name="short-role")
    _, creds = _switcher(tenant, role)
    temp = _creds(_obtain(api, creds, durationSec=600))
    session = _obtain(api, temp, roleNrn=_role_nrn(tenant, role), durationSec=43_200).json()
    temp_key = AccessKey.objects.get(access_key=temp.access_key)
    assert AccessKey.objects.get(access_key=session["accessKey"]).expire_time <= temp_key.expire_time


def test_a_blank_role_nrn_is_no_switch(api, tenant):
    _, creds = make_sub_account(tenant, "blankrole", actions=[STS])
    response = _obtain(api, creds, roleNrn="   ")
    assert response.status_code == 200 and "roleNrn" not in response.json()
    assert not AuditEvent.objects.filter(action="SubAccount:Change/switchRole").exists()


def test_deleting_the_role_ends_its_sessions(api, tenant):
    role = _role(tenant)
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    policies_detach(target=role, policy_ids=[p.policy_id for p in role_policies_of(role)])
    role_delete(role=role)
    response = api.call("GET", "/api/v1/sub-accounts", creds=session)
    assert response.status_code == 401 and response.json()["error"]["details"] == REFUSED


def role_policies_of(role):
    from iam.models import Policy

    return list(Policy.objects.filter(attachments__role=role))


def test_suspending_the_sub_account_behind_a_session_ends_it(api, tenant):
    role = _role(tenant, actions=["View/getSubAccountList"])
    sub, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    sub_account_set_active(sub_account=sub, active=False)
    response = api.call("GET", "/api/v1/sub-accounts", creds=session)
    assert response.status_code == 401 and response.json()["error"]["details"] == "access key is disabled"
    sub_account_set_active(sub_account=sub, active=True)
    assert api.call("GET", "/api/v1/sub-accounts", creds=session).status_code == 401


def test_an_unused_role_session_expires_after_the_roles_session_expiration(api, tenant):
    role = _role(tenant, actions=["View/getSubAccountList"], session_expiration_sec=600)
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role), durationSec=43_200))
    assert api.call("GET", "/api/v1/sub-accounts", creds=session).status_code == 200
    AccessKey.objects.filter(access_key=session.access_key).update(
        last_used_time=timezone.now() - timedelta(seconds=601)
    )
    response = api.call("GET", "/api/v1/sub-accounts", creds=session)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == "role session expired after 600 s without use"


def test_a_role_session_cannot_change_roles_whatever_its_policies_say(api, tenant):
    role = _role(tenant, actions=["*"])
    second = _role(tenant, name="second-role")
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    # Its policies allow everything else...
    assert api.call("POST", "/api/v1/groups", {"groupName": "fine"}, creds=session).status_code == 200
    # ...but not widening its own role, creating roles or switching on.
    widen = api.call("POST", f"/api/v1/roles/{role.role_no}/policies", {"policyIdList": []}, creds=session)
    assert widen.status_code == 401 and widen.json()["error"]["errorCode"] == "210"
    created = api.call(
        "POST",
        "/api/v1/roles",
        {"roleName": "sneaky", "roleType": "Account", "sessionExpirationSec": 600},
        creds=session,
    )
    assert created.status_code == 401
    onward = _obtain(api, session, roleNrn=_role_nrn(tenant, second))
    assert onward.status_code == 401
    assert not AccessKey.objects.filter(role=second).exists()
    reasons = set(AuditEvent.objects.filter(result=AuditEvent.DENIED).values_list("detail__reason", flat=True))
    assert reasons == {"explicitDeny: a role session cannot change roles or its role's policies"}
    # Reading roles is still fine.
    assert api.call("GET", "/api/v1/roles", creds=session).status_code == 200


def test_a_role_session_cannot_change_the_policies_of_its_own_role(api, tenant):
    role = _role(tenant, name="policy-editor", actions=["Change/updatePolicy", "Change/deletePolicy", "View*"])
    own = role_policies_of(role)[0]
    elsewhere = _policy(tenant, "not-on-role", ["View/getGroupList"])
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    widened = {"permissions": policy_doc(["*"])}
    refused = api.call("PUT", f"/api/v1/policies/{own.policy_id}", widened, creds=session)
    assert refused.status_code == 401 and refused.json()["error"]["errorCode"] == "210"
    own.refresh_from_db()
    assert own.permissions[0]["targets"][0]["actions"] != ["*"]
    assert api.call("GET", "/api/v1/sub-accounts", creds=session).status_code == 200  # View* only, as before
    assert api.call("POST", "/api/v1/groups", {"groupName": "still-no"}, creds=session).status_code == 401
    # Policies its role does not have are the role's to change, as its policies allow.
    changed = api.call("PUT", f"/api/v1/policies/{elsewhere.policy_id}", {"description": "edited"}, creds=session)
    assert changed.status_code == 200


def test_a_role_session_renews_its_key_without_outliving_the_session(api, tenant):
    role = _role(tenant, actions=[STS, "View/getSubAccountList"])
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role), durationSec=600))
    renewed = _obtain(api, session, durationSec=43_200)
    assert renewed.json()["roleNrn"] == _role_nrn(tenant, role)
    new_key = AccessKey.objects.get(access_key=renewed.json()["accessKey"])
    old_key = AccessKey.objects.get(access_key=session.access_key)
    assert new_key.role_id == role.pk and new_key.expire_time <= old_key.expire_time
    assert new_key.source_identity_id == old_key.source_identity_id
    described = api.call("GET", "/api/v1/credentials", creds=session).json()
    assert described["principalType"] == "Role" and described["roleNrn"] == _role_nrn(tenant, role)
    assert described["sourceIdentityType"] == "SubAccount"


def test_policy_changes_on_the_role_apply_to_live_sessions_on_the_next_call(api, tenant):
    role = _role(tenant, actions=["View/getSubAccountList"])
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 401
    policies_attach(target=role, policy_ids=[_policy(tenant, "groups-too", ["View/getGroupList"]).policy_id])
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 200
    deny = _policy(tenant, "no-groups", ["View/getGroupList"], effect="Deny")
    policies_attach(target=role, policy_ids=[deny.policy_id])
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 401


def test_source_identity_and_principal_type_condition_keys(api, tenant):
    role = role_create(account=tenant.account, name="keyed-role", role_type="Account", session_expiration_sec=3600)
    alice, alice_creds = make_sub_account(tenant, "alice", actions=[STS])
    _, bob_creds = make_sub_account(tenant, "bob", actions=[STS])
    switch = _policy(tenant, "switch-keyed", ["Change/switchRole"], resources=[_role_nrn(tenant, role)])
    for login in ("alice", "bob"):
        policies_attach(target=SubAccount.objects.get(login_id=login), policy_ids=[switch.policy_id])
    only_alice = _policy(
        tenant,
        "only-alice",
        ["View/getGroupList"],
        condition={
            "StringEquals": {
                "ncp:sourceIdentityId": [str(alice.sub_account_id)],
                "ncp:sourceIdentityType": ["SubAccount"],
                "ncp:principalType": ["IamRole"],  # as NCP's condition key reference spells a role
            }
        },
    )
    policies_attach(target=role, policy_ids=[only_alice.policy_id])
    alice_session = _creds(_obtain(api, alice_creds, roleNrn=_role_nrn(tenant, role)))
    bob_session = _creds(_obtain(api, bob_creds, roleNrn=_role_nrn(tenant, role)))
    assert api.call("GET", "/api/v1/groups", creds=alice_session).status_code == 200
    assert api.call("GET", "/api/v1/groups", creds=bob_session).status_code == 401


def test_another_accounts_role_is_not_found(api, tenant, other_tenant):
    foreign = _role(other_tenant, name="foreign-role")
    anyswitch = _policy(tenant, "switch-any", ["Change/switchRole"])
    _, creds = make_sub_account(tenant, "intruder", actions=[STS], policy_ids=[anyswitch.policy_id])
    response = _obtain(api, creds, roleNrn=_role_nrn(other_tenant, foreign))
    assert response.status_code == 404
    # Spelled with this tenant's memberNo, the other tenant's roleNo is not found either.
    response = _obtain(api, creds, roleNrn=_role_nrn(tenant, foreign))
    assert response.status_code == 404
    assert not AccessKey.objects.filter(role=foreign).exists()


def test_a_session_of_one_tenant_cannot_read_another_tenants_data(api, tenant, other_tenant):
    role = _role(tenant, actions=["*"])
    _, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    theirs, _ = make_sub_account(other_tenant, "theirs")
    response = api.call("GET", f"/api/v1/sub-accounts/{theirs.sub_account_id}", creds=session)
    assert response.status_code == 404
    listed = api.call("GET", "/api/v1/sub-accounts?size=100", creds=session).json()["items"]
    assert "theirs" not in {item["loginId"] for item in listed}


# Expiry job ---------------------------------------------------------------------------------------------------


def test_expired_temporary_keys_are_purged_and_live_ones_kept(api, tenant):
    role = _role(tenant)
    _, creds = _switcher(tenant, role)
    live = _creds(_obtain(api, creds))
    dead = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    AccessKey.objects.filter(access_key=dead.access_key).update(expire_time=timezone.now() - timedelta(seconds=1))
    assert expired_temporary_keys_purge() == 1
    assert AccessKey.objects.filter(access_key=live.access_key).exists()
    assert not AccessKey.objects.filter(access_key=dead.access_key).exists()
    assert AccessKey.objects.filter(access_key=creds.access_key).exists()  # permanent keys never expire here
    assert AuditEvent.objects.filter(action="System:purgeExpiredTemporaryKeys", detail__deleted=1).exists()
    assert expired_temporary_keys_delete() == 0  # a second run changes nothing


# Admin --------------------------------------------------------------------------------------------------------


def test_admin_lists_role_sessions_and_disabling_one_ends_it(api, tenant, admin_client):
    from django.urls import reverse

    role = _role(tenant, name="admin-seen-role", actions=["View/getSubAccountList"])
    sub, creds = _switcher(tenant, role)
    session = _creds(_obtain(api, creds, roleNrn=_role_nrn(tenant, role)))
    key = AccessKey.objects.get(access_key=session.access_key)
    changelist = reverse("admin:iam_accesskey_changelist")

    page = admin_client.get(changelist, {"kind__exact": "TEMPORARY"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [key]
    assert "admin-seen-role" in page.content.decode() and session.secret not in page.content.decode()
    detail = admin_client.get(reverse("admin:iam_accesskey_change", args=[key.pk])).content.decode()
    assert str(sub.sub_account_id) in detail and session.secret not in detail
    sub_page = admin_client.get(reverse("admin:iam_subaccount_change", args=[sub.pk])).content.decode()
    assert session.access_key in sub_page and "admin-seen-role" in sub_page and session.secret not in sub_page

    admin_client.post(changelist, {"action": "disable_selected", "_selected_action": [key.pk]})
    response = api.call("GET", "/api/v1/sub-accounts", creds=session)
    assert response.status_code == 401 and response.json()["error"]["details"] == "access key is disabled"


# The seam External Access sessions use --------------------------------------------------------------------------


def test_a_session_with_no_sub_account_behind_it_is_decided_by_its_role(api, tenant):
    """External Access issues role sessions for a certificate subject through the same function: the same
    authentication, the same engine, the subject as the source identity."""
    from sts.services import role_session_issue

    role = _role(tenant, name="ea-role", actions=["View/getGroupList"])
    only_subject = _policy(
        tenant,
        "ea-subject-only",
        ["View/getSubAccountList"],
        condition={"StringEquals": {"ncp:sourceIdentityType": ["ExternalAccessSubject"]}},
    )
    policies_attach(target=role, policy_ids=[only_subject.policy_id])
    key, secret = role_session_issue(
        role=role, source_identity_type="ExternalAccessSubject", source_identity_id="subject-1", duration_sec=900
    )
    session = Credentials(key.access_key, secret)
    assert key.sub_account_id is None
    assert api.call("GET", "/api/v1/groups", creds=session).status_code == 200
    assert api.call("GET", "/api/v1/sub-accounts", creds=session).status_code == 200
    assert api.call("GET", "/api/v1/policies", creds=session).status_code == 401
    created = api.call("POST", "/api/v1/roles", {"roleName": "x-role", "roleType": "Server"}, creds=session)
    assert created.status_code == 401  # the role-session restriction holds here too
    denied = AuditEvent.objects.filter(result=AuditEvent.DENIED).first()
    assert denied.actor == f"{_role_nrn(tenant, role)}/ExternalAccessSubject/subject-1"


def test_a_session_with_no_sub_account_behind_it_renews_within_the_limit(api, tenant, settings):
    from sts.services import role_session_issue

    settings.IAM_MAX_TEMPORARY_KEYS_PER_SUB_ACCOUNT = 2
    role = _role(tenant, name="ea-renew-role", actions=[STS])
    key, secret = role_session_issue(
        role=role, source_identity_type="ExternalAccessSubject", source_identity_id="subject-2", duration_sec=900
    )
    session = Credentials(key.access_key, secret)
    renewed = _obtain(api, session, durationSec=3600)
    assert renewed.status_code == 200
    assert AccessKey.objects.get(access_key=renewed.json()["accessKey"]).expire_time <= key.expire_time
    refused = _obtain(api, session)
    assert refused.status_code == 409 and "source identity" in refused.json()["message"]


def test_a_long_source_identity_is_cut_to_fit_the_audit_trail(api, tenant):
    from sts.services import role_session_issue

    role = _role(tenant, name="long-source-role", actions=["View/getGroupList"])
    key, secret = role_session_issue(
        role=role,
        source_identity_type="ExternalAccessSubject".ljust(40, "X"),
        source_identity_id="s" * 200,
        duration_sec=900,
    )
    response = api.call("POST", "/api/v1/groups", {"groupName": "nope"}, creds=Credentials(key.access_key, secret))
    assert response.status_code == 401
    denied = AuditEvent.objects.get(result=AuditEvent.DENIED)
    assert len(denied.actor) == 300 and denied.actor.startswith(f"{_role_nrn(tenant, role)}/ExternalAccessSubjectXXX")
