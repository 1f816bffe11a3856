"""The inbox in a real browser on a real server: moving between
conversations without a page load (and back), the keyboard, another
agent's assignment arriving live, and the layout at 1280, 800 and 390 px
(screenshots under var/screenshots/, no sideways overflow at any)."""

import re

import pytest
from playwright.sync_api import expect

from messaging.models import AppUser, ConversationStatus, Membership
from messaging.services.messages import post_message
from tests.support.browser import ROOT, log_in
from tests.support.live import LiveServer, wait_until
from tests.support.ws import make_client

SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="module")
def live_server_url(django_db_setup, django_db_blocker):
    """One server for the module (starting daphne is most of a test's
    time); each test's transactional database is flushed under it."""
    with django_db_blocker.unblock():
        server = LiveServer(worker=False)
    try:
        yield server.url
    finally:
        server.stop()


def person(app, minutes_ago, text, **fields):
    user = AppUser.objects.create(app=app, **fields)
    make_client(user, "web", minutes_ago=minutes_ago)
    post_message(user, role="appUser", fields={"type": "text", "text": text}, source={"type": "web"})
    return user


@pytest.fixture
def conversations(app):
    """Three open, unassigned conversations; the latest activity first: Cy, the visitor, Ada."""
    ada = person(app, 3, "Where is my order?", user_id="ada-1", given_name="Ada", surname="Lovelace",
                 email="ada.lovelace.with.a.long.address@example.org")
    visitor = person(app, 2, "Anyone there?")
    cy = person(app, 1, "Do you ship to Lisbon?", user_id="cy", given_name="Cy")
    return [cy, visitor, ada]


def row(page, app_user):
    return page.locator(f'#inbox-rows > li[data-user-id="{app_user.id}"]')


def mark_window(page):
    """A marker only this window has, and a count of `load` events after it."""
    page.evaluate("window.__inboxMarker = 'kept'; window.__loads = 0;"
                  "window.addEventListener('load', function () { window.__loads += 1; });")


def same_window(page) -> bool:
    return page.evaluate("window.__inboxMarker === 'kept' && window.__loads === 0")


def live(page):
    expect(page.locator("#live-root")).to_have_attribute("data-live", "true")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_switches_conversations_without_a_page_load_back_works_and_the_layout_fits(live_server_url, page, owner, app,
                                                                       conversations):
    cy, visitor, ada = conversations
    log_in(page, live_server_url, owner)
    page.goto(f"{live_server_url}/apps/{app.id}/inbox/")
    expect(page.get_by_role("link", name="Inbox")).to_have_attribute("aria-current", "page")
    expect(row(page, visitor)).to_contain_text(re.compile(r"Visitor \d{4}"))
    mark_window(page)

    row(page, ada).get_by_role("link").click()
    expect(page).to_have_url(f"{live_server_url}/apps/{app.id}/inbox/open/{ada.id}/")
    expect(page.locator("#pane-title")).to_contain_text("Ada Lovelace")
    expect(page.locator("#inbox-thread #message-list")).to_contain_text("Where is my order?")
    expect(page.locator("#inbox-thread #composer")).to_be_visible()
    expect(page.locator(".inbox-contact")).to_contain_text("ada-1")
    expect(row(page, ada)).to_have_class(re.compile("is-selected"))
    assert page.evaluate("document.activeElement.id") == "inbox-thread"

    row(page, cy).get_by_role("link").click()
    expect(page.locator("#pane-title")).to_contain_text("Cy")
    expect(page.locator("#inbox-thread #message-list")).to_contain_text("Do you ship to Lisbon?")
    expect(row(page, ada)).not_to_have_class(re.compile("is-selected"))

    page.go_back()
    expect(page).to_have_url(f"{live_server_url}/apps/{app.id}/inbox/open/{ada.id}/")
    expect(page.locator("#pane-title")).to_contain_text("Ada Lovelace")
    page.get_by_role("link", name=re.compile("^Resolved")).click()
    expect(page).to_have_url(f"{live_server_url}/apps/{app.id}/inbox/resolved/")
    expect(page.locator(".inbox-empty")).to_contain_text("No conversations in Resolved")
    page.go_back()
    expect(page.locator("#pane-title")).to_contain_text("Ada Lovelace")
    assert same_window(page)

    check_layout(page, live_server_url, app, ada)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_keyboard_moves_resolves_assigns_searches_and_shows_the_keys(live_server_url, page, owner, app,
                                                                        conversations):
    cy, visitor, ada = conversations
    log_in(page, live_server_url, owner)
    page.goto(f"{live_server_url}/apps/{app.id}/inbox/open/")
    live(page)
    mark_window(page)
    page.keyboard.press("j")
    expect(page.locator("#inbox-pane")).to_have_attribute("data-user-id", cy.id)
    page.keyboard.press("j")
    expect(page.locator("#inbox-pane")).to_have_attribute("data-user-id", visitor.id)
    page.keyboard.press("j")
    expect(page.locator("#inbox-pane")).to_have_attribute("data-user-id", ada.id)
    page.keyboard.press("k")
    expect(page.locator("#inbox-pane")).to_have_attribute("data-user-id", visitor.id)
    expect(row(page, visitor)).to_have_class(re.compile("is-selected"))

    page.keyboard.press("a")
    expect(page.locator("#pane-assignee")).to_contain_text("Assigned to")
    member = Membership.objects.get(user=owner)
    wait_until(lambda: AppUser.objects.get(pk=visitor.pk).assignee_id == member.pk, message="assigned to me")
    assert same_window(page), "after a"
    page.keyboard.press("e")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    assert same_window(page), "after e"
    wait_until(lambda: AppUser.objects.get(pk=visitor.pk).status == ConversationStatus.RESOLVED,
               message="resolved")
    # The list follows over the socket: the visitor left All open.
    expect(row(page, visitor)).to_have_count(0)
    expect(page.locator('[data-count="resolved"]')).to_have_text("1")

    assert same_window(page), "after list"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "inbox-search"
    page.keyboard.type("lovelace")
    expect(page.locator("#inbox-rows > li")).to_have_count(1)
    expect(row(page, ada)).to_be_visible()
    # Keys typed into the search are text, not commands.
    assert page.locator("#inbox-search").input_value() == "lovelace"
    page.locator("#inbox-search").blur()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    assert same_window(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_bs_assignment_updates_agent_as_unassigned_view_live(live_server_url, browser, page, owner, agent,
                                                                 app, conversations):
    cy, visitor, ada = conversations
    log_in(page, live_server_url, owner)
    page.goto(f"{live_server_url}/apps/{app.id}/inbox/unassigned/")
    live(page)
    expect(page.locator("#inbox-rows > li")).to_have_count(3)
    expect(page.locator('[data-count="unassigned"]')).to_have_text("3")
    mark_window(page)

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        agent_page = other.new_page()
        log_in(agent_page, live_server_url, agent)
        agent_page.goto(f"{live_server_url}/apps/{app.id}/inbox/unassigned/{ada.id}/")
        agent_page.get_by_role("button", name="Assign to me").click()
        expect(agent_page.locator("#pane-assignee")).to_contain_text("agent@a.example")

        expect(row(page, ada)).to_have_count(0)
        expect(page.locator("#inbox-rows > li")).to_have_count(2)
        expect(page.locator('[data-count="unassigned"]')).to_have_text("2")
        expect(page.locator('[data-count="open"]')).to_have_text("3")

        # And again: the view stays live after its first refresh.
        agent_page.get_by_role("button", name="Unassign").click()
        expect(agent_page.locator("#pane-assignee")).to_have_text("Unassigned")
        expect(row(page, ada)).to_have_count(1)
        expect(page.locator('[data-count="unassigned"]')).to_have_text("3")
    finally:
        other.close()
    assert same_window(page)


def no_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def check_layout(page, base_url, app, app_user):
    """Three panes side by side at 1280 px, stacked at 800 and 390 px, no
    sideways overflow at any (long properties and emails included), a
    screenshot of each under var/screenshots/."""
    AppUser.objects.filter(pk=app_user.pk).update(properties={"plan": "gold", "note": "x" * 120})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (800, 1000), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base_url}/apps/{app.id}/inbox/open/{app_user.id}/")
        expect(page.locator("#inbox-thread #composer")).to_be_visible()
        listing, thread, contact = [page.locator(s).bounding_box()
                                    for s in ("#inbox-list", "#inbox-thread", ".inbox-contact")]
        if width >= 1100:
            assert listing["x"] + listing["width"] <= thread["x"] < contact["x"], (listing, thread, contact)
            assert abs(thread["y"] - contact["y"]) < 200, (thread, contact)
        else:
            assert listing["y"] + listing["height"] <= thread["y"] + 1, (listing, thread)
            assert thread["y"] < contact["y"], (thread, contact)
        page.screenshot(path=str(SCREENSHOTS / f"inbox-{width}.png"), full_page=True)
        assert no_overflow(page), width
