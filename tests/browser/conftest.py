"""Playwright driving Debian's Chromium (never a downloaded browser) against the tracker on
loopback: pytest-django's live_server, with the demo record loaded by load_demo.

Skipped, with the reason, only where /usr/bin/chromium is missing; .ci/run installs it.
"""

import os
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.reminder_helpers import CountingHandler, LoopbackController

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# The docs' pictures are refreshed by `make screenshots` (TRACKER_SCREENSHOTS=1); other runs
# keep theirs in a temporary folder, so `make test` leaves the work tree as it was.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("TRACKER_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "tracker-screenshots"
)
DEMO_PASSWORD = "browser-demo-password"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install -y chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API runs an event loop in this thread
    while it lives, and the tests and the demo loader use the ORM from here, which Django
    refuses inside a running loop unless allowed: allowed only while the browser is open, so
    the tests after these run as usual."""
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def demo(live_server, transactional_db, monkeypatch, settings):
    """The demo record (the Ashgabat document, its history, the demo accounts) on a live server.

    The demo's superuser logs in with the password alone here: these tests are about the pages,
    and two-factor authentication, which a superuser must otherwise set up first, has its own
    tests (tests/tracker/test_two_factor.py)."""
    settings.TRACKER_TWO_FACTOR_REQUIRED = False
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    call_command("load_demo", verbosity=0)
    return live_server


@pytest.fixture
def smtp_sink(settings):
    """An SMTP server on loopback that keeps what it receives; Django's mail goes there."""
    handler = CountingHandler()
    controller = LoopbackController(handler)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.fixture
def page(browser, demo):
    context = browser.new_context(
        base_url=demo.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)  # a shared machine: generous, never asserted on
    yield page
    context.close()


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def screenshot(page, name: str) -> None:
    """Saved for the docs; `make screenshots` runs only these tests to regenerate them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page (injected from node_modules).

    evaluate() runs through the DevTools protocol, so the page's CSP does not block it.
    """
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` at the top of the repository")
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
