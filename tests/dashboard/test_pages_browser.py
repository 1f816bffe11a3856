"""The dashboard's pages in a real browser, under the content security
policy (the `browser` fixture fails on any violation): the Overview updates
live; the Log, settings, team and overview pages pass axe-core and do not
overflow at 1280, 800 and 390 px; and the layout fixes as a user meets
them (copy buttons that copy and stay put, the Log's Clear link on the
buttons' line, the snippet without a leading space, the demo-page link,
the invitation link under the console email backend, the favicon, and the
widget asking nothing of a visitor with no conversation and showing
initials for an avatar that cannot load)."""

import pytest
from playwright.sync_api import expect

from messaging.models import App, Invitation
from messaging.services.messages import post_message
from tests.support.browser import assert_accessible, log_in, screenshots_at_widths
from tests.support.live import LiveServer
from tests.support.ws import make_client, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def live_server_url(django_db_setup, django_db_blocker):
    """One server for the module (starting one takes a second or two): each
    test's data is its own (the database is emptied after each), and each
    signs in again."""
    with django_db_blocker.unblock():
        server = LiveServer(worker=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def alice(app):
    user = make_user(app, "alice", given_name="Alice", email="alice@example.org")
    make_client(user, "web", minutes_ago=1)
    post_message(user, role="appUser", fields={"type": "text", "text": "Hello"}, source={"type": "web"})
    return user


@pytest.fixture
def clipboard_page(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    return page


def not_found_responses(page):
    missing = []
    page.on("response", lambda response: response.status == 404 and missing.append(response.url))
    return missing


def test_the_overview_updates_live(live_server_url, page, owner, app, alice):
    log_in(page, live_server_url, owner)
    page.goto(f"{live_server_url}/apps/{app.id}/overview/")
    expect(page.locator("#live-status")).to_have_text("Live")
    business = page.locator(".stat", has_text="Business messages").locator("dd")
    expect(business).to_have_text("0")

    post_message(alice, role="appMaker", fields={"type": "text", "text": "Hi Alice"})
    expect(business).to_have_text("1")
    post_message(alice, role="appMaker", fields={"type": "text", "text": "Still there?"})
    expect(business).to_have_text("2")
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # no reload


def test_the_pages_pass_axe_and_fit_every_width(live_server_url, page, owner, team, app, alice):
    pages = {
        "log": f"/apps/{app.id}/log/",
        "settings": f"/apps/{app.id}/settings/",
        "team": f"/teams/{team.id}/",
        "audit": f"/teams/{team.id}/audit/",
        "overview": f"/apps/{app.id}/overview/",
        "inbox": f"/apps/{app.id}/inbox/open/{alice.id}/",
        "conversation": f"/apps/{app.id}/users/{alice.id}/",
    }
    log_in(page, live_server_url, owner)
    missing = not_found_responses(page)
    for name, path in pages.items():
        page.goto(live_server_url + path)
        expect(page.locator("main h1, main h2").first).to_be_visible()
        assert_accessible(page)
        screenshots_at_widths(page, f"dashboard-{name}")
    assert missing == []  # the favicon too


def test_copy_buttons_copy_without_moving_anything_and_clear_sits_on_the_buttons_line(
    live_server_url, clipboard_page, owner, app, alice
):
    page = clipboard_page
    log_in(page, live_server_url, owner)
    page.goto(f"{live_server_url}/apps/{app.id}/log/")
    row = page.locator(".log-row", has_text="Hello").first
    button = row.get_by_role("button", name=f"Copy user ID {alice.id}")
    link = row.locator(".conversation-link")
    before = (button.bounding_box(), link.bounding_box())
    button.click()
    expect(button).to_have_text("Copied")
    assert (button.bounding_box(), link.bounding_box()) == before
    assert page.evaluate("() => navigator.clipboard.readText()") == alice.id

    clear = page.locator(".log-filters a.clear-filters").bounding_box()
    filter_button = page.locator(".log-filters").get_by_role("button", name="Filter").bounding_box()
    assert abs((clear["y"] + clear["height"]) - (filter_button["y"] + filter_button["height"])) <= 2
    assert abs(clear["height"] - filter_button["height"]) <= 2


def test_app_id_token_secret_and_snippet_have_copy_buttons_and_the_demo_link(
    live_server_url, clipboard_page, owner, team
):
    page = clipboard_page
    log_in(page, live_server_url, owner)
    page.goto(f"{live_server_url}/teams/{team.id}/apps/new/")
    page.get_by_label("App name").fill("Storefront")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Storefront")).to_be_visible()
    app = App.objects.get(name="Storefront")

    page.get_by_role("button", name=f"Copy app ID {app.id}").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == app.id
    page.get_by_role("button", name=f"Copy app token {app.app_token}").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == app.app_token
    page.get_by_label("Key name").fill("backend")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("code.new-key-secret")
    expect(secret).to_be_visible()
    page.locator(".secret-box").get_by_role("button", name="Copy key secret", exact=False).click()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret.inner_text()

    demo = page.get_by_role("link", name="Try the app on its demo page")
    assert demo.get_attribute("href") == f"/demo/{app.id}/"

    page.goto(f"{live_server_url}/apps/{app.id}/widget/")
    snippet = page.locator("#widget-snippet")
    assert snippet.evaluate("el => getComputedStyle(el).paddingLeft") == "0px"
    page.get_by_role("button", name="Copy the embed snippet").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith('<script src="http://127.0.0.1:')
    assert copied.endswith(f'Parley.init({{appToken: "{app.app_token}"}});</script>')


def test_an_invitation_under_the_console_backend_shows_its_link_to_copy(
    live_server_url, clipboard_page, owner, team
):
    page = clipboard_page
    log_in(page, live_server_url, owner)
    page.goto(f"{live_server_url}/teams/{team.id}/")
    page.locator("#invitations").get_by_label("Email").fill("newbie@example.com")
    page.get_by_role("button", name="Send invitation").click()
    link = page.locator("#invite-link")
    expect(link).to_be_visible()
    invitation = Invitation.objects.get(email="newbie@example.com")
    assert link.inner_text() == f"{live_server_url}/invite/{invitation.token}/"
    page.get_by_role("button", name="Copy invitation link", exact=False).click()
    assert page.evaluate("() => navigator.clipboard.readText()") == link.inner_text()


@pytest.mark.require_user_jwt(False)
def test_the_widget_asks_no_history_of_a_new_visitor_and_shows_initials_for_a_dead_avatar(
    live_server_url, page, app
):
    app.settings = {**(app.settings or {}), "widget": {"name": "Acme", "iconUrl": "http://127.0.0.1:9/icon.png"}}
    app.save()
    asked = []
    page.on("request", lambda request: "/messages" in request.url and asked.append(request.method + " " + request.url))
    missing = not_found_responses(page)
    page.goto(f"{live_server_url}/demo/{app.id}/")
    launcher = page.get_by_role("button", name="Open chat with Acme")
    expect(launcher.locator("svg")).to_be_visible()  # the dead icon gave way to the chat icon
    launcher.click()
    composer = page.get_by_label("Type a message")
    expect(composer).to_be_visible()
    assert asked == [] and missing == []

    from messaging.models import AppUser

    composer.fill("Hi there")
    composer.press("Enter")
    expect(page.locator(".pm-appUser", has_text="Hi there")).to_contain_text("Sent")
    visitor = AppUser.objects.get(app=app)
    assert visitor.conversation_started
    post_message(visitor, role="appMaker", fields={"type": "text", "text": "Welcome!", "name": "Ada Lovelace"})
    expect(page.locator(".pm-author .pm-initials")).to_have_text("AL")
    assert page.locator(".pm-author img").count() == 0
    assert [url for url in missing if "/messages" in url] == []
