"""Profiles and subject activity through the API."""

import pytest

from external_access.models import Profile, ProfileRole, Subject
from iam.models import Role
from iam.services.roles import role_create
from tests.external_access.test_sessions import Workload, call

pytestmark = pytest.mark.django_db


def error_fields(response) -> list[str]:
    return [f["field"] for f in response.json()["error"].get("fieldErrors", [])]


def test_a_profile_with_service_roles(api, tenant):
    first = role_create(account=tenant.account, name="svc-one", role_type=Role.SERVICE)
    second = role_create(account=tenant.account, name="svc-two", role_type=Role.SERVICE)
    created = api.call(
        "POST", "/api/v1/profiles", {"name": "batch", "roleIdList": [first.role_no, second.role_no]}, creds=tenant.root
    )
    assert created.status_code == 200, created.json()
    profile = created.json()
    assert (profile["durationSeconds"], profile["enabled"]) == (3600, False)
    assert profile["roleNrnList"] == [first.nrn, second.nrn]
    assert profile["profileNrn"] == f"nrn:PUB:ExternalAccess::2942:Profile/{profile['profileId']}"
    uri = f"/api/v1/profiles/{profile['profileId']}"
    patched = api.call("PATCH", uri, {"roleIdList": [second.role_no], "durationSeconds": 600}, creds=tenant.root)
    assert patched.json()["roleNrnList"] == [second.nrn] and patched.json()["durationSeconds"] == 600
    assert api.call("POST", f"{uri}/enable", creds=tenant.root).json()["enabled"] is True
    empty = api.call("POST", "/api/v1/profiles", {"name": "empty"}, creds=tenant.root)
    assert empty.status_code == 200 and empty.json()["roleNrnList"] == []  # a profile with no role is allowed
    listed = api.call("GET", "/api/v1/profiles", creds=tenant.root).json()
    assert listed["totalElements"] == 2
    assert api.call("DELETE", uri, creds=tenant.root).status_code == 200
    assert not ProfileRole.objects.filter(role=second).exists()


def test_profile_rules_answer_with_the_field_and_change_nothing(api, tenant, other_tenant):
    service = role_create(account=tenant.account, name="svc", role_type=Role.SERVICE)
    server = role_create(account=tenant.account, name="srv", role_type=Role.SERVER)
    theirs = role_create(account=other_tenant.account, name="their-svc", role_type=Role.SERVICE)
    api.call("POST", "/api/v1/profiles", {"name": "holder", "roleIdList": [service.role_no]}, creds=tenant.root)
    for body, status, fields in (
        ({"name": "pro2", "roleIdList": [server.role_no]}, 400, ["roleIdList[0]"]),
        ({"name": "pro2", "roleIdList": [theirs.role_no]}, 404, ["roleIdList[0]"]),
        ({"name": "pro2", "roleIdList": [service.role_no]}, 409, ["roleIdList"]),
        ({"name": "pro2", "durationSeconds": 599}, 400, ["durationSeconds"]),
        ({"name": "pro2", "durationSeconds": 43_201}, 400, ["durationSeconds"]),
        ({"name": "p"}, 400, ["name"]),
        ({"name": "holder"}, 409, ["name"]),
        ({"name": "pro2", "color": "red"}, 400, ["color"]),
    ):
        response = api.call("POST", "/api/v1/profiles", body, creds=tenant.root)
        assert response.status_code == status, (body, response.json())
        assert error_fields(response) == fields, body
    assert list(Profile.objects.values_list("name", flat=True)) == ["holder"]
    assert ProfileRole.objects.get().role == service


def test_subjects_show_their_certificates_and_sessions(api, tenant):
    workload = Workload(tenant)
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 201
    assert call(workload.body(durationSeconds=7200), workload.key, workload.certificate)[0].status_code == 400
    listed = api.call("GET", "/api/v1/subjects", creds=tenant.root).json()
    assert listed["totalElements"] == 1 and listed["content"][0]["x509Subject"] == "CN=batch-worker-1"
    subject_id = listed["content"][0]["subjectId"]
    detail = api.call("GET", f"/api/v1/subjects/{subject_id}", creds=tenant.root).json()
    assert [c["serialNumber"] for c in detail["certificates"]] == [format(workload.certificate.serial_number, "x")]
    assert [s["outcome"] for s in detail["sessions"]] == ["REFUSED", "ISSUED"]  # newest first
    assert "durationSeconds" in detail["sessions"][0]["reason"]
    assert "keySecret" not in str(detail) and detail["sessions"][1]["accessKey"]
    disabled = api.call("POST", f"/api/v1/subjects/{subject_id}/disable", creds=tenant.root)
    assert disabled.json()["enabled"] is False
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 403
    search = api.call("GET", "/api/v1/subjects?searchColumn=x509Subject&searchWord=worker", creds=tenant.root)
    assert search.json()["totalElements"] == 1
    assert Subject.objects.get().enabled is False
