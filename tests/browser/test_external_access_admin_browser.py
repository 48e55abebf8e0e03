"""External Access's admin screens in a real browser: every list and page shows what staff need (a CRL's import
progress, a subject's certificates and sessions) and no CA key; disabling a CRL through the action takes it out of
force. Each screen is saved under var/screenshots/ and was looked at."""

import pytest

from external_access.models import Crl, Subject
from external_access.services import crls, trust_anchors
from tests.browser.conftest import VIEWPORT, sign_in
from tests.conftest import make_tenant
from tests.external_access import pki
from tests.external_access.test_sessions import Workload, call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    workload = Workload(make_tenant("Acme", member_no=2942))
    assert call(workload.body(), workload.key, workload.certificate)[0].status_code == 201
    outside, key = pki.outside_ca("Outside Root")
    anchor = trust_anchors.trust_anchor_create(
        account=workload.tenant.account,
        name="outside",
        enabled=True,
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pki.pem(outside)}},
    )
    crl = crls.crl_create(
        trust_anchor=anchor, name="outside-crl", crl_data=pki.crl_base64(pki.crl(outside, key, range(1, 1001)))
    )
    crls.crl_import_run(crl_id=crl.pk, generation=1, batch_size=400)
    return workload, anchor, Crl.objects.get(pk=crl.pk)


def fits_the_window(page) -> bool:
    return page.evaluate(
        "width => document.documentElement.scrollWidth <= width"
        " && [...document.querySelectorAll('#result_list')].every(t => t.scrollWidth <= t.parentElement.clientWidth)",
        VIEWPORT["width"],
    )


def test_every_external_access_screen(page, live_server, staff_password, screenshot_dir, world):
    workload, anchor, crl = world
    sign_in(page, live_server, staff_password)
    page.goto(f"{live_server.url}/admin/")
    section = page.locator("#content-main .app-external_access")
    for name in ("CRLs", "Issued certificates", "Private CAs", "Profiles", "Subjects", "Trust anchors"):
        assert section.get_by_role("link", name=name, exact=True).count() == 1, name
    screens = [
        ("certificateauthority", ["workloads", "Root"]),
        ("issuedcertificate", ["CN=batch-worker-1"]),
        ("trustanchor", ["workloads", "outside"]),
        ("crl", ["outside-crl", "1,000 of 1,000 (100%)"]),
        ("profile", ["batch"]),
        ("subject", ["CN=batch-worker-1"]),
    ]
    for model, shown in screens:
        page.goto(f"{live_server.url}/admin/external_access/{model}/")
        text = page.inner_text("#content")
        for expected in shown:
            assert expected in text, (model, expected)
        assert "PRIVATE KEY" not in page.content()
        assert fits_the_window(page), model
        page.screenshot(path=str(screenshot_dir / f"ea-{model}-list.png"), full_page=True)

    subject = Subject.objects.get()
    page.goto(f"{live_server.url}/admin/external_access/subject/{subject.pk}/change/")
    text = page.inner_text("#content")
    assert "CN=Workload CA" in text and "Issued" in text and workload.role.nrn in text
    page.screenshot(path=str(screenshot_dir / "ea-subject-page.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/external_access/crl/")
    page.check(f"input[name=_selected_action][value='{crl.pk}']")
    page.select_option("select[name=action]", "disable")
    page.click("button[name=index]")
    assert "Disabled 1 CRLs." in page.inner_text(".messagelist")
    assert not crls.is_revoked(anchor, 5)
    page.screenshot(path=str(screenshot_dir / "ea-crl-disabled.png"), full_page=True)
