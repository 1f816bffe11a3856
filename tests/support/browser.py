"""Playwright driving Debian's Chromium (/usr/bin/chromium) for browser tests.

Never downloads a browser. If Chromium is missing or cannot start, the test
FAILS with what to install; it never skips.

Use in a conftest.py:

    from tests.support.browser import browser, page  # noqa: F401  (fixtures)

then in a test (on a live server, see tests/support/live.py):

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_it_...(live_server_url, page):
        page.goto(live_server_url + "/login/")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        screenshot(page, "login")

`page` saves a screenshot named after the test when the test ends (passed or
failed) under test-artifacts/screenshots/; `screenshot(page, name)` saves one
at any step. Outside pytest fixtures, `launch_chromium()` is a context manager
yielding a Browser.

Pages never leave loopback: every context made from the `browser` fixture
(the `page` fixture's, and any a test makes with `browser.new_context()`)
aborts each request and websocket to anything but 127.0.0.0/8, localhost and
[::1] before it is sent (so before any DNS lookup), and the test fails at
teardown with the URLs its pages tried. data:, blob: and about: URLs never
reach the network and are left alone.
"""

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's expect() default; pages here answer fast, but CI boxes are slow.
DEFAULT_TIMEOUT_MS = 10_000

# Every URL off loopback. Playwright's driver matches it (as a JavaScript
# regex, so keep to syntax both languages read alike): loopback requests are
# never intercepted and pay nothing for the guard.
OFF_LOOPBACK = re.compile(
    r"^(?!(?:https?|wss?)://(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?(?:[/?#]|$)|data:|blob:|about:)"
)

# Never fetch a browser, even if some code path asks Playwright to.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def _cannot_start(reason: str):
    pytest.fail(
        f"Chromium for browser tests could not start: {reason}\n"
        f"Browser tests use Debian's Chromium at {CHROMIUM} (never a downloaded one): "
        "install it with `apt-get install -y chromium` (or `make chromium`).",
        pytrace=False,
    )


@contextmanager
def launch_chromium(**launch_options):
    """A headless Chromium Browser; fails the test if it cannot start."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _cannot_start(f"{CHROMIUM} is not an executable file")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **launch_options
            )
        except PlaywrightError as error:
            _cannot_start(str(error).splitlines()[0] if str(error) else repr(error))
        try:
            yield browser
        finally:
            try:
                browser.close()
            finally:
                _close_database_connections()


def _close_database_connections():
    """While Playwright's sync API is active, code runs in another
    contextvars context, so Django opens other database connections there;
    close them before leaving it, or they stay open and block dropping the
    test database."""
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
    path = SCREENSHOTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, base_url: str, user) -> None:
    """Sign in through the login form (the cast's password) and wait for
    the signed-in page."""
    from playwright.sync_api import expect

    from tests.support.cast import PASSWORD

    page.goto(base_url + "/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


class LoopbackOnly:
    """Aborts what the pages of the contexts it guards ask of anything but
    loopback, and keeps the URLs they asked for."""

    def __init__(self):
        self.aborted: list[str] = []

    def guard(self, context):
        context.route(OFF_LOOPBACK, self._abort)
        context.route_web_socket(OFF_LOOPBACK, self._refuse)
        return context

    def guard_browser(self, browser):
        """Guard every context `browser.new_context()` and `browser.new_page()` make."""
        new_context = browser.new_context

        def guarded_new_context(*args, **kwargs):
            return self.guard(new_context(*args, **kwargs))

        def guarded_new_page(*args, **kwargs):
            # What Playwright's new_page does: a context of its own, closed with the page.
            context = guarded_new_context(*args, **kwargs)
            page = context.new_page()
            page.on("close", lambda _: context.close())
            return page

        browser.new_context = guarded_new_context
        browser.new_page = guarded_new_page
        return browser

    def _abort(self, route):
        self.aborted.append(route.request.url)
        route.abort("blockedbyclient")

    def _refuse(self, websocket):
        self.aborted.append(websocket.url)
        websocket.close()

    def check(self):
        if self.aborted:
            pytest.fail(
                "the page tried to reach beyond loopback (aborted): " + ", ".join(dict.fromkeys(self.aborted)),
                pytrace=False,
            )


@pytest.fixture
def browser():
    loopback_only = LoopbackOnly()
    with launch_chromium() as browser:
        yield loopback_only.guard_browser(browser)
    loopback_only.check()


@pytest.fixture
def page(browser, request):
    """A fresh page (own cookies); screenshot `<test name>-final.png` at the end."""
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        try:
            screenshot(page, f"{request.node.name}-final")
        finally:
            context.close()
