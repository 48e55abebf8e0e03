"""Staff changes in the admin are audit events (actor staff:<username>, catalog action names, NRNs, no secrets);
a refused change leaves no event; the audit trail, outbox and heartbeats are read-only admin pages, and the outbox
page can send its pending messages now."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from iam import audit
from iam.errors import Conflict
from iam.models import (
    AccessKey,
    Account,
    AuditEvent,
    Group,
    GroupMembership,
    OutboxMessage,
    Policy,
    PolicyAttachment,
    SubAccount,
    WorkerHeartbeat,
)
from iam.secrets import decrypt_secret
from iam.services.groups import group_create
from iam.services.policies import policies_attach, policy_create
from iam.services.roles import role_create
from tests.conftest import make_sub_account
from tests.iam.test_admin import form_data, inline_formset

DOC = [
    {"effect": "Allow", "targets": [{"product": "SubAccount", "actions": ["View/getGroupList"], "resourceNrns": ["*"]}]}
]


@pytest.fixture
def admin_client(admin_client):
    """The logged-in staff client, without its own sign-in event (tested in test_audit_edges.py)."""
    AuditEvent.objects.filter(action="Admin:signIn").delete()
    return admin_client


def url(model, view: str, *args) -> str:
    return reverse(f"admin:iam_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def events(**filters) -> list[tuple]:
    """(action, resource, detail) of the recorded events, oldest first."""
    rows = AuditEvent.objects.filter(**filters).order_by("id")
    return [(e.action, e.resource, e.detail) for e in rows]


def trail_text() -> str:
    return json.dumps(list(AuditEvent.objects.values("action", "resource", "detail")))


def sub_account_post(account, login_id="carol", **extra):
    data = {
        "account": account.pk,
        "login_id": login_id,
        "name": "Carol",
        "email": "carol@example.com",
        "memo": "",
        "active": "on",
        "can_console_access": "on",
        "console_permit_ips": "[]",
        "api_allow_sources": "[]",
        "tags": "{}",
    }
    data.update(extra)
    return data


# Staff changes -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_a_sub_account_records_who_what_and_from_where(admin_client, tenant):
    response = admin_client.post(
        url(SubAccount, "add"),
        sub_account_post(tenant.account, new_password="Str0ng!pass"),
        HTTP_X_REQUEST_ID="req-create-carol",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    carol = SubAccount.objects.get(account=tenant.account, login_id="carol")
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_type, event.source_ip, event.request_id) == (
        "staff:admin",
        "Staff",
        "10.1.2.3",
        "req-create-carol",
    )
    assert response["X-Request-Id"] == "req-create-carol"
    assert (event.account_id, event.action, event.resource, event.result) == (
        tenant.account.pk,
        "SubAccount:Change/createSubAccount",
        carol.nrn,
        AuditEvent.SUCCESS,
    )
    assert event.detail == {"password": "set"}
    assert "Str0ng!pass" not in trail_text()


@pytest.mark.django_db
def test_a_generated_password_is_recorded_as_generated_never_as_itself(admin_client, tenant):
    response = admin_client.post(url(SubAccount, "add"), sub_account_post(tenant.account, generate_password="on"))
    assert response.status_code == 302
    shown = next(m for m in messages_of(response) if "Generated password of carol" in m)
    password = re.search(r"carol: (\S+) —", shown).group(1)
    carol = SubAccount.objects.get(login_id="carol")
    assert events() == [("SubAccount:Change/createSubAccount", carol.nrn, {"password": "generated"})]
    assert password not in trail_text()


@pytest.mark.django_db
def test_changing_a_sub_account_and_resetting_its_password_are_two_events(admin_client, tenant):
    alice, _ = make_sub_account(tenant, "alice")
    data = form_data(admin_client.get(url(SubAccount, "change", alice.pk)))
    data.update(name="Alice A", memo="x", generate_password="on")
    response = admin_client.post(url(SubAccount, "change", alice.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    password = re.search(r"alice: (\S+) —", " ".join(messages_of(response))).group(1)
    assert events() == [
        ("SubAccount:Change/resetSubAccountPassword", alice.nrn, {"password": "generated"}),
        ("SubAccount:Change/updateSubAccount", alice.nrn, {"fields": ["memo", "name"]}),
    ]
    assert password not in trail_text()


@pytest.mark.django_db
def test_saving_without_changes_records_nothing(admin_client, tenant):
    group = group_create(account=tenant.account, name="developers")
    change = url(Group, "change", group.pk)
    data = form_data(admin_client.get(change))
    assert admin_client.post(change, data).status_code == 302
    assert events() == []
    data["description"] = "the developers"
    assert admin_client.post(change, data).status_code == 302
    assert events() == [("SubAccount:Change/updateGroup", group.nrn, {"fields": ["description"]})]


@pytest.mark.django_db
def test_inline_changes_are_catalog_events(admin_client, tenant):
    alice, _ = make_sub_account(tenant, "alice")
    reader = policy_create(account=tenant.account, name="reader", permissions=DOC)
    change = url(SubAccount, "change", alice.pk)
    page = admin_client.get(change)
    data = form_data(page)
    prefix = inline_formset(page, PolicyAttachment).prefix
    data[f"{prefix}-0-policy"] = reader.pk
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    detail = {"policyId": reader.policy_id, "policyName": "reader"}
    assert events() == [("SubAccount:Change/addPolicyToSubAccount", alice.nrn, detail)]

    data = form_data(admin_client.get(change))
    data[f"{prefix}-0-DELETE"] = "on"
    assert admin_client.post(change, data).status_code == 302
    assert not PolicyAttachment.objects.filter(sub_account=alice).exists()
    assert events()[1:] == [("SubAccount:Change/removePolicyFromSubAccount", alice.nrn, detail)]

    group = group_create(account=tenant.account, name="developers")
    change = url(Group, "change", group.pk)
    page = admin_client.get(change)
    data = form_data(page)
    data[f"{inline_formset(page, GroupMembership).prefix}-0-sub_account"] = alice.pk
    assert admin_client.post(change, data).status_code == 302
    assert events()[2:] == [
        (
            "SubAccount:Change/addSubAccountToGroup",
            group.nrn,
            {"subAccountId": str(alice.sub_account_id), "loginId": "alice"},
        )
    ]


@pytest.mark.django_db
def test_suspend_and_activate_actions_record_one_event_per_selected_sub_account(admin_client, tenant):
    alice, _ = make_sub_account(tenant, "alice")
    bob, _ = make_sub_account(tenant, "bob")
    make_sub_account(tenant, "untouched")
    changelist = url(SubAccount, "changelist")
    response = admin_client.post(changelist, {"action": "suspend_selected", "_selected_action": [alice.pk, bob.pk]})
    assert response.status_code == 302
    assert sorted(events()) == sorted(
        [
            ("SubAccount:Change/suspendSubAccount", alice.nrn, {"active": False}),
            ("SubAccount:Change/suspendSubAccount", bob.nrn, {"active": False}),
        ]
    )
    assert set(AuditEvent.objects.values_list("actor", "account_id")) == {("staff:admin", tenant.account.pk)}
    admin_client.post(changelist, {"action": "activate_selected", "_selected_action": [alice.pk]})
    assert events()[2:] == [("SubAccount:Change/suspendSubAccount", alice.nrn, {"active": True})]


@pytest.mark.django_db
def test_disabling_keys_records_the_key_but_never_its_secret(admin_client, tenant):
    alice, creds = make_sub_account(tenant, "alice")
    sub_key = AccessKey.objects.get(access_key=creds.access_key)
    root_key = AccessKey.objects.get(account=tenant.account, kind=AccessKey.ROOT)
    response = admin_client.post(
        url(AccessKey, "changelist"), {"action": "disable_selected", "_selected_action": [sub_key.pk, root_key.pk]}
    )
    assert response.status_code == 302
    assert sorted(events()) == sorted(
        [
            (
                "SubAccount:Change/manageSubAccountAccessKeyState",
                alice.nrn,
                {"accessKey": creds.access_key, "active": False},
            ),
            ("Admin:disableAccessKey", "", {"accessKey": tenant.root.access_key, "active": False}),
        ]
    )
    text = trail_text()
    assert creds.secret not in text and tenant.root.secret not in text
    assert sub_key.secret_encrypted not in text


@pytest.mark.django_db
def test_creating_an_account_records_that_a_secret_was_issued_not_the_secret(admin_client):
    response = admin_client.post(url(Account, "add"), {"name": "Gamma", "email": "", "member_no": "4100"})
    assert response.status_code == 302
    account = Account.objects.get(member_no=4100)
    key = AccessKey.objects.get(account=account, kind=AccessKey.ROOT)
    event = AuditEvent.objects.get()
    assert (event.account_id, event.action, event.resource, event.actor) == (
        account.pk,
        "Admin:createAccount",
        "",
        "staff:admin",
    )
    assert event.detail == {"memberNo": 4100, "rootAccessKey": key.access_key, "secret": "issued"}
    secret = decrypt_secret(key.secret_encrypted)
    assert secret not in trail_text() and key.secret_encrypted not in trail_text()


@pytest.mark.django_db
def test_account_actions_and_settings_changes_are_recorded(admin_client, tenant):
    Account.objects.filter(pk=tenant.account.pk).update(policy_count=5)
    changelist = url(Account, "changelist")
    admin_client.post(changelist, {"action": "reconcile_policy_counter", "_selected_action": [tenant.account.pk]})
    admin_client.post(changelist, {"action": "suspend_accounts", "_selected_action": [tenant.account.pk]})
    admin_client.post(changelist, {"action": "activate_accounts", "_selected_action": [tenant.account.pk]})
    assert events(account=tenant.account) == [
        ("Admin:reconcilePolicyCounter", "", {"before": 5, "after": 0}),
        ("Admin:suspendAccount", "", {"active": False}),
        ("Admin:activateAccount", "", {"active": True}),
    ]


@pytest.mark.django_db
def test_deletes_are_recorded_with_the_nrn_of_what_went(admin_client, tenant):
    alice, creds = make_sub_account(tenant, "alice")
    nrn = alice.nrn
    spare = policy_create(account=tenant.account, name="spare", permissions=DOC)
    policy_nrn = spare.nrn_for(tenant.account.member_no)
    role = role_create(account=tenant.account, name="ops", role_type="Server")
    policies_attach(target=role, policy_ids=[spare.policy_id])
    attachment = PolicyAttachment.objects.get(role=role)

    assert admin_client.post(url(PolicyAttachment, "delete", attachment.pk), {"post": "yes"}).status_code == 302
    assert admin_client.post(url(SubAccount, "delete", alice.pk), {"post": "yes"}).status_code == 302
    response = admin_client.post(
        url(Policy, "changelist"), {"action": "delete_selected", "_selected_action": [spare.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert events() == [
        (
            "SubAccount:Change/removePolicyFromRole",
            role.nrn,
            {"policyId": spare.policy_id, "policyName": "spare"},
        ),
        ("SubAccount:Change/deleteSubAccount", nrn, {"loginId": "alice"}),
        ("SubAccount:Change/deletePolicy", policy_nrn, {"name": "spare"}),
    ]
    assert not SubAccount.objects.filter(login_id="alice").exists()


@pytest.mark.django_db
def test_refused_changes_record_nothing(admin_client, tenant, monkeypatch):
    # A form the service refuses: no sub account, no event.
    response = admin_client.post(url(SubAccount, "add"), sub_account_post(tenant.account, new_password="weak"))
    assert response.status_code == 200
    assert not SubAccount.objects.filter(login_id="carol").exists()
    # A refused delete and a refused bulk action: the rows stay and so does the (empty) trail.
    policies = [policy_create(account=tenant.account, name=f"bulk{i}", permissions=DOC) for i in range(2)]
    from iam.services import policies as policy_services

    real_delete = policy_services.policy_delete

    def refuse_bulk1(*, policy):
        if policy.name == "bulk1":
            raise Conflict("the policy is attached to role r; detach it first")
        real_delete(policy=policy)

    monkeypatch.setattr(policy_services, "policy_delete", refuse_bulk1)
    response = admin_client.post(
        url(Policy, "changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in policies], "post": "yes"},
    )
    assert messages_of(response) == ["Nothing was changed: the policy is attached to role r; detach it first"]
    response = admin_client.post(url(Policy, "delete", policies[1].pk), {"post": "yes"})
    assert messages_of(response)[-1] == "Not deleted: the policy is attached to role r; detach it first"
    assert Policy.objects.filter(account=tenant.account).count() == 2
    assert AuditEvent.objects.count() == 0


# The audit trail page ------------------------------------------------------------------------------------------


def _record(tenant, action, result=AuditEvent.SUCCESS, actor="nrn:PUB:IAM::2942:SubAccount/x", request_id="r1"):
    with audit.acting_as(audit.Actor(actor, "SubAccount", "192.0.2.7"), request_id=request_id):
        return audit.record(account_id=tenant.account.pk, action=action, resource="*", result=result)


@pytest.mark.django_db
def test_the_audit_trail_lists_filters_and_searches(admin_client, tenant):
    ok = _record(tenant, "SubAccount:Change/createGroup", request_id="req-aaa")
    denied = _record(tenant, "SubAccount:Change/deleteGroup", result=AuditEvent.DENIED, request_id="req-bbb")
    with audit.acting_as(audit.SYSTEM, request_id="req-ccc"):
        system = audit.record(account_id=None, action="System:purge", detail={"deleted": 3})

    response = admin_client.get(url(AuditEvent, "changelist"))
    assert response.status_code == 200
    content = response.content.decode()
    for text in ("SubAccount:Change/createGroup", "192.0.2.7", "System:purge", "Denied"):
        assert text in content
    # The request id is on the event's own page (and found by search, below); the list keeps to 1,400 px.
    assert "req-bbb" in admin_client.get(url(AuditEvent, "change", denied.pk)).content.decode()
    assert 'class="toplinks"' in content  # the date hierarchy
    assert '<option value="delete_selected">' not in content
    assert url(AuditEvent, "add") not in content

    def listed(params):
        page = admin_client.get(url(AuditEvent, "changelist"), params)
        assert page.status_code == 200
        return {e.pk for e in page.context["cl"].result_list}

    assert listed({"result__exact": "Denied"}) == {denied.pk}
    assert listed({"actor_type__exact": "System"}) == {system.pk}
    assert listed({"account__id__exact": tenant.account.pk}) == {ok.pk, denied.pk}
    assert listed({"q": "req-aaa"}) == {ok.pk}
    assert listed({"q": "deleteGroup"}) == {denied.pk}
    today = timezone.localdate()
    assert listed({"time__year": today.year, "time__month": today.month}) == {ok.pk, denied.pk, system.pk}
    assert listed({"time__year": today.year - 1}) == set()


@pytest.mark.django_db
def test_audit_events_cannot_be_added_changed_or_deleted(admin_client, tenant):
    event = _record(tenant, "SubAccount:Change/createGroup")
    page = admin_client.get(url(AuditEvent, "change", event.pk))
    assert page.status_code == 200
    content = page.content.decode()
    assert "SubAccount:Change/createGroup" in content and 'name="_save"' not in content
    assert admin_client.get(url(AuditEvent, "add")).status_code == 403
    assert admin_client.post(url(AuditEvent, "change", event.pk), {"action": "forged"}).status_code == 403
    assert admin_client.post(url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(
        url(AuditEvent, "changelist"), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert response.status_code == 200  # no such action: the list is shown again
    event.refresh_from_db()
    assert event.action == "SubAccount:Change/createGroup"
    assert AuditEvent.objects.count() == 1


# Outbox and heartbeats --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_outbox_lists_filters_and_is_read_only(admin_client):
    pending = OutboxMessage.objects.create(task="iam.tasks.pending_job", args=[7])
    sent = OutboxMessage.objects.create(task="iam.tasks.sent_job", args=[8], dispatch_time=timezone.now())
    response = admin_client.get(url(OutboxMessage, "changelist"))
    assert response.status_code == 200
    assert "iam.tasks.pending_job" in response.content.decode() and "iam.tasks.sent_job" in response.content.decode()
    for state, expected in (("pending", [pending.pk]), ("sent", [sent.pk])):
        page = admin_client.get(url(OutboxMessage, "changelist"), {"state": state})
        assert [m.pk for m in page.context["cl"].result_list] == expected
    assert admin_client.get(url(OutboxMessage, "change", pending.pk)).status_code == 200
    assert admin_client.get(url(OutboxMessage, "add")).status_code == 403
    assert admin_client.post(url(OutboxMessage, "change", pending.pk), {"task": "x"}).status_code == 403
    assert admin_client.post(url(OutboxMessage, "delete", pending.pk), {"post": "yes"}).status_code == 403
    assert OutboxMessage.objects.count() == 2


@pytest.mark.django_db
def test_send_pending_now_relays_every_pending_message(admin_client, published):
    first = OutboxMessage.objects.create(task="iam.tasks.first", args=[1], kwargs={"k": "v"})
    second = OutboxMessage.objects.create(task="iam.tasks.second", args=[2])
    sent_before = timezone.now() - timedelta(hours=1)
    already = OutboxMessage.objects.create(task="iam.tasks.done", args=[3], dispatch_time=sent_before)
    response = admin_client.post(
        url(OutboxMessage, "changelist"), {"action": "send_pending", "_selected_action": [first.pk]}
    )
    assert response.status_code == 302
    assert published == [("iam.tasks.first", [1], {"k": "v"}), ("iam.tasks.second", [2], {})]
    assert messages_of(response) == ["Sent 2 pending message(s); 0 still pending."]
    for message in (first, second):
        message.refresh_from_db()
        assert message.dispatch_time is not None and message.dispatch_time > sent_before
    already.refresh_from_db()
    assert already.dispatch_time == sent_before  # sent before: neither sent again nor touched
    event = AuditEvent.objects.get()
    assert (event.action, event.account_id, event.actor, event.detail) == (
        "Admin:relayOutbox",
        None,
        "staff:admin",
        {"sent": 2, "pending": 0},
    )


@pytest.mark.django_db
def test_send_pending_now_needs_the_change_permission(client, published):
    message = OutboxMessage.objects.create(task="iam.tasks.first", args=[1])
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    client.force_login(viewer)
    page = client.get(url(OutboxMessage, "changelist"))
    assert page.status_code == 200
    assert "send_pending" not in page.content.decode()
    client.post(url(OutboxMessage, "changelist"), {"action": "send_pending", "_selected_action": [message.pk]})
    assert published == []
    assert OutboxMessage.objects.filter(dispatch_time__isnull=True).count() == 1


@pytest.mark.django_db
def test_worker_heartbeats_are_read_only(admin_client):
    beat = WorkerHeartbeat.objects.create(name="celery@worker-1", beat_time=timezone.now())
    response = admin_client.get(url(WorkerHeartbeat, "changelist"))
    assert response.status_code == 200
    assert "celery@worker-1" in response.content.decode()
    assert admin_client.get(url(WorkerHeartbeat, "add")).status_code == 403
    assert admin_client.post(url(WorkerHeartbeat, "delete", beat.pk), {"post": "yes"}).status_code == 403
    assert WorkerHeartbeat.objects.filter(pk=beat.pk).exists()
