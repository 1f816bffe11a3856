"""WhatsApp inbound: Meta's signed POSTs to /integrations/whatsapp/<id>/webhook
(and its GET handshake), verified, stored once and worked by the engine
(inbound.run_due, in this process) against the fake Cloud API: user
messages of each kind, button and list answers, statuses moving deliveries."""

import json
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from messaging.delivery import sending
from messaging.integrations.base import InboundRefused, PlatformError
from messaging.integrations.whatsapp import POSTBACK_REF, REPLY, REPLY_REF, WhatsApp
from messaging.models import AppUser, Client, Delivery, Integration, LogEntry, Message, PlatformEvent
from messaging.services import inbound
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support.fake_graph import signature, signed
from tests.support.fake_whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    PNG,
    TOKEN,
    USER,
    WABA_ID,
    button_reply,
    image,
    list_reply,
    location,
    message,
    messages_value,
    status,
    statuses_value,
    text,
    webhook,
)
from tests.support.ws import business_message, make_client, make_user

pytestmark = pytest.mark.django_db

WAMID = "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUZGRDhCMUM0OEZCNDQ0MDAA"


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="whatsapp", display_name="Tacos Inc", credentials={
        "phoneNumberId": PHONE_NUMBER_ID, "businessAccountId": WABA_ID, "accessToken": TOKEN,
        "appSecret": APP_SECRET}, inbound_url="https://parley.example/integrations/whatsapp/x/webhook")


@pytest.fixture
def channel(integration):
    return WhatsApp(integration)


def request(integration, body, secret=APP_SECRET, header=True):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature(secret, raw)} if header else {}
    return RequestFactory().post(f"/integrations/whatsapp/{integration.id}/webhook", raw,
                                 content_type="application/json", **headers)


def post(client, integration, payload, secret=APP_SECRET):
    body, headers = signed(payload, secret)
    return client.post(f"/integrations/whatsapp/{integration.id}/webhook", data=body,
                       content_type="application/json", HTTP_X_HUB_SIGNATURE_256=headers["X-Hub-Signature-256"])


# Verify.

def test_messages_and_statuses_are_keyed_by_their_ids(channel, integration):
    body = webhook(messages_value(text("wamid.A", "hi"), text("wamid.B", "there")),
                   statuses_value(status("wamid.S", "delivered"), status("wamid.S", "read")))
    events = channel.verify(request(integration, body))
    assert [e.key for e in events] == ["wamid.A", "wamid.B", "status:wamid.S:delivered", "status:wamid.S:read"]
    assert events[0].payload == {"message": text("wamid.A", "hi") | {"timestamp": events[0].payload["message"][
        "timestamp"]}, "name": "Kerry Fisher"}


@pytest.mark.parametrize("how", ["missing", "wrong secret", "another body"])
def test_a_missing_or_wrong_signature_is_403(channel, integration, how):
    body = webhook(messages_value(text("wamid.A", "hi")))
    if how == "missing":
        req = request(integration, body, header=False)
    elif how == "wrong secret":
        req = request(integration, body, secret="not-the-app-secret")
    else:
        req = request(integration, body)
        req._body = json.dumps(webhook(messages_value(text("wamid.A", "forged")))).encode()
    with pytest.raises(InboundRefused) as refused:
        channel.verify(req)
    assert refused.value.status == 403


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", {"object": "page", "entry": []}, {"object": "whatsapp_business_account"},
    {"object": "whatsapp_business_account", "entry": [{"changes": "x"}]},
    webhook("not a value"),
    webhook({"messages": {"id": "x"}}),
    webhook({"messages": [{"id": "wamid.A", "type": "text"}]}),  # no from
    webhook({"messages": [{"from": USER, "type": "text"}]}),  # no id
    webhook({"statuses": [{"id": "wamid.A", "status": "read"}]}),  # no recipient_id
])
def test_a_malformed_body_is_400(channel, integration, body):
    with pytest.raises(InboundRefused) as refused:
        channel.verify(request(integration, body))
    assert refused.value.status == 400


def test_other_fields_and_other_numbers_are_taken_and_left(channel, integration):
    assert channel.verify(request(integration, webhook({"event": "APPROVED"}, field="message_template_status_update"))) == []
    other = webhook(messages_value(text("wamid.A", "hi"), phone_number_id="999999"))
    assert channel.verify(request(integration, other)) == []


# Parse.

def parsed(channel, msg, name="Kerry Fisher"):
    return channel.parse({"message": msg, "name": name})


def test_a_text_with_the_users_profile_name(channel):
    [event] = parsed(channel, text(WAMID, "Hello"))
    assert (event.kind, event.external_id) == ("message", USER)
    assert event.data == {"text": "Hello", "platformMessageId": WAMID, "displayName": "Kerry Fisher"}


def test_an_image_is_fetched_by_its_media_id_with_the_token(whatsapp, channel):
    media_id = whatsapp.add_media(PNG, "image/png")
    [event] = parsed(channel, image(WAMID, media_id, caption="My receipt"))
    media = event.data.pop("media")
    assert (media.content, media.content_type) == (PNG, "image/png")
    assert event.data["text"] == "My receipt"
    lookup, download = whatsapp.requests
    assert (lookup["method"], lookup["path"]) == ("GET", f"/v23.0/{media_id}")
    assert download["path"] == "/whatsapp_business/attachments/" and download["status"] == 200
    assert download["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_an_unknown_media_id_is_a_permanent_error(whatsapp, channel):
    with pytest.raises(PlatformError) as error:
        parsed(channel, image(WAMID, "123"))
    assert (error.value.permanent, error.value.code) == (True, "rejected") and TOKEN not in error.value.message


def test_a_location_with_its_name_and_address(channel):
    [event] = parsed(channel, location(WAMID, 45.5, -73.6, name="Tacos Inc", address="1 Main St"))
    assert event.data["coordinates"] == {"lat": 45.5, "long": -73.6}
    assert event.data["text"] == "Tacos Inc, 1 Main St"


@pytest.mark.parametrize("reply_id, kind, data", [
    ("CALL_ME", "postback", {"payload": "CALL_ME"}),
    (POSTBACK_REF + "act1", "postback", {"actionId": "act1"}),
    (REPLY + "TACOS", "message", {"payload": "TACOS"}),
    (REPLY_REF + "act2", "message", {"actionId": "act2"}),
])
def test_button_and_list_answers(channel, reply_id, kind, data):
    for build in (button_reply, list_reply):
        [event] = parsed(channel, build(WAMID, reply_id, "Label"))
        assert (event.kind, event.external_id) == (kind, USER)
        assert event.data == {"platformMessageId": WAMID, "displayName": "Kerry Fisher", "text": "Label", **data}


def test_a_templates_quick_reply_is_a_message_with_its_payload(channel):
    [event] = parsed(channel, message(WAMID, "button", {"payload": "STOP_PROMOS", "text": "Stop promotions"}))
    assert (event.kind, event.data["text"], event.data["payload"]) == ("message", "Stop promotions", "STOP_PROMOS")


@pytest.mark.parametrize("kind, content", [
    ("audio", {"id": "1", "mime_type": "audio/ogg"}), ("sticker", {"id": "2"}),
    ("reaction", {"message_id": "wamid.X", "emoji": "👍"}), ("unsupported", {}),
    ("interactive", {"type": "nfm_reply", "nfm_reply": {}}),
])
def test_other_messages_make_no_event(channel, kind, content):
    assert parsed(channel, message(WAMID, kind, content)) == []


def test_statuses(channel):
    assert channel.parse({"status": status("wamid.S", "delivered")})[0].data == {
        "platformMessageId": "wamid.S", "state": "delivered"}
    [failed] = channel.parse({"status": status("wamid.S", "failed", code=131049, title="This message was not "
                                                                                      "delivered")})
    assert (failed.kind, failed.external_id) == ("delivery", USER)
    assert failed.data["error"] == {"code": "131049", "message": "This message was not delivered"}
    assert channel.parse({"status": {**status("wamid.S", "deleted")}}) == []


# Through the endpoint and the engine.

@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PARLEY_PUBLIC_URL = "https://parley.example"
    return tmp_path


def test_the_handshake_answers_metas_challenge(client, integration):
    url = f"/integrations/whatsapp/{integration.id}/webhook"
    query = {"hub.mode": "subscribe", "hub.verify_token": integration.webhook_secret, "hub.challenge": "1158201444"}
    response = client.get(url, query)
    assert (response.status_code, response.content) == (200, b"1158201444")
    assert client.get(url, {**query, "hub.verify_token": "wrong"}).status_code == 403


def test_a_users_messages_reach_the_conversation_once(client, whatsapp, integration, media_root):
    media_id = whatsapp.add_media(PNG, "image/png")
    body = webhook(messages_value(text("wamid.1", "Hello from WhatsApp"), image("wamid.2", media_id, "This one"),
                                  location("wamid.3", 45.5, -73.6, name="Home")))
    response = post(client, integration, body)
    assert (response.status_code, response.content) == (200, b"EVENT_RECEIVED")
    assert post(client, integration, body).status_code == 200  # Meta posts it again
    assert post(client, integration, webhook(messages_value(text("wamid.4", "x"))), "wrong").status_code == 403
    assert client.post(f"/integrations/whatsapp/{integration.id}/webhook", data=b"{",
                       content_type="application/json",
                       HTTP_X_HUB_SIGNATURE_256=signature(APP_SECRET, b"{")).status_code == 400
    assert PlatformEvent.objects.count() == 3
    inbound.run_due()

    [kerry] = AppUser.objects.filter(app=integration.app)
    assert kerry.given_name == "Kerry Fisher"
    [chat] = kerry.clients.all()
    assert (chat.platform, chat.external_id, chat.integration_id, chat.last_inbound_ref) == (
        "whatsapp", USER, integration.id, "wamid.3")
    assert chat.last_inbound_at > timezone.now() - timedelta(minutes=1)
    first, photo, place = Message.objects.filter(app_user=kerry).order_by("received")
    assert (first.role, first.text, first.source["type"]) == ("appUser", "Hello from WhatsApp", "whatsapp")
    assert (photo.type, photo.text) == ("image", "This one")
    assert photo.media_url.startswith("https://parley.example/media/") and whatsapp.url not in photo.media_url
    assert [p.read_bytes() for p in media_root.rglob("*.png")] == [PNG]
    assert (place.type, place.coordinates, place.text) == ("location", {"lat": 45.5, "long": -73.6}, "Home")


@pytest.fixture
def chat(app, integration):
    return make_client(make_user(app, "kerry"), "whatsapp", external_id=USER, integration=integration,
                       last_inbound_at=timezone.now() - timedelta(hours=1), last_inbound_ref=WAMID)


def sent_buttons(whatsapp, chat, actions):
    """A business message with buttons, validated as the API does (each
    action gets its _id), sent by the engine: the buttons' ids."""
    body = {"role": "appMaker", "type": "text", "text": "Pick", "actions": actions}
    post_message(chat.app_user, role="appMaker", fields=validate_message(body, role="appMaker",
                                                                         app_user=chat.app_user))
    sending.run_due()
    return [b["reply"]["id"] for b in whatsapp.sent[-1]["interactive"]["action"]["buttons"]]


def test_a_reply_button_answered_is_the_users_message_with_its_payload(client, whatsapp, integration, chat):
    ids = sent_buttons(whatsapp, chat, actions=[{"type": "reply", "text": "Tacos", "payload": "TACOS"},
                                                {"type": "reply", "text": "Ramen", "payload": "R" * 300}])
    post(client, integration, webhook(messages_value(button_reply("wamid.10", ids[0], "Tacos"),
                                                     button_reply("wamid.11", ids[1], "Ramen"))))
    inbound.run_due()
    answers = Message.objects.filter(role="appUser").order_by("received")
    assert [(m.text, m.payload) for m in answers] == [("Tacos", "TACOS"), ("Ramen", "R" * 300)]


def test_a_postback_button_pressed_is_a_postback(client, whatsapp, integration, chat):
    ids = sent_buttons(whatsapp, chat, actions=[{"type": "postback", "text": "Call me", "payload": "CALL_ME"},
                                                {"type": "postback", "text": "Long", "payload": "L" * 300}])
    post(client, integration, webhook(messages_value(button_reply("wamid.20", ids[0], "Call me"),
                                                     button_reply("wamid.21", ids[1], "Long"))))
    inbound.run_due()
    postbacks = LogEntry.objects.filter(kind="postback").order_by("id")
    assert [(p.detail["action"]["payload"], p.detail["action"]["text"]) for p in postbacks] == [
        ("CALL_ME", "Call me"), ("L" * 300, "Long")]
    assert not Message.objects.filter(role="appUser").exists()
    assert Client.objects.get(pk=chat.pk).last_inbound_ref == "wamid.21"


def test_statuses_move_the_delivery_sent_delivered_read(client, whatsapp, integration, chat):
    message = business_message(chat.app_user, "Your order shipped")
    sending.run_due()
    delivery = Delivery.objects.get(message=message)
    assert delivery.state == "sent"
    for state in ("sent", "delivered", "read"):
        post(client, integration, webhook(statuses_value(status(delivery.platform_message_id, state))))
        inbound.run_due()
        delivery.refresh_from_db()
        assert delivery.state == state
    message.refresh_from_db()
    assert message.read_at is not None


def test_a_failed_status_fails_the_delivery_with_whatsapps_code_and_title(client, whatsapp, integration, chat):
    message = business_message(chat.app_user, "Hello")
    sending.run_due()
    delivery = Delivery.objects.get(message=message)
    post(client, integration, webhook(statuses_value(status(delivery.platform_message_id, "failed", code=131026,
                                                            title="Message undeliverable"))))
    inbound.run_due()
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert (delivery.error["code"], delivery.error["message"]) == ("131026", "Message undeliverable")
    assert LogEntry.objects.filter(kind="delivery:failure").count() == 1
