"""LINE inbound: signed POSTs to /integrations/line/<id>/webhook, verified,
stored once (redeliveries included) and worked by the engine
(inbound.run_due, in this process) against the fake Messaging API: each
event kind, the image content fetched from the content host, the reply
token kept for the next business message."""

import json
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from messaging.delivery import sending
from messaging.integrations.base import InboundRefused, PlatformError
from messaging.integrations.line import ACTION_REF, Line
from messaging.models import AppUser, Client, Integration, LogEntry, Message, PlatformEvent
from messaging.services import inbound
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support.fake_line import (
    PNG,
    SECRET,
    TOKEN,
    USER_ID,
    body_and_signature,
    event,
    image,
    location,
    postback,
    text,
    webhook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="line", display_name="Tacos LINE",
                                      credentials={"channelAccessToken": TOKEN, "channelSecret": SECRET},
                                      inbound_url="https://parley.example/integrations/line/x/webhook")


@pytest.fixture
def channel(integration):
    return Line(integration)


def request(integration, payload, secret=SECRET, header=True):
    raw, sig = body_and_signature(payload, secret)
    headers = {"HTTP_X_LINE_SIGNATURE": sig} if header else {}
    return RequestFactory().post(f"/integrations/line/{integration.id}/webhook", raw,
                                 content_type="application/json", **headers)


def post(client, integration, payload, secret=SECRET):
    raw, sig = body_and_signature(payload, secret)
    return client.post(f"/integrations/line/{integration.id}/webhook", data=raw, content_type="application/json",
                       HTTP_X_LINE_SIGNATURE=sig)


# Verify.

def test_events_are_keyed_by_their_webhook_event_id(channel, integration):
    raw = channel.verify(request(integration, webhook(text("01EV1", "m1", "Hi"), event("follow", "01EV2"))))
    assert [r.key for r in raw] == ["01EV1", "01EV2"]
    assert raw[0].payload["message"]["text"] == "Hi"


def test_the_consoles_verify_call_has_no_events(channel, integration):
    assert channel.verify(request(integration, webhook())) == []


@pytest.mark.parametrize("how", ["missing", "wrong secret", "another body"])
def test_a_missing_or_wrong_signature_is_403(channel, integration, how):
    payload = webhook(text("01EV1", "m1", "Hi"))
    if how == "missing":
        req = request(integration, payload, header=False)
    elif how == "wrong secret":
        req = request(integration, payload, secret="not-the-secret")
    else:
        _, sig = body_and_signature(webhook(text("01EV9", "m9", "Other")))
        req = RequestFactory().post("/x", json.dumps(payload), content_type="application/json",
                                    HTTP_X_LINE_SIGNATURE=sig)
    with pytest.raises(InboundRefused) as refused:
        channel.verify(req)
    assert refused.value.status == 403


@pytest.mark.parametrize("payload", [
    b"{", b"[]", {"destination": "U1"}, {"events": {}}, {"events": ["x"]},
    {"events": [{"type": "message"}]}, {"events": [{"webhookEventId": 7}]},
])
def test_a_malformed_body_is_400(channel, integration, payload):
    with pytest.raises(InboundRefused) as refused:
        channel.verify(request(integration, payload))
    assert refused.value.status == 400


# Parse.

def test_a_text_with_the_users_display_name_and_reply_token(line, channel):
    [parsed] = channel.parse(text("01EV1", "m1", "Hello", reply_token="tok-1"))
    assert (parsed.kind, parsed.external_id) == ("message", USER_ID)
    assert parsed.data == {"text": "Hello", "platformMessageId": "m1", "inboundRef": "tok-1",
                           "displayName": "Sally Brown"}
    [profile] = line.api.received(f"/v2/bot/profile/{USER_ID}")
    assert profile["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_a_profile_line_refuses_loses_no_event(line, channel):
    line.block()  # a blocked account reads no profile (404)
    [parsed] = channel.parse(text("01EV1", "m1", "Hello"))
    assert parsed.data == {"text": "Hello", "platformMessageId": "m1"}


def test_an_image_comes_from_the_content_host_with_the_token(line, channel):
    line.add_content("m2")
    [parsed] = channel.parse(image("01EV2", "m2"))
    media = parsed.data["media"]
    assert (media.content, media.content_type) == (PNG, "image/png")
    [fetch] = line.data.received("/v2/bot/message/m2/content")
    assert fetch["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert line.api.received("/v2/bot/message/m2/content") == []


def test_content_line_no_longer_has_is_a_permanent_error(line, channel):
    with pytest.raises(PlatformError) as error:
        channel.parse(image("01EV2", "gone"))
    assert error.value.permanent and error.value.status == 404


def test_a_location_with_its_title_and_address(line, channel):
    [parsed] = channel.parse(location("01EV3", "m3", 35.6586, 139.7454))
    assert parsed.data["coordinates"] == {"lat": 35.6586, "long": 139.7454}
    assert parsed.data["text"] == "Tokyo Tower, 4 Chome-2-8 Shibakoen, Minato City, Tokyo"


@pytest.mark.parametrize("data, expected", [("ORDER", {"payload": "ORDER"}),
                                            (ACTION_REF + "abc123", {"actionId": "abc123"})])
def test_a_postback_is_its_payload_or_action_id_and_params_are_left(line, channel, data, expected):
    [parsed] = channel.parse(postback("01EV4", data, reply_token="tok-4"))
    assert parsed.kind == "postback"
    assert parsed.data == {**expected, "inboundRef": "tok-4", "displayName": "Sally Brown"}


def test_follow_is_a_start_and_unfollow_makes_the_client_inactive(line, channel):
    [follow] = channel.parse(event("follow", "01EV5", reply_token="tok-5", follow={"isUnblocked": False}))
    assert (follow.kind, follow.data) == ("start", {"inboundRef": "tok-5", "displayName": "Sally Brown"})
    [unfollow] = channel.parse(event("unfollow", "01EV6"))
    assert (unfollow.kind, unfollow.external_id, unfollow.data) == ("inactive", USER_ID, {})


@pytest.mark.parametrize("payload", [
    event("message", "e", message={"id": "1", "type": "sticker", "packageId": "1", "stickerId": "1"}),
    event("message", "e", message={"id": "1", "type": "video"}),
    event("join", "e"), event("beacon", "e"),
    {**text("e", "1", "in a group"), "source": {"type": "group", "groupId": "C1", "userId": USER_ID}},
    {**text("e", "1", "no source"), "source": "x"},
    event("postback", "e", postback={"data": ""}),
])
def test_other_events_make_none(line, channel, payload):
    assert channel.parse(payload) == []


# Through the endpoint and the engine.

@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PARLEY_PUBLIC_URL = "https://parley.example"
    return tmp_path


def test_events_reach_the_conversation_once_redeliveries_included(client, line, integration, media_root):
    line.add_content("m2")
    token = line.reply_token()
    body = webhook(event("follow", "01EV0", reply_token=line.reply_token()),
                   text("01EV1", "m1", "Hello from LINE"), image("01EV2", "m2"),
                   location("01EV3", "m3", 35.6586, 139.7454, reply_token=token))
    response = post(client, integration, body)
    assert response.status_code == 200
    # LINE redelivers what it thinks was not received: same webhookEventId.
    again = webhook(text("01EV1", "m1", "Hello from LINE", redelivery=True))
    assert post(client, integration, again).status_code == 200
    assert post(client, integration, webhook(text("01EV8", "m8", "x")), secret="wrong").status_code == 403
    assert client.post(f"/integrations/line/{integration.id}/webhook", data=b"{", content_type="application/json",
                       HTTP_X_LINE_SIGNATURE=body_and_signature(b"{")[1]).status_code == 400
    assert PlatformEvent.objects.count() == 4
    inbound.run_due()

    [sally] = AppUser.objects.filter(app=integration.app)
    assert (sally.given_name, sally.conversation_started) == ("Sally Brown", True)
    [chat] = sally.clients.all()
    assert (chat.platform, chat.external_id, chat.last_inbound_ref) == ("line", USER_ID, token)
    first, photo, place = Message.objects.filter(app_user=sally).order_by("received")
    assert (first.role, first.text, first.source["type"]) == ("appUser", "Hello from LINE", "line")
    assert photo.type == "image" and photo.media_url.startswith("https://parley.example/media/")
    assert [p.read_bytes() for p in media_root.rglob("*.png")] == [PNG]
    assert (place.type, place.coordinates) == ("location", {"lat": 35.6586, "long": 139.7454})
    assert len(line.api.received(f"/v2/bot/profile/{USER_ID}")) == 1  # the first event only

    # The business answers at once: the reply token, free; then a push.
    for words in ("Thanks!", "Anything else?"):
        post_message(sally, role="appMaker", fields={"type": "text", "text": words})
    sending.run_due()
    assert [(s["via"], s["messages"][0]["text"]) for s in line.sent] == [("reply", "Thanks!"),
                                                                          ("push", "Anything else?")]


@pytest.fixture
def chat(app, integration):
    from tests.support.ws import make_client, make_user
    return make_client(make_user(app, "sally"), "line", external_id=USER_ID, integration=integration,
                       display_name="Sally Brown", last_inbound_at=timezone.now() - timedelta(hours=1))


def test_a_postback_pressed_is_recorded_with_its_action(client, line, integration, chat):
    body = {"role": "appMaker", "type": "text", "text": "Pick", "actions": [
        {"type": "postback", "text": "Big", "payload": "p" * 400}, {"type": "postback", "text": "Small",
                                                                    "payload": "SMALL"}]}
    post_message(chat.app_user, role="appMaker", fields=validate_message(body, role="appMaker",
                                                                         app_user=chat.app_user))
    sending.run_due()
    big, small = line.messages()[-1]["template"]["actions"]
    assert big["data"].startswith(ACTION_REF) and small["data"] == "SMALL"
    assert post(client, integration, webhook(postback("01PB1", big["data"]), postback("01PB2", "SMALL"))
                ).status_code == 200
    inbound.run_due()
    postbacks = LogEntry.objects.filter(app=integration.app, kind="postback").order_by("id")
    assert [p.detail["action"]["payload"] for p in postbacks] == ["p" * 400, "SMALL"]


def test_a_quick_reply_tapped_is_the_users_message_with_its_payload(client, line, integration, chat):
    body = {"role": "appMaker", "type": "text", "text": "Hungry?", "actions": [
        {"type": "reply", "text": "Yes please", "payload": "HUNGRY"}]}
    post_message(chat.app_user, role="appMaker", fields=validate_message(body, role="appMaker",
                                                                         app_user=chat.app_user))
    sending.run_due()
    [item] = line.messages()[-1]["quickReply"]["items"]
    assert post(client, integration, webhook(text("01QR1", "m9", item["action"]["text"]))).status_code == 200
    inbound.run_due()
    answer = Message.objects.filter(app_user=chat.app_user, role="appUser").get()
    assert (answer.text, answer.payload) == ("Yes please", "HUNGRY")


def test_unfollow_stops_targeting_until_the_user_writes_again(client, line, integration, chat):
    assert post(client, integration, webhook(event("unfollow", "01UF1"))).status_code == 200
    inbound.run_due()
    chat.refresh_from_db()
    assert chat.active is False
    assert LogEntry.objects.filter(app=integration.app, kind="client:unreachable").count() == 1
    post_message(chat.app_user, role="appMaker", fields={"type": "text", "text": "Still there?"})
    sending.run_due()
    assert line.sent == []  # no client to target: the message waits

    # Unblocked: LINE posts a follow; the waiting message goes.
    assert post(client, integration, webhook(event("follow", "01FO1", reply_token=line.reply_token(),
                                                   follow={"isUnblocked": True}))).status_code == 200
    inbound.run_due()
    sending.run_due()
    assert Client.objects.get(pk=chat.pk).active is True
    assert [(s["via"], s["messages"][0]["text"]) for s in line.sent] == [("reply", "Still there?")]
