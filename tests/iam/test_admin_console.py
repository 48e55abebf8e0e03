"""Admin screens of sub account sign-in: the sign-in page of an account, a sub account's lock and its unlock action,
console sessions and ending them; each staff action is an audit event."""

import pytest
from django.test import Client
from django.utils import timezone

from iam.models import AuditEvent, ConsoleSession, SubAccount
from tests.iam.test_console_signin import make_user, post_password


@pytest.mark.django_db
def test_the_account_page_shows_its_sign_in_page(admin_client, tenant):
    page = admin_client.get(f"/admin/iam/account/{tenant.account.pk}/change/")
    assert page.status_code == 200 and b"/signin/2942/" in page.content


@pytest.mark.django_db
def test_unlock_sign_in_action(admin_client, tenant):
    sub = make_user(tenant)
    SubAccount.objects.filter(pk=sub.pk).update(login_locked_time=timezone.now(), login_failed_attempts=0)
    page = admin_client.get(f"/admin/iam/subaccount/{sub.pk}/change/")
    assert page.status_code == 200 and b"/signin/2942/" in page.content
    assert post_password(Client()).status_code == 401
    response = admin_client.post("/admin/iam/subaccount/", {"action": "unlock_sign_in", "_selected_action": [sub.pk]})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.login_locked_time is None
    event = AuditEvent.objects.get(action="SubAccount:Change/updateSubAccount")
    assert event.actor == "staff:admin" and event.detail == {"signInLock": "lifted"} and event.resource == sub.nrn
    assert post_password(Client()).url == "/console/"


@pytest.mark.django_db
def test_console_sessions_are_listed_without_their_token_and_can_be_ended(admin_client, tenant):
    make_user(tenant)
    browser = Client()
    post_password(browser)
    session = ConsoleSession.objects.get()
    listing = admin_client.get("/admin/iam/consolesession/")
    assert listing.status_code == 200 and b"alice" in listing.content
    detail = admin_client.get(f"/admin/iam/consolesession/{session.pk}/change/")
    assert session.token_hash.encode() not in detail.content
    assert browser.cookies["iam_console"].value.encode() not in detail.content
    response = admin_client.post(
        "/admin/iam/consolesession/", {"action": "end_selected", "_selected_action": [session.pk]}
    )
    assert response.status_code == 302
    assert not ConsoleSession.objects.exists()
    assert browser.get("/console/").status_code == 302
    assert AuditEvent.objects.filter(action="Admin:endConsoleSession", actor="staff:admin").count() == 1
