"""The Viber channel against a fake REST Bot API on 127.0.0.1
(tests/support/fake_viber.py): set-up through the integrations service
(get_account_info, set_webhook with Viber's signed check of the URL, its
removal), every message type as the fake received it, and Viber's status
codes mapped to a failure, an unreachable client or a retry."""

import pytest
from django.db import connection
from django.test import Client

from messaging.delivery import sending
from messaging.integrations.viber import Viber
from messaging.models import Integration, Message
from messaging.services import integrations
from messaging.services.errors import ServiceError
from tests.support.fake_viber import ACCOUNT, TOKEN, USER_ID
from tests.support.sending import deliver, queued, refusal
from tests.support.ws import make_client, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="viber", credentials={"token": TOKEN},
                                      display_name="Tacos Bot", details={"uri": "tacosbot",
                                                                         "avatar": ACCOUNT["icon"]})


@pytest.fixture
def user(app):
    return make_user(app, "alice")


@pytest.fixture
def chat(user, integration):
    return make_client(user, "viber", external_id=USER_ID, integration=integration)


SENDER = {"name": "Tacos Bot", "avatar": ACCOUNT["icon"]}


# Set-up.

def test_create_checks_the_token_and_sets_the_webhook_after_vibers_check(viber, app):
    answered = []

    def reach(url, body, headers):
        # Viber's check, posted to Parley's endpoint before set_webhook answers.
        # (in the fake's thread: its database connection is closed after).
        try:
            response = Client().post(url.replace("https://parley.example", ""), data=body,
                                     content_type="application/json",
                                     HTTP_X_VIBER_CONTENT_SIGNATURE=headers["X-Viber-Content-Signature"])
        finally:
            connection.close()
        answered.append(response.status_code)
        return response.status_code

    viber.reach = reach
    row = integrations.create_integration(app, {"type": "viber", "token": TOKEN}, base_url="https://parley.example")
    assert answered == [200]
    assert (row.display_name, row.details) == ("Tacos Bot", {"uri": "tacosbot", "accountId": ACCOUNT["id"],
                                                             "avatar": ACCOUNT["icon"]})
    assert viber.webhook == {"url": f"https://parley.example/integrations/viber/{row.id}/webhook",
                             "event_types": ["delivered", "seen", "failed", "subscribed", "unsubscribed",
                                             "conversation_started"]}
    integrations.delete_integration(row)
    assert viber.webhook is None and viber.calls("set_webhook")[-1] == {"url": ""}


def test_an_unanswered_check_stores_nothing_and_a_wrong_token_is_refused(viber, app):
    viber.reach = lambda url, body, headers: 404
    with pytest.raises(ServiceError) as refused:
        integrations.create_integration(app, {"type": "viber", "token": TOKEN}, base_url="https://parley.example")
    assert "invalidUrl" in str(refused.value) or "Viber refused set_webhook (1" in str(refused.value)
    with pytest.raises(ServiceError) as refused:
        integrations.create_integration(app, {"type": "viber", "token": "wrong"}, base_url="https://parley.example")
    assert "Viber refused the token (2" in str(refused.value) and "wrong" not in str(refused.value)
    assert not Integration.objects.filter(app=app).exists()


def test_the_webhook_check_of_an_unknown_integration_is_refused_unless_pending(client, viber):
    from tests.support.fake_viber import signed
    raw, sig = signed({"event": "webhook", "timestamp": 1, "message_token": 1})
    response = client.post("/integrations/viber/nope/webhook", data=raw, content_type="application/json",
                           HTTP_X_VIBER_CONTENT_SIGNATURE=sig)
    assert response.status_code == 404


def test_http_webhook_urls_are_refused_as_viber_does(viber, integration):
    error = refusal(lambda: Viber(integration).register_webhook("http://parley.example/hook"))
    assert error.permanent and error.code == "rejected" and "(1:" in error.message


# Sending.

def test_text_with_the_sender_from_the_account(viber, chat, user):
    platform_id = deliver(user, type="text", text="Hello there")
    [call] = viber.sent()
    assert call == {"receiver": USER_ID, "sender": SENDER, "type": "text", "text": "Hello there"}
    assert platform_id == "5741311803571721087"


def test_the_engine_records_the_message_token(viber, chat, user):
    delivery = queued(user, type="text", text="Through the worker")
    sending.run_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.platform_message_id) == ("sent", "5741311803571721087")


def test_long_text_is_split_within_7000(viber, chat, user):
    deliver(user, type="text", text="a" * 6990 + " " + "b" * 100)
    assert [len(c["text"]) for c in viber.sent()] == [6990, 100]


def test_buttons_are_a_keyboard_one_a_row(viber, chat, user):
    deliver(user, type="text", text="Pick", actions=[
        {"type": "link", "text": "Menu", "uri": "https://example.org/menu"},
        {"type": "postback", "text": "Call me", "payload": "CALL_ME"},
    ])
    deliver(user, type="text", text="Where", actions=[
        {"type": "reply", "text": "Tacos", "payload": "TACOS"},
        {"type": "locationRequest", "text": "Where I am"},
    ])
    first, second = viber.sent()
    ids = [a["_id"] for text in ("Pick", "Where") for a in Message.objects.get(text=text).actions]
    assert first["min_api_version"] == 7
    assert first["keyboard"]["Type"] == "keyboard"
    buttons = first["keyboard"]["Buttons"] + second["keyboard"]["Buttons"]
    assert [(b["ActionType"], b["ActionBody"], b["Text"], b["Columns"]) for b in buttons] == [
        ("open-url", "https://example.org/menu", "Menu", 6),
        ("reply", f"parley:postback:{ids[1]}", "Call me", 6),
        ("reply", f"parley:reply:{ids[2]}", "Tacos", 6),
        ("location-picker", f"parley:reply:{ids[3]}", "Where I am", 6),
    ]


def test_a_picture_with_its_description_and_one_too_long(viber, chat, user):
    deliver(user, type="image", text="Look", mediaUrl="https://example.org/a.png")
    long = "d" * 769
    deliver(user, type="image", text=long, mediaUrl="https://example.org/b.png")
    first, second, third = viber.sent()
    assert (first["type"], first["media"], first["text"]) == ("picture", "https://example.org/a.png", "Look")
    assert (second["type"], second["text"]) == ("picture", "")
    assert (third["type"], third["text"]) == ("text", long)


def test_a_carousel_is_rich_media(viber, chat, user):
    deliver(user, type="carousel", text="Our menu", items=[
        {"title": "Tacos", "description": "<3 al pastor", "mediaUrl": "https://example.org/t.png",
         "actions": [{"type": "postback", "text": "Order", "payload": "T"}]},
        {"title": "Ramen", "actions": [{"type": "link", "text": "More", "uri": "https://example.org/r"}]},
    ])
    text, carousel = viber.sent()
    assert text["text"] == "Our menu"
    media = carousel["rich_media"]
    assert (carousel["type"], media["ButtonsGroupColumns"], media["ButtonsGroupRows"]) == ("rich_media", 6, 7)
    assert media["Buttons"][0]["Image"] == "https://example.org/t.png"
    assert media["Buttons"][1]["Text"] == "<b>Tacos</b><br>&lt;3 al pastor"
    assert media["Buttons"][2]["ActionBody"].startswith("parley:postback:")
    assert sum(b["Rows"] for b in media["Buttons"]) == 14  # two full blocks
    assert "Tacos" in carousel["alt_text"] and "keyboard" not in carousel


def test_a_list_is_the_text_fallback(viber, chat, user):
    # (A location is native, as Viber's `location` message, but only users
    # send locations: the API refuses one from the business.)
    deliver(user, type="list", items=[{"title": "Tacos", "description": "Good",
                                       "actions": [{"type": "link", "text": "More", "uri": "https://e.org/t"}]}])
    [listed] = viber.sent()
    assert listed["type"] == "text" and "1. Tacos" in listed["text"] and "More https://e.org/t" in listed["text"]


def test_the_fake_checks_vibers_limits(viber, integration):
    bot = Viber(integration)
    base = {"receiver": USER_ID, "sender": SENDER}
    for body, status in [
        ({**base, "type": "text", "text": "x" * 7001}, 3),
        ({**base, "type": "text"}, 4),
        ({"receiver": USER_ID, "sender": {"name": "n" * 29}, "type": "text", "text": "hi"}, 3),
        ({**base, "type": "picture", "media": "https://e.org/a.png", "text": "x" * 769}, 3),
        ({**base, "type": "location", "location": {"lat": 91, "lon": 0}}, 3),
        ({**base, "type": "text", "text": "hi", "keyboard": {"Type": "keyboard", "Buttons": [
            {"ActionType": "open-url", "ActionBody": "javascript:x"}]}}, 3),
        ({**base, "type": "rich_media", "min_api_version": 7, "rich_media": {
            "Type": "rich_media", "ButtonsGroupColumns": 6, "ButtonsGroupRows": 7,
            "Buttons": [{"Columns": 6, "Rows": 7, "ActionType": "none"}] * 7}}, 3),
        ({**base, "type": "rich_media", "rich_media": {"Type": "rich_media", "Buttons": []}}, 3),
    ]:
        error = refusal(lambda: bot._call("send_message", body))
        assert error.permanent and error.code == "rejected" and f"({status}:" in error.message, (body, error.message)
    assert viber.sent() == []


@pytest.mark.parametrize("arrange, code, permanent", [
    (lambda v: v.unsubscribe(USER_ID), "blocked", True),
    (lambda v: v.forget(USER_ID), "blocked", True),
    (lambda v: v.rate_limit(USER_ID), "rate_limited", False),
    (lambda v: setattr(v, "token", "another"), "bad_credentials", True),
])
def test_vibers_status_codes_are_mapped(viber, chat, user, arrange, code, permanent):
    arrange(viber)
    error = refusal(lambda: deliver(user, type="text", text="hi"))
    assert (error.code, error.permanent) == (code, permanent)
    viber.token = TOKEN


def test_an_unsubscribed_user_fails_the_delivery_and_becomes_unreachable(viber, chat, user):
    viber.unsubscribe(USER_ID)
    delivery = queued(user, type="text", text="Anyone?")
    sending.run_due()
    delivery.refresh_from_db()
    chat.refresh_from_db()
    assert delivery.state == "failed" and chat.unreachable == "blocked"
