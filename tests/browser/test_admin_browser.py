"""The admin in a real browser: sign in, the usage dashboard, the sub account form with its structured fields,
issuing an access key and seeing its secret once. Each step saves a screenshot under var/screenshots/."""

import re

import pytest

from iam.models import AccessKey, SubAccount
from iam.secrets import decrypt_secret
from iam.services.accounts import account_create
from iam.services.groups import group_create
from tests.browser.conftest import VIEWPORT, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_window(page) -> bool:
    """Nothing scrolls sideways: not the page, and not a change list inside its own scrolling box."""
    return page.evaluate(
        """width => document.documentElement.scrollWidth <= width
            && [...document.querySelectorAll('#result_list, #usage-dashboard table')]
                .every(t => t.scrollWidth <= t.parentElement.clientWidth)""",
        VIEWPORT["width"],
    )


def test_sign_in_and_the_dashboard(page, live_server, staff_password, screenshot_dir):
    account, _, _ = account_create(name="Acme", member_no=2942)
    group_create(account=account, name="ops")
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    page.screenshot(path=str(screenshot_dir / "01-login.png"))
    sign_in(page, live_server, staff_password)

    assert "IAM: Sub Account, STS and External Access administration" in page.inner_text("#site-name")
    usage = page.locator("#usage-dashboard")
    assert usage.locator("caption").text_content() == "Main accounts: usage against the limits"
    row = usage.locator("tbody tr").filter(has_text="Acme (2942)")
    cells = [c.strip() for c in row.locator("td.usage").all_inner_texts()]
    assert [re.sub(r"\s+", " ", c).split(" ")[:3] for c in cells] == [
        ["0", "/", "500"],
        ["1", "/", "300"],
        ["0", "/", "500"],
        ["0", "/", "500"],
    ]
    assert page.get_by_role("link", name="Staff groups").count() == 1
    assert page.get_by_role("link", name="Groups", exact=True).count() == 1
    assert page.get_by_role("link", name="View site").get_attribute("href") == "/api/docs/"
    assert fits_the_window(page)
    page.screenshot(path=str(screenshot_dir / "02-dashboard.png"), full_page=True)


def test_the_sub_account_form_issue_a_key_and_see_its_secret_once(page, live_server, staff_password, screenshot_dir):
    account, _, _ = account_create(name="Acme", member_no=2942)
    sign_in(page, live_server, staff_password)

    page.goto(f"{live_server.url}/admin/iam/subaccount/add/")
    # The account field is the admin's autocomplete (select2): type and pick, as a person does.
    page.click(".field-account .select2-selection")
    page.fill(".select2-search__field", "Acme")
    page.click(".select2-results__option:has-text('Acme (2942)')")
    page.fill("#id_login_id", "carol")
    page.fill("#id_name", "Carol")
    page.fill("#id_email", "carol@example.com")
    page.check("#id_generate_password")
    assert "One IP address or CIDR block a line" in page.inner_text(".field-console_permit_ips")
    page.check("#id_use_console_permit_ip")
    page.fill("#id_console_permit_ips", "203.0.113.7\nnot-an-ip")
    page.fill("#id_api_allow_sources", "IP 198.51.100.0/24\nVPC 12345")
    page.fill("#id_tags", "team = platform")
    page.screenshot(path=str(screenshot_dir / "03-sub-account-form.png"), full_page=True)
    page.click("input[name=_continue]")

    # A bad line: the error names it, nothing is saved.
    error = page.locator(".field-console_permit_ips .errorlist")
    assert error.inner_text() == "Line 2: not an IP address or CIDR block."
    assert not SubAccount.objects.filter(login_id="carol").exists()
    page.screenshot(path=str(screenshot_dir / "04-sub-account-field-error.png"), full_page=True)

    page.fill("#id_console_permit_ips", "203.0.113.7\n10.0.0.0/24")
    page.check("#id_generate_password")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    sub = SubAccount.objects.get(login_id="carol")
    assert sub.console_permit_ips == ["203.0.113.7", "10.0.0.0/24"]
    assert sub.api_allow_sources == [{"type": "IP", "source": "198.51.100.0/24"}, {"type": "VPC", "source": "12345"}]
    assert sub.tags == {"team": "platform"}
    assert "Generated password of carol" in page.inner_text(".messagelist")

    page.click("button.issuekeylink")
    page.wait_for_selector(".messagelist")
    key = AccessKey.objects.get(sub_account=sub, kind=AccessKey.SUB_ACCOUNT)
    secret = decrypt_secret(key.secret_encrypted)
    message = page.inner_text(".messagelist")
    assert key.access_key in message and secret in message and "only time" in message
    # The secret sits in the page's message, never in the key list below it.
    assert page.locator(".messagelist").count() == 1
    assert key.access_key in page.inner_text("#access_keys-group")
    page.screenshot(path=str(screenshot_dir / "05-access-key-issued.png"), full_page=True)

    page.reload()
    assert secret not in page.content()
    page.goto(f"{live_server.url}/admin/iam/subaccount/")
    assert fits_the_window(page)
    page.screenshot(path=str(screenshot_dir / "06-sub-account-list.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/iam/accesskey/")
    assert fits_the_window(page)
    page.screenshot(path=str(screenshot_dir / "07-access-key-list.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/iam/auditevent/")
    assert fits_the_window(page)
    page.screenshot(path=str(screenshot_dir / "08-audit-list.png"), full_page=True)
