"""CRL imports through a real Celery worker on PostgreSQL and Redis: the API queues the import, the worker stores the
serials and puts the list in force; a worker killed midway leaves the previous list in force until the import is
resumed and completes."""

import datetime as dt
import signal
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from external_access.models import Crl, RevokedSerial, TrustAnchor
from external_access.services import crls
from iam import outbox
from tests.conftest import make_tenant
from tests.external_access import pki
from tests.integration.conftest import AVAILABLE, NEEDS, _forget_queue, start_worker, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.real_broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not AVAILABLE, reason=NEEDS),
]


def big_crl(issuer, key, serials) -> str:
    now = pki.now()
    revoked = [x509.RevokedCertificateBuilder().serial_number(s).revocation_date(now).build() for s in serials]
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=issuer.subject,
        last_update=now,
        next_update=now + dt.timedelta(days=1),
        revoked_certificates=revoked,
    )
    return pki.crl_base64(builder.sign(key, hashes.SHA256()))


@pytest.fixture
def anchor_and_ca():
    tenant = make_tenant("Alpha", member_no=2942)
    certificate, key = pki.outside_ca("Outside Root")
    anchor = TrustAnchor.objects.create(
        account=tenant.account,
        name="outside",
        enabled=True,
        source_type=TrustAnchor.CERTIFICATE_BUNDLE,
        certificate_bundle_pem=pki.pem(certificate),
    )
    return tenant, anchor, certificate, key


def test_the_api_queues_the_import_and_the_worker_puts_it_in_force(worker, api, anchor_and_ca):
    tenant, anchor, certificate, key = anchor_and_ca
    uri = f"/api/v1/trust-anchors/{anchor.trust_anchor_id}/crls"
    response = api.call(
        "POST", uri, {"name": "crl-1", "crlData": big_crl(certificate, key, range(1, 20_001))}, creds=tenant.root
    )
    assert response.status_code == 200, response.json()
    crl = wait_for(lambda: Crl.objects.filter(import_status=Crl.ACTIVE).first(), "the worker to import the CRL")
    assert (crl.stored_serials, crl.total_serials) == (20_000, 20_000)
    assert crls.is_revoked(anchor, 19_999) and not crls.is_revoked(anchor, 20_001)
    detail = api.call("GET", f"{uri}/{crl.crl_id}", creds=tenant.root).json()
    assert (detail["importStatus"], detail["inForce"]) == ("ACTIVE", True)


def test_a_worker_killed_midway_leaves_the_previous_list_in_force(worker, anchor_and_ca, tmp_path):
    tenant, anchor, certificate, key = anchor_and_ca
    crl = crls.crl_create(trust_anchor=anchor, name="crl-1", crl_data=big_crl(certificate, key, [1, 2, 3]))
    crls.crl_import_run(crl_id=crl.pk, generation=1)
    assert crls.is_revoked(anchor, 2)

    # A second worker of its own, importing in small batches so there is a "midway" to kill it at.
    queue = f"iam-test-kill-{uuid.uuid4().hex[:8]}"
    victim = start_worker(worker.app, queue, tmp_path / "victim.log", {"EXTERNAL_ACCESS_CRL_IMPORT_BATCH": "500"})
    try:
        new_list = big_crl(certificate, key, range(1000, 201_000))
        with worker.broker_down():  # its outbox message stays pending: only the second worker gets the import
            crl = crls.crl_update(crl=Crl.objects.get(pk=crl.pk), crl_data=new_list)  # generation 2
        worker.app.send_task(crls.IMPORT_TASK, args=[crl.pk, 2], queue=queue)
        wait_for(
            lambda: Crl.objects.filter(pk=crl.pk, import_status=Crl.IMPORTING, stored_serials__gte=2000).exists(),
            "the second worker to be midway",
            timeout=60,
        )
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=10)
    finally:
        if victim.alive():
            victim.process.kill()
        _forget_queue(victim.broker_url, queue)  # the killed worker's unacknowledged message goes with its queue
    crl.refresh_from_db()
    assert crl.import_status == Crl.IMPORTING and crl.active_generation == 1
    assert 2000 <= crl.stored_serials < 200_000
    # The previous list is the one in force; the partial new one is in force nowhere.
    assert crls.is_revoked(anchor, 2) and not crls.is_revoked(anchor, 1500)

    # The resume job (its worker gone for longer than STALE_IMPORT_AFTER) queues it again; the session's worker
    # completes it, and only then does the new list replace the old one.
    assert crls.stale_imports_resume(now=crl.import_started_time + crls.STALE_IMPORT_AFTER * 2) == 1
    outbox.relay()
    wait_for(lambda: Crl.objects.filter(pk=crl.pk, import_status=Crl.ACTIVE).exists(), "the resumed import", timeout=90)
    crl.refresh_from_db()
    assert (crl.active_generation, crl.stored_serials) == (2, 200_000)
    assert not crls.is_revoked(anchor, 2) and crls.is_revoked(anchor, 1500)
    assert RevokedSerial.objects.filter(crl=crl).count() == 200_000  # neither doubled nor mixed with the old list
