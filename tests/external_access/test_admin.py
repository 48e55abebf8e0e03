"""External Access admin screens: every list and page renders without a CA's private key, the CRL list shows the
import progress, and staff actions change rows through the services, each audited."""

import pytest
from django.urls import reverse

from external_access.models import CertificateAuthority, Crl, IssuedCertificate, Profile, Subject, TrustAnchor
from external_access.services import cas, crls, trust_anchors
from iam.models import AuditEvent
from iam.secrets import decrypt_secret
from tests.conftest import make_tenant
from tests.external_access import pki
from tests.external_access.test_sessions import Workload, call

pytestmark = pytest.mark.django_db


def url(model, view: str, *args) -> str:
    return reverse(f"admin:external_access_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def world(tenant):
    ca = cas.ca_create(account=tenant.account, name="root-ca", subject={"commonName": "Root CN"})
    issued, _ = cas.certificate_issue(ca=ca, subject={"commonName": "workload"})
    outside, key = pki.outside_ca("Outside Root")
    anchor = trust_anchors.trust_anchor_create(
        account=tenant.account,
        name="outside-anchor",
        enabled=True,
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pki.pem(outside)}},
    )
    crl = crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=pki.crl_base64(pki.crl(outside, key, [1, 2, 3])))
    crls.crl_import_run(crl_id=crl.pk, generation=1, batch_size=2)
    workload = Workload(make_tenant("Gamma", member_no=4001))
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 201
    return {
        "ca": ca, "issued": issued, "anchor": anchor, "crl": Crl.objects.get(pk=crl.pk), "profile": workload.profile,
        "subject": Subject.objects.get(), "workload": workload,
    }  # fmt: skip


def assert_no_private_key(response, ca):
    content = response.content.decode()
    assert "PRIVATE KEY" not in content
    assert ca.private_key_encrypted not in content
    key_body = decrypt_secret(ca.private_key_encrypted).splitlines()[1]
    assert key_body not in content


def test_every_list_and_page_renders_without_the_ca_key(admin_client, world):
    ca = world["ca"]
    for model, obj, listed, page in (
        (CertificateAuthority, ca, ["root-ca", "Root"], ["CN=Root CN", "BEGIN CERTIFICATE"]),
        (IssuedCertificate, world["issued"], ["CN=workload", world["issued"].serial_number], ["CN=workload"]),
        (TrustAnchor, world["anchor"], ["outside-anchor"], ["outside-anchor", "crl-1"]),
        (Crl, world["crl"], ["crl-1", "3 of 3 (100%)"], ["CN=Outside Root", "3 of 3 (100%)"]),
        (Profile, world["profile"], ["batch"], ["batch", "batch-jobs"]),
        (Subject, world["subject"], ["CN=batch-worker-1"], ["CN=batch-worker-1", "Issued", "CN=Workload CA"]),
    ):
        for view, args, shown in (("changelist", (), listed), ("change", (obj.pk,), page)):
            response = admin_client.get(url(model, view, *args))
            assert response.status_code == 200, (model, view)
            content = response.content.decode()
            for text in shown:
                assert text in content, (model, view, text)
            assert_no_private_key(response, ca)


def test_nothing_is_added_or_edited_by_hand(admin_client, world):
    for model in (CertificateAuthority, IssuedCertificate, TrustAnchor, Crl, Profile, Subject):
        assert admin_client.get(url(model, "add")).status_code == 403


def test_disabling_a_crl_in_the_admin_takes_it_out_of_force_and_is_audited(admin_client, world):
    crl, anchor = world["crl"], world["anchor"]
    assert crls.is_revoked(anchor, 2)
    response = admin_client.post(url(Crl, "changelist"), {"action": "disable", "_selected_action": [crl.pk]})
    assert response.status_code == 302
    assert not crls.is_revoked(anchor, 2)
    event = AuditEvent.objects.get(action="Admin:disableCrl")
    assert event.account_id == anchor.account_id and event.resource == crl.nrn and event.actor.startswith("staff:")


def test_revoking_and_disabling_an_anchor_in_the_admin(admin_client, world):
    issued, anchor = world["issued"], world["anchor"]
    admin_client.post(url(IssuedCertificate, "changelist"), {"action": "revoke", "_selected_action": [issued.pk]})
    issued.refresh_from_db()
    assert issued.revoke_time is not None and issued.revocation_reason == "unspecified"
    event = AuditEvent.objects.get(action="Admin:revokeCertificate")
    assert event.account_id == world["ca"].account_id and event.detail["serialNumber"] == issued.serial_number
    admin_client.post(url(TrustAnchor, "changelist"), {"action": "disable", "_selected_action": [anchor.pk]})
    anchor.refresh_from_db()
    assert anchor.enabled is False and AuditEvent.objects.filter(action="Admin:disableTrustAnchor").exists()


def test_a_subject_disabled_in_the_admin_gets_no_session(admin_client, world):
    subject, workload = world["subject"], world["workload"]
    admin_client.post(url(Subject, "changelist"), {"action": "disable", "_selected_action": [subject.pk]})
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 403
    assert AuditEvent.objects.get(action="Admin:disableSubject").account_id == subject.account_id
