"""Messenger's inbound side through the inbound endpoint and the engine:
Meta's hub.verify_token handshake, bodies signed with the app secret (or
not), malformed and repeated ones, and every event kind (messages with
quick replies, images and locations, postbacks, Get Started, referrals,
delivery and read watermarks), with the user's names from the profile API.
Against the fake Messenger Platform (tests/support/fake_messenger.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.delivery import sending
from messaging.integrations.messenger import ACTION_REF, GET_STARTED, Messenger
from messaging.models import AppUser, Client, Delivery, Integration, LogEntry, Message, PlatformEvent
from messaging.services import inbound
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support.fake_graph import signature, signed
from tests.support.fake_messenger import (
    APP_ID,
    APP_SECRET,
    PAGE_ID,
    PSID,
    TOKEN,
    attachment_message,
    delivery,
    echo,
    image,
    location,
    now_ms,
    page_body,
    postback,
    read,
    referral,
    text_message,
)
from tests.support.fake_telegram import PNG
from tests.support.ws import make_client, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(app, messenger):
    return Integration.objects.create(app=app, type="messenger", credentials={
        "pageAccessToken": TOKEN, "appId": APP_ID, "appSecret": APP_SECRET},
        details={"pageId": PAGE_ID}, display_name="Tacos Inc")


def url(integration) -> str:
    return f"/integrations/messenger/{integration.id}/webhook"


def post(client, integration, *events, body=None, secret=APP_SECRET, header=None):
    raw, headers = signed(body if body is not None else page_body(*events), secret)
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    return client.post(url(integration), data=raw, content_type="application/json",
                       HTTP_X_HUB_SIGNATURE_256=headers["X-Hub-Signature-256"])


def worked(client, integration, *events):
    response = post(client, integration, *events)
    assert response.status_code == 200 and response.content == b"EVENT_RECEIVED", response.content
    inbound.run_due()


def business(user, body: dict) -> Message:
    """A business message as the API stores it (validated: actions get their _id)."""
    fields = validate_message({"role": "appMaker", **body}, role="appMaker", app_user=user)
    return post_message(user, role="appMaker", fields=fields)


def alice(app) -> AppUser:
    return AppUser.objects.get(app=app)


# The handshake.

def test_the_handshake_answers_the_challenge_for_the_right_token(client, integration):
    query = {"hub.mode": "subscribe", "hub.verify_token": integration.webhook_secret, "hub.challenge": "1158201444"}
    response = client.get(url(integration), query)
    assert (response.status_code, response.content) == (200, b"1158201444")
    assert client.get(url(integration), {**query, "hub.verify_token": "wrong"}).status_code == 403
    assert client.get(url(integration), {**query, "hub.mode": "unsubscribe"}).status_code == 403
    assert client.get(url(integration), {**query, "hub.challenge": "<script>"}).status_code == 400


# Verification.

def test_a_signed_body_is_stored_and_a_wrongly_signed_one_is_not(client, integration):
    assert post(client, integration, text_message("m_1", "hi")).status_code == 200
    assert post(client, integration, text_message("m_2", "hi"), secret="another secret").status_code == 403
    assert post(client, integration, text_message("m_3", "hi"), header="").status_code == 403
    assert post(client, integration, text_message("m_4", "hi"), header="sha1=abc").status_code == 403
    assert list(PlatformEvent.objects.values_list("key", flat=True)) == ["message:m_1"]


@pytest.mark.parametrize("body", [
    {"object": "instagram", "entry": []},
    {"object": "page", "entry": {}},
    {"object": "page", "entry": [{"id": PAGE_ID, "messaging": {}}]},
    {"object": "page", "entry": [{"id": PAGE_ID, "messaging": ["x"]}]},
    page_body({"recipient": {"id": PAGE_ID}, "message": {"mid": "m_1", "text": "no sender"}}),
    page_body({"sender": {"id": 5005001}, "message": {"mid": "m_1", "text": "a numeric id"}}),
    page_body({"sender": {"id": PSID}, "message": {"text": "no mid"}}),
    page_body({"sender": {"id": PSID}, "delivery": {"mids": ["m_1"]}}),
    page_body({"sender": {"id": PSID}, "read": {"watermark": "soon"}}),
    page_body({"sender": {"id": PSID}, "postback": {"payload": "X"}}),  # no mid, no timestamp
])
def test_a_malformed_body_is_a_400_and_stores_nothing(client, integration, body):
    response = post(client, integration, body=body)
    assert response.status_code == 400, response.content
    assert not PlatformEvent.objects.exists()


def test_not_json_is_a_400(client, integration):
    raw = b"{not json"
    response = client.post(url(integration), data=raw, content_type="application/json",
                           HTTP_X_HUB_SIGNATURE_256=signature(APP_SECRET, raw))
    assert response.status_code == 400 and not PlatformEvent.objects.exists()


def test_a_repeated_event_is_stored_once_and_echoes_are_not_stored(client, integration, messenger, app):
    event = text_message("m_1", "Hello")
    post(client, integration, event, event)
    post(client, integration, event, echo("m_page", "our own message"))
    assert PlatformEvent.objects.count() == 1
    inbound.run_due()
    assert list(Message.objects.values_list("text", flat=True)) == ["Hello"]


def test_events_the_page_is_not_subscribed_to_make_no_event(client, integration):
    reaction = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
                "reaction": {"mid": "m_1", "action": "react", "emoji": "👍"}}
    body = page_body(reaction)
    body["entry"].append({"id": PAGE_ID, "time": now_ms(), "changes": [{"field": "feed"}]})
    assert post(client, integration, body=body).status_code == 200
    assert not PlatformEvent.objects.exists()


# Every kind, through the engine.

def test_a_text_message_with_the_users_names_from_the_profile(client, integration, messenger, app):
    worked(client, integration, text_message("m_1", "Hello from Messenger"))
    worked(client, integration, text_message("m_2", "Again"))
    user = alice(app)
    assert (user.given_name, user.surname) == ("Alice", "Liddell")
    [psid] = user.clients.all()
    assert (psid.platform, psid.external_id, psid.integration_id, psid.last_inbound_ref) == (
        "messenger", PSID, integration.id, "m_2")
    assert psid.last_inbound_at is not None
    assert list(Message.objects.order_by("received").values_list("text", "role")) == [
        ("Hello from Messenger", "appUser"), ("Again", "appUser")]
    # The profile API is asked on the first event only.
    profile_calls = [r for r in messenger.requests if r["path"] == f"/v23.0/{PSID}"]
    assert len(profile_calls) == 1 and profile_calls[0]["query"]["fields"] == ["first_name,last_name"]


def test_a_refused_profile_loses_no_event(client, integration, messenger, app):
    messenger.profile_refused.add(PSID)
    worked(client, integration, text_message("m_1", "Still here"))
    assert Message.objects.get().text == "Still here"
    assert (alice(app).given_name, alice(app).surname) == ("", "")


def test_a_quick_reply_carries_its_payload(client, integration, messenger, app):
    user = make_user(app, "alice")
    make_client(user, "messenger", external_id=PSID, integration=integration)
    business(user, {"type": "text", "text": "Which?", "actions": [
        {"type": "reply", "text": "Tacos al pastor, extra hot", "payload": "TACOS"},
        {"type": "reply", "text": "Ramen", "payload": ACTION_REF + "ramen"}]})
    ramen_id = Message.objects.get(text="Which?").actions[1]["_id"]
    worked(client, integration, text_message("m_1", "Tacos al pastor, ext…", quick_reply="TACOS"),
           text_message("m_2", "Ramen", quick_reply=ACTION_REF + ramen_id))
    answers = Message.objects.filter(role="appUser").order_by("received")
    assert [(m.text, m.payload) for m in answers] == [("Tacos al pastor, ext…", "TACOS"),
                                                     ("Ramen", ACTION_REF + "ramen")]


def test_an_image_is_fetched_and_stored_and_a_location_has_coordinates(client, integration, messenger, app,
                                                                       settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PARLEY_PUBLIC_URL = "https://parley.example"
    cdn = f"{messenger.url}/cdn/photo_1.png?_nc_cat=1"
    worked(client, integration, attachment_message("m_1", image(cdn)),
           attachment_message("m_2", location(45.5, -73.6, "Tacos Inc")))
    picture, place = Message.objects.order_by("received")
    assert picture.type == "image" and picture.media_url.startswith("https://parley.example/media/")
    assert [p.read_bytes() for p in tmp_path.rglob("*.png")] == [PNG]
    assert (place.type, place.coordinates, place.text) == ("location", {"lat": 45.5, "long": -73.6}, "Tacos Inc")


def test_postbacks_get_started_and_referrals(client, integration, messenger, app):
    worked(client, integration, postback("Get Started", GET_STARTED, ref="promo-42", timestamp=1),
           postback("Call me", "CALL_ME", mid="m_pb"),
           referral("spring-ad", timestamp=2))
    user = alice(app)
    assert user.conversation_started and (user.given_name, user.surname) == ("Alice", "Liddell")
    [start] = LogEntry.objects.filter(kind="conversation:start")
    assert start.detail["referral"] == {"code": "promo-42"}  # the conversation starts once
    [pressed] = LogEntry.objects.filter(kind="postback")
    assert (pressed.detail["action"]["payload"], pressed.detail["action"]["text"]) == ("CALL_ME", "Call me")
    assert sorted(PlatformEvent.objects.values_list("key", flat=True)) == [
        "postback:5005001:1", "postback:m_pb", "referral:5005001:2"]


def test_a_postback_by_reference_finds_its_action(client, integration, messenger, app):
    user = make_user(app, "alice")
    make_client(user, "messenger", external_id=PSID, integration=integration)
    business(user, {"type": "text", "text": "Pick", "actions": [
        {"type": "postback", "text": "Odd one", "payload": ACTION_REF + "odd"}]})
    action_id = Message.objects.get(text="Pick").actions[0]["_id"]
    worked(client, integration, postback("Odd one", ACTION_REF + action_id, mid="m_pb"))
    [pressed] = LogEntry.objects.filter(kind="postback")
    assert pressed.detail["action"]["payload"] == ACTION_REF + "odd"


def test_delivery_and_read_watermarks_move_earlier_deliveries(client, integration, messenger, app):
    user = make_user(app, "alice")
    psid = make_client(user, "messenger", external_id=PSID, integration=integration,
                       last_inbound_at=timezone.now() - timedelta(minutes=5))
    first = post_message(user, role="appMaker", fields={"type": "text", "text": "One"})
    second = post_message(user, role="appMaker", fields={"type": "text", "text": "Two"})
    sending.run_due()
    assert set(Delivery.objects.filter(client=psid).values_list("state", flat=True)) == {"sent"}
    earlier = now_ms() - 60_000  # a watermark before both: nothing moves
    worked(client, integration, delivery(earlier))
    assert set(Delivery.objects.filter(client=psid).values_list("state", flat=True)) == {"sent"}
    worked(client, integration, delivery(now_ms(), mids=["m_fake1"]))
    assert set(Delivery.objects.filter(client=psid).values_list("state", flat=True)) == {"delivered"}
    worked(client, integration, read(now_ms()))
    assert set(Delivery.objects.filter(client=psid).values_list("state", flat=True)) == {"read"}
    for message in (first, second):
        message.refresh_from_db()
        assert message.read_at is not None
    assert LogEntry.objects.filter(kind="delivery:delivered").count() == 2
    assert LogEntry.objects.filter(kind="delivery:read").count() == 2


def test_parse_turns_a_watermark_into_an_aware_datetime(integration):
    [watermark, receipt] = Messenger(integration).parse(delivery(1458668856253, mids=["m_1"]))
    assert watermark.kind == "delivery" and watermark.data["watermark"].isoformat() == \
        "2016-03-22T17:47:36.253000+00:00"
    assert receipt.data == {"platformMessageId": "m_1", "state": "delivered"}
    [seen] = Messenger(integration).parse(read(1458668856253))
    assert (seen.kind, seen.external_id) == ("read", PSID) and seen.data["watermark"].tzinfo is not None
    assert Client.objects.count() == 0  # delivery and read events ask for no profile and make no user
