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


WIDTHS = (1280, 800, 390)
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
PAGE_SCREENSHOTS = ROOT / "var" / "screenshots"


def assert_no_horizontal_overflow(page) -> None:
    """Nothing on the page reaches past the viewport sideways
    (`scrollWidth <= innerWidth`); the message names the widest elements."""
    widths = page.evaluate(
        """() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                   wide: [...document.querySelectorAll("body *")]
                     .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
                     .slice(0, 5).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                       + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""))})"""
    )
    assert widths["scroll"] <= widths["inner"], (
        f"the page overflows sideways at {widths['inner']} px (scrollWidth {widths['scroll']}): "
        + ", ".join(widths["wide"])
    )


def screenshots_at_widths(page, name: str, widths=WIDTHS) -> list[Path]:
    """Resize the page to each width, assert no horizontal overflow there,
    and save a full-page `var/screenshots/<name>-<width>.png`; the viewport
    is put back afterwards."""
    PAGE_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
    before = page.viewport_size
    paths = []
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            assert_no_horizontal_overflow(page)
            path = PAGE_SCREENSHOTS / f"{safe}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
    finally:
        if before:
            page.set_viewport_size(before)
    return paths


def install_axe() -> Path:
    """axe-core from tests/js (npm install there once when it is missing,
    as tests/api/test_smooch_core.py installs the Smooch clients)."""
    if not AXE.is_file():
        from tests.api.test_smooch_core import install_smooch_core

        install_smooch_core()
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE} after npm install in tests/js", pytrace=False)
    return AXE


def assert_accessible(page, impacts=("serious", "critical")) -> None:
    """axe-core (injected into the page) finds no violation of these
    impacts; the message lists each rule with the elements it flagged."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # Evaluated through the DevTools protocol: no page policy applies.
        page.evaluate(install_axe().read_text())
    violations = page.evaluate(
        """async (impacts) => {
            const result = await window.axe.run(document, {resultTypes: ["violations"]});
            return result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }""",
        list(impacts),
    )
    assert not violations, "accessibility violations:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']} at {', '.join(v['nodes'])}" for v in violations
    )


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


class ContextGuard:
    """Something done to every context a browser makes (`guard(context)`),
    checked when the test ends (`check()`)."""

    def guard(self, context):
        raise NotImplementedError

    def check(self):
        raise NotImplementedError

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


class LoopbackOnly(ContextGuard):
    """Aborts what the pages of the contexts it guards ask of anything but
    loopback, and keeps the URLs they asked for."""

    def __init__(self):
        self.aborted: list[str] = []

    def guard(self, context):
        context.route(OFF_LOOPBACK, self._abort)
        context.route_web_socket(OFF_LOOPBACK, self._refuse)
        return context

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


# Every content security policy violation a page meets, as the browser
# reports it to the page, logged to the console with this prefix (a
# Playwright init script, which no page policy governs).
CSP_PREFIX = "Content Security Policy violation:"
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(%s + " " + event.violatedDirective + " blocked " + (event.blockedURI || "inline")
    + " on " + event.documentURI + (event.sourceFile ? " from " + event.sourceFile + ":" + event.lineNumber : "")
    + (event.sample ? " (" + event.sample + ")" : ""));
}, true);
""" % repr(CSP_PREFIX)


class NoCspViolations(ContextGuard):
    """Fails the test on any content security policy violation in the pages
    of the contexts it guards: the dashboard must work under its policy
    (settings.SECURE_CSP), so a blocked inline script, style or source is
    a bug even when the page still looks right. Both the listener's lines
    and Chromium's own "Refused to ..." console errors count."""

    def __init__(self):
        self.violations: list[str] = []

    def guard(self, context):
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)
        return context

    def _console(self, message):
        text = message.text
        if text.startswith(CSP_PREFIX) or (
            text.startswith("Refused to") and "Content Security Policy" in text
        ):
            self.violations.append(text)

    def check(self):
        if self.violations:
            pytest.fail(
                "content security policy violated:\n" + "\n".join(dict.fromkeys(self.violations)),
                pytrace=False,
            )


@pytest.fixture
def browser():
    """Chromium whose pages stay on loopback and meet no CSP violation."""
    guards = [LoopbackOnly(), NoCspViolations()]
    with launch_chromium() as browser:
        for guard in guards:
            browser = guard.guard_browser(browser)
        yield browser
    for guard in guards:
        guard.check()


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
