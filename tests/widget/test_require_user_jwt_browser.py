"""`requireUserJwt` through the Web Messenger in Chromium, in both settings:
on, `Parley.init` / `login` with a userId and no jwt reject with the Smooch
error body, and a valid jwt works; off, a bare userId works (Smooch v1).
One live server and one page for all of it: each step is cheap, a server
is not."""

import jwt as pyjwt
import pytest

from messaging.models import AppUser, Message
from tests.support.live import LiveServer, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Calls a Parley function in the page and reports how its Promise settled,
# with the rejection's Smooch error body (`err.error`) when it rejects.
SETTLE = """async ([call, args]) => {
  try {
    const user = await Parley[call](...args);
    return {ok: true, userId: user.userId || null, id: user._id};
  } catch (e) {
    return {ok: false, status: e.status, error: e.error, message: e.message};
  }
}"""


@pytest.fixture
def live():
    server = LiveServer(worker=False)
    try:
        yield server
    finally:
        server.stop()


def user_jwt(app, user_id):
    return pyjwt.encode({"scope": "appUser", "userId": user_id}, app.test_secret, algorithm="HS256",
                        headers={"kid": app.test_key.key_id})


def open_demo(page, live, app):
    """The demo page inits anonymously: anonymous users work in both settings."""
    page.goto(f"{live.url}/demo/{app.id}/")
    page.wait_for_function("() => window.Parley && Parley.getUser()")


def settle(page, call, *args):
    return page.evaluate(SETTLE, [call, list(args)])


def sends_a_message(page, user_id, text):
    page.evaluate("text => Parley.sendMessage(text)", text)
    wait_until(lambda: Message.objects.filter(app_user__user_id=user_id, role="appUser", text=text).exists(),
               message=f"{text!r} stored for {user_id}")


def assert_refused(outcome):
    assert outcome["ok"] is False, outcome
    assert outcome["status"] == 401
    assert outcome["error"]["code"] == "unauthorized"
    assert "requireUserJwt" in outcome["error"]["description"]


def test_the_widget_in_both_settings(live, page, team, make_app):
    on = make_app(team, "Secured shop")
    off = make_app(team, "Legacy shop", require_user_jwt=False)

    open_demo(page, live, on)
    assert_refused(settle(page, "init", {"appToken": on.app_token, "userId": "carol"}))
    assert_refused(settle(page, "login", "carol"))
    assert not AppUser.objects.filter(user_id="carol").exists()

    logged_in = settle(page, "init", {"appToken": on.app_token, "userId": "carol", "jwt": user_jwt(on, "carol")})
    assert logged_in["ok"] and logged_in["userId"] == "carol", logged_in
    sends_a_message(page, "carol", "hello with a jwt")
    assert AppUser.objects.get(app=on, user_id="carol").credential_required

    open_demo(page, live, off)
    legacy = settle(page, "init", {"appToken": off.app_token, "userId": "dave"})
    assert legacy["ok"] and legacy["userId"] == "dave", legacy
    sends_a_message(page, "dave", "hello without a jwt")
    assert not AppUser.objects.get(app=off, user_id="dave").credential_required
