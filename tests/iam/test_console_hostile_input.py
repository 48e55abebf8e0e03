"""The sign-in pages and the console, fed values no column can hold (NUL, over-long, out-of-range numbers), answer
as for any wrong value and never 5xx. Run it on PostgreSQL too: NUL characters and out-of-range numbers only break
there."""

import pytest
from django.test import Client

from iam.models import AuditEvent, ConsoleSession, SubAccount
from tests.iam.test_console_signin import PASSWORD, make_user, post_password

HOSTILE = ["a\x00b", "x" * 5000, "\x00", "9" * 19, "99999999999999999999"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
def test_the_sign_in_pages(client, tenant, value):
    make_user(tenant)
    assert client.get("/signin/", {"alias": value}).status_code == 200
    assert client.get(f"/signin/{'9' * 19}/").status_code == 404
    assert client.get(f"/signin/{'9' * 25}/").status_code == 404
    for login_id, password in ((value, PASSWORD), ("alice", value), (value, value)):
        response = post_password(client, login_id=login_id, password=password)
        assert response.status_code == 401, (login_id[:20], password[:20])
    assert not ConsoleSession.objects.exists()
    assert SubAccount.objects.get(login_id="alice").login_failed_attempts == 1  # ("alice", value) only
    assert all("\x00" not in str(e.detail) for e in AuditEvent.objects.all())


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
def test_the_console_forms(tenant, value):
    make_user(tenant, need_password_reset=True)
    client = Client()
    post_password(client)
    for body in (
        {"current_password": value, "new_password": "Brand-New-2", "new_password_again": "Brand-New-2"},
        {"current_password": PASSWORD, "new_password": value, "new_password_again": value},
    ):
        assert client.post("/signin/2942/password", body).status_code == 400
    good = {"current_password": PASSWORD, "new_password": "Brand-New-2", "new_password_again": "Brand-New-2"}
    assert client.post("/signin/2942/password", good).url == "/console/"
    for url, body in (
        ("/console/access-keys", {"operation": "delete", "access_key": value}),
        ("/console/access-keys", {"operation": value}),
        ("/console/roles", {"role_no": value}),
        ("/console/mfa", {"step": "confirm", "code": value}),
        ("/console/password", {"current_password": value, "new_password": value, "new_password_again": value}),
    ):
        assert client.post(url, body).status_code < 500, url
    assert client.get("/console/permissions", {"action": value, "resource": value}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("cookie", ["é", "x" * 500, "\x00", "abc"])
def test_a_forged_session_cookie_is_no_session(client, tenant, cookie):
    client.cookies["iam_console"] = cookie
    assert client.get("/console/").url == "/signin/"
