"""Admin screens for the server inventory and role targets: registering shows the metadata token once, a server's
role is set through the role services (one role, Server roles of its own account only), and each role shows the
targets of its type."""

import pytest

from iam.models import AuditEvent, Server
from iam.services.roles import role_account_attach, role_create, role_services_attach
from iam.services.servers import metadata_token_hash, server_create
from tests.conftest import make_sub_account
from tests.iam.test_admin import form_data, form_errors, messages_of, url

pytestmark = pytest.mark.django_db


def test_registering_a_server_shows_its_token_once(admin_client, tenant):
    data = {
        "account": tenant.account.pk,
        "server_instance_no": "8008",
        "name": "admin-web",
        "private_ip": "10.9.0.1",
        "public_ip": "",
        "tags": "{}",
    }
    response = admin_client.post(url(Server, "add"), data, follow=True)
    assert response.status_code == 200
    server = Server.objects.get(server_instance_no="8008")
    shown = [m for m in messages_of(response) if "Metadata token" in m]
    assert len(shown) == 1
    token = shown[0].rsplit(" ", 1)[1]
    assert server.metadata_token_hash == metadata_token_hash(token)
    page = admin_client.get(url(Server, "change", server.pk)).content.decode()
    assert token not in page and server.metadata_token_hash not in page
    assert AuditEvent.objects.filter(action="SubAccount:Change/registerServerInstance", resource=server.nrn).exists()


def test_bad_input_is_shown_on_the_form(admin_client, tenant):
    data = {"account": tenant.account.pk, "server_instance_no": "0", "name": "Bad Name", "tags": "{}"}
    response = admin_client.post(url(Server, "add"), data)
    assert response.status_code == 200
    errors = form_errors(response)
    assert "server_instance_no" in errors and "name" in errors
    assert not Server.objects.exists()


def test_setting_a_servers_role_goes_through_the_services(admin_client, tenant, other_tenant):
    server, _ = server_create(account=tenant.account, server_instance_no="8009", name="web-a")
    role = role_create(account=tenant.account, name="web-role", role_type="Server")
    role_create(account=tenant.account, name="acct-role", role_type="Account")
    theirs = role_create(account=other_tenant.account, name="their-role", role_type="Server")
    response = admin_client.get(url(Server, "change", server.pk))
    choices = {str(r) for r in response.context["adminform"].form.fields["role"].queryset}
    assert choices == {"web-role"}  # only this account's Server roles
    data = form_data(response)
    data["role"] = str(theirs.pk)
    assert admin_client.post(url(Server, "change", server.pk), data).status_code == 200  # not a valid choice
    data["role"] = str(role.pk)
    assert admin_client.post(url(Server, "change", server.pk), data).status_code == 302
    server.refresh_from_db()
    assert server.role == role
    page = admin_client.get(url(type(role), "change", role.pk)).content.decode().lower()
    assert "servers (targets)" in page and "web-a" in page
    data = form_data(admin_client.get(url(Server, "change", server.pk)))
    data["role"] = ""
    assert admin_client.post(url(Server, "change", server.pk), data).status_code == 302
    server.refresh_from_db()
    assert server.role is None
    assert AuditEvent.objects.filter(action="SubAccount:Change/updateServerInstance", resource=server.nrn).count() == 2


def test_each_role_shows_the_targets_of_its_type(admin_client, tenant, other_tenant):
    account_role = role_create(account=tenant.account, name="acct-role", role_type="Account")
    make_sub_account(other_tenant, "beta-login")
    role_account_attach(role=account_role, account_name="Beta", login_id="beta-login")
    service_role = role_create(account=tenant.account, name="svc-role", role_type="Service")
    role_services_attach(role=service_role, services=["ExternalAccess"])
    page = admin_client.get(url(type(account_role), "change", account_role.pk)).content.decode().lower()
    assert "target main accounts" in page and "beta (3001)" in page and "target services" not in page
    page = admin_client.get(url(type(service_role), "change", service_role.pk)).content.decode().lower()
    assert "target services" in page and "externalaccess" in page and "target main accounts" not in page


def test_staff_keep_single_sign_on_assignments(admin_client, tenant):
    from iam.models import RoleSsoAssignment

    role = role_create(account=tenant.account, name="sso-role", role_type="SingleSignOn", by_staff=True)
    response = admin_client.get(url(type(role), "change", role.pk))
    assert "single sign-on assignments" in response.content.decode().lower()
    data = form_data(response)
    data.update({"sso_assignments-0-principal_type": "User", "sso_assignments-0-principal_name": "kim@idp.example"})
    assert admin_client.post(url(type(role), "change", role.pk), data).status_code == 302
    assignment = RoleSsoAssignment.objects.get(role=role)
    assert (assignment.principal_type, assignment.principal_name) == ("User", "kim@idp.example")
    assert admin_client.post(url(type(role), "delete", role.pk), {"post": "yes"}).status_code == 302
    assert not RoleSsoAssignment.objects.exists()
