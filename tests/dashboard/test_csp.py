"""The content security policy (settings.SECURE_CSP, dashboard/csp.py): the
dashboard's pages carry it and may not be framed; the widget's endpoints
(the API, media, the script itself) carry none or their own; the demo page
may be framed anywhere. In a browser, the fixture every browser test uses
fails a test on a violation (proved here), and the dashboard runs clean."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import NoCspViolations, launch_chromium, log_in
from tests.support.live import LiveServer

DASHBOARD_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self' 'report-sample'",
    "style-src": "'self' 'report-sample'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict:
    parsed = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        parsed[name] = value
    return parsed


@pytest.mark.django_db
def test_it_sends_the_dashboard_policy_on_dashboard_pages(owner_client, app):
    from django.test import Client

    anonymous = directives(Client().get("/login/").headers["Content-Security-Policy"])
    assert anonymous | DASHBOARD_DIRECTIVES == anonymous
    for url in (f"/apps/{app.id}/settings/", f"/apps/{app.id}/log/", f"/apps/{app.id}/overview/"):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        policy = directives(response.headers["Content-Security-Policy"])
        for name, value in DASHBOARD_DIRECTIVES.items():
            assert policy[name] == value, (url, name)
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_it_sends_no_page_policy_on_the_widgets_api_and_a_sandbox_on_media(client, app):
    init = client.post("/v1/init", {"device": {"id": "d1", "platform": "web"}},
                       content_type="application/json", headers={"app-token": app.app_token})
    assert init.status_code in (200, 401)  # requireUserJwt may refuse: the header is what matters
    assert "Content-Security-Policy" not in init.headers
    missing = client.get("/v1/apps/nope")
    assert "Content-Security-Policy" not in missing.headers
    media = client.get("/media/nothing-here.png")
    assert directives(media.headers["Content-Security-Policy"]) == {
        "default-src": "'none'", "img-src": "'self'", "sandbox": ""
    }


@pytest.mark.django_db
def test_the_demo_page_may_be_framed_on_other_sites_with_its_own_scripts_only(client, app):
    response = client.get(f"/demo/{app.id}/")
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "*"
    assert policy["script-src"] == "'self' 'report-sample'"
    assert "X-Frame-Options" not in response.headers
    html = response.content.decode()
    assert "<style" not in html and "<script>" not in html


def test_the_templates_have_no_inline_script_style_or_hx_on():
    """What the policy would block, caught before a browser runs: every
    template outside the conversation page (its own change checks it)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        text = path.read_text()
        for needle in ("<script>", "<style", " style=", "hx-on", " onclick=", " onload=", " onerror="):
            if needle in text and path.name != "conversation.html":
                offenders.append(f"{path.relative_to(root)}: {needle.strip()}")
    assert offenders == []


BLOCKED_PAGE = """<!doctype html><title>t</title><p id="p">page</p>
<script>window.inlineRan = true;</script>"""


@pytest.mark.browser
def test_the_csp_fixture_fails_a_test_on_a_violation():
    """A page under `script-src 'self'` with an inline script: the browser
    blocks it, and the guard every browser test has fails the test."""
    guard = NoCspViolations()
    with launch_chromium() as browser:
        page = guard.guard(browser.new_context()).new_page()
        page.route("http://127.0.0.1:9/strict", lambda route: route.fulfill(
            body=BLOCKED_PAGE, content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'self'"},
        ))
        page.goto("http://127.0.0.1:9/strict")
        expect(page.locator("#p")).to_have_text("page")
        assert page.evaluate("() => window.inlineRan") is None
        page.wait_for_function("() => true")
    with pytest.raises(pytest.fail.Exception) as failure:
        guard.check()
    assert "script-src-elem blocked inline" in str(failure.value)


@pytest.fixture
def live_server_url():
    server = LiveServer(worker=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_dashboard_page_blocks_an_injected_inline_script_and_the_guard_reports_it(live_server_url, owner, app):
    guard = NoCspViolations()
    with launch_chromium() as browser:
        page = guard.guard(browser.new_context()).new_page()
        log_in(page, live_server_url, owner)
        page.goto(f"{live_server_url}/apps/{app.id}/settings/")
        assert guard.violations == []  # the real page runs clean
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.injected = 1"; document.body.append(s); }""")
        page.wait_for_function("() => document.readyState === 'complete'")
        assert page.evaluate("() => window.injected") is None
    assert any("script-src-elem blocked inline" in v for v in guard.violations), guard.violations
