"""The app's persistent menu in the Web Messenger, in a real browser on a
real Parley server: a link item opens its page, a postback item sends the
item's postback (stored as the `postback` event, as a button's is)."""

import pytest
from playwright.sync_api import expect

from messaging.models import LogEntry
from messaging.services import menus
from messaging.validators import validate_menu
from tests.support.live import LiveServer, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live():
    server = LiveServer(worker=True)
    try:
        yield server
    finally:
        server.stop()


def test_the_widget_shows_the_app_menu_and_sends_its_postbacks(live, page, app):
    menus.set_app_menu(app, name="Help", items=validate_menu({"items": [
        {"type": "link", "text": "Our shop", "uri": "https://shop.example/"},
        {"type": "postback", "text": "Talk to us", "payload": "HUMAN"},
    ]})["items"])
    page.goto(f"{live.url}/demo/{app.id}/")
    page.wait_for_function("() => window.Parley && Parley.getUser()")
    app_user_id = page.evaluate("Parley.getUser()._id")
    page.get_by_role("button", name="Open chat with App A").click()

    toggle = page.get_by_role("button", name="Help")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    menu = page.get_by_role("menu", name="Help")
    expect(menu).to_be_visible()
    link = menu.get_by_role("menuitem", name="Our shop")
    expect(link).to_have_attribute("href", "https://shop.example/")
    expect(link).to_have_attribute("target", "_blank")

    menu.get_by_role("menuitem", name="Talk to us").click()
    expect(menu).to_be_hidden()
    wait_until(lambda: LogEntry.objects.filter(kind="postback", app_user_id=app_user_id).exists(),
               message="the menu's postback")
    action = LogEntry.objects.get(kind="postback", app_user_id=app_user_id).detail["action"]
    assert (action["payload"], action["text"]) == ("HUMAN", "Talk to us")
