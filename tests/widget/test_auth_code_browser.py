"""The Web Messenger's `authCode` in a real browser: a conversation started
elsewhere continues in this browser, and stays here across a reload, while
the spent code is never sent again."""

import jwt
import pytest
import requests
from playwright.sync_api import expect

from messaging.models import AppUser, Message
from tests.support.live import LiveServer, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live():
    server = LiveServer(worker=True)
    try:
        yield server
    finally:
        server.stop()


def auth_code(live, app, user) -> str:
    token = jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256", headers={"kid": app.test_key.key_id})
    response = requests.get(f"{live.url}/v1.1/appusers/{user.id}/authcode", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["authCode"]


def test_an_auth_code_continues_a_conversation_in_this_browser(live, page, app):
    elsewhere = AppUser.objects.create(app=app, conversation_started=True)
    Message.objects.create(app=app, app_user=elsewhere, role="appUser", text="Started on my phone")
    page.goto(f"{live.url}/demo/{app.id}/")
    page.wait_for_function("() => window.Parley && Parley.getUser()")
    assert page.evaluate("Parley.getUser()._id") != elsewhere.id

    code = auth_code(live, app, elsewhere)
    user_id = page.evaluate("async ([appToken, authCode]) => (await Parley.init({appToken, authCode}))._id",
                            [app.app_token, code])
    assert user_id == elsewhere.id
    page.get_by_role("button", name="Open chat with App A").click()
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("Started on my phone")
    page.get_by_label("Type a message").fill("Now on my laptop")
    page.get_by_label("Type a message").press("Enter")
    wait_until(lambda: Message.objects.filter(app_user=elsewhere, text="Now on my laptop").exists(),
               message="the message in the same conversation")

    # login, logout and later inits never send the spent code (it would be
    # refused): logout re-inits with the options of the code's init.
    assert page.evaluate("async () => (await Parley.logout())._id") == elsewhere.id  # the same device
    # The demo page's own init after a reload finds this browser's device,
    # now the user's client.
    page.reload()
    page.wait_for_function("() => window.Parley && Parley.getUser()")
    assert page.evaluate("Parley.getUser()._id") == elsewhere.id
