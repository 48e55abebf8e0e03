"""Audit events from the edges: staff sign-ins, management commands, refused timestamps of known keys."""

import io
import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from iam.gateway.signing import signed_headers
from iam.models import AuditEvent


@pytest.mark.django_db
def test_staff_sign_ins_are_recorded_without_the_password(client):
    get_user_model().objects.create_superuser("boss", "boss@example.invalid", "Correct-horse-1")
    client.post("/admin/login/", {"username": "boss", "password": "wrong-password-9"})
    client.post("/admin/login/", {"username": "boss", "password": "Correct-horse-1"})
    events = list(AuditEvent.objects.filter(action="Admin:signIn").order_by("id"))
    assert [(e.result, e.actor, e.detail) for e in events] == [
        ("Denied", "staff:boss", {"username": "boss"}),
        ("Success", "staff:boss", {"username": "boss"}),
    ]
    text = json.dumps([e.detail for e in events])
    assert "wrong-password-9" not in text and "Correct-horse-1" not in text


@pytest.mark.django_db
def test_create_account_command_records_the_issued_secret_not_its_value():
    out = io.StringIO()
    call_command("create_account", "Cmd", "--member-no", "5555", stdout=out)
    printed = json.loads(out.getvalue())
    event = AuditEvent.objects.get(action="Admin:createAccount")
    assert (event.actor, event.detail) == (
        "system:create_account",
        {"memberNo": 5555, "rootAccessKey": printed["accessKey"], "secret": "issued"},
    )
    assert printed["secretKey"] not in json.dumps(event.detail)


@pytest.mark.django_db
def test_bootstrap_demo_records_the_account_and_the_staff_user():
    out = io.StringIO()
    call_command("bootstrap_demo", stdout=out)
    actions = sorted(AuditEvent.objects.values_list("action", "actor"))
    assert actions == [
        ("Admin:createAccount", "system:bootstrap_demo"),
        ("Admin:createStaffUser", "system:bootstrap_demo"),
    ]
    staff = AuditEvent.objects.get(action="Admin:createStaffUser")
    assert staff.detail == {"username": "admin", "password": "generated"}


@pytest.mark.django_db
def test_a_stale_timestamp_of_a_known_key_is_a_denied_request_of_its_account(api, tenant):
    stale = str(int(time.time() * 1000) - 10 * 60 * 1000)
    headers = signed_headers(tenant.root.access_key, tenant.root.secret, "GET", "/api/v1/groups", timestamp=stale)
    assert api.call("GET", "/api/v1/groups", creds=None, headers=headers).status_code == 401
    event = AuditEvent.objects.get(action="Gateway:authenticate")
    assert (event.account_id, event.result) == (tenant.account.pk, "Denied")
    assert "5 minutes" in event.detail["reason"]
