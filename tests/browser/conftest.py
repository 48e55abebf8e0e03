"""Browser tests: Playwright for Python driving Debian's Chromium (``scripts/install_browser.sh`` installs it; no
browser is ever downloaded) against pytest-django's live server. They skip, saying why, only when /usr/bin/chromium
is absent. Screenshots go to ``var/screenshots/`` (or ``$DATA_DIR/screenshots``) for a person to look at."""

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The width the admin's lists must fit.
VIEWPORT = {"width": 1400, "height": 900}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Chromium (/usr/bin/chromium) against a live server")


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is absent: run scripts/install_browser.sh (Debian's chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API keeps an event loop running in this thread while it is
    open, which Django takes for an async context: the tests' own (synchronous) ORM calls are allowed meanwhile, and
    the loop is gone again before the next module's tests."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def staff_password(transactional_db) -> str:
    from django.contrib.auth import get_user_model

    password = "browser-Pass-1"
    get_user_model().objects.create_superuser("admin", "admin@example.invalid", password)
    return password


def sign_in(page, live_server, password: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
