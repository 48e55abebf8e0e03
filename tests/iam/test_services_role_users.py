"""Service roles and their users: apps register who uses a role (External Access profiles, later); deleting a Service
role something still uses is refused with a 409 that lists them, and nothing is deleted."""

import pytest

from iam.models import Role
from iam.services import role_users
from iam.services.roles import role_assumable_by_service, role_create, role_services_attach, role_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_profiles():
    """A stand-in for External Access: role pk -> the profiles that use it."""
    used: dict[int, list[str]] = {}
    role_users.register("fake-external-access", lambda role: used.get(role.pk, []))
    yield used
    role_users.unregister("fake-external-access")


def test_deleting_a_service_role_in_use_is_409_listing_the_profiles(api, tenant, fake_profiles):
    role = role_create(account=tenant.account, name="svc", role_type="Service")
    fake_profiles[role.pk] = ["ExternalAccess:Profile/web", "ExternalAccess:Profile/batch"]
    response = api.call("DELETE", f"/api/v1/roles/{role.role_no}", creds=tenant.root)
    assert response.status_code == 409, response.content
    body = response.json()
    assert "ExternalAccess:Profile/batch, ExternalAccess:Profile/web" in body["message"]
    assert [e["message"] for e in body["fieldErrors"]] == [
        "used by ExternalAccess:Profile/batch",
        "used by ExternalAccess:Profile/web",
    ]
    assert Role.objects.filter(pk=role.pk).exists()
    fake_profiles[role.pk] = []
    assert api.call("DELETE", f"/api/v1/roles/{role.role_no}", creds=tenant.root).status_code == 200
    assert not Role.objects.filter(pk=role.pk).exists()


def test_only_service_roles_are_checked(api, tenant, fake_profiles):
    role = role_create(account=tenant.account, name="srv", role_type="Server")
    fake_profiles[role.pk] = ["ExternalAccess:Profile/web"]
    assert api.call("DELETE", f"/api/v1/roles/{role.role_no}", creds=tenant.root).status_code == 200


def test_which_services_may_assume_a_service_role(tenant):
    role = role_create(account=tenant.account, name="svc", role_type="Service")
    assert not role_assumable_by_service(role=role, service="ExternalAccess")
    role_services_attach(role=role, services=["ExternalAccess"])
    assert role_assumable_by_service(role=role, service="ExternalAccess")
    assert not role_assumable_by_service(role=role, service="CloudFunctions")
    role_update(role=role, active=False)
    role.refresh_from_db()
    assert not role_assumable_by_service(role=role, service="ExternalAccess")


def test_external_access_registers_its_profiles(api, tenant):
    from external_access.services import profiles

    role = role_create(account=tenant.account, name="ea-role", role_type="Service")
    profile = profiles.profile_create(account=tenant.account, name="web-profile", role_ids=[role.role_no])
    response = api.call("DELETE", f"/api/v1/roles/{role.role_no}", creds=tenant.root)
    assert response.status_code == 409, response.content
    assert f"ExternalAccess:Profile/{profile.profile_id} (web-profile)" in response.json()["message"]
    assert Role.objects.filter(pk=role.pk).exists()
    profiles.profile_delete(profile=profile)
    assert api.call("DELETE", f"/api/v1/roles/{role.role_no}", creds=tenant.root).status_code == 200
