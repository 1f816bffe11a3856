"""The WhatsApp channel against a fake Cloud API on 127.0.0.1
(tests/support/fake_whatsapp.py): set-up, every message type as the fake
received it, the fake's own limits, errors mapped to a failure or a retry,
typing and read marks, and the 24-hour window (with rule 5's failover)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.delivery import send_typing, sending, typing
from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.integrations.whatsapp import POSTBACK_REF, REPLY, REPLY_REF, WhatsApp
from messaging.models import Delivery, Integration, Message, Timer
from messaging.services import business_reads, integrations
from messaging.services.errors import ServiceError
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support import sending as send_through
from tests.support.fake_graph import proof
from tests.support.fake_whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    USER,
    WABA_ID,
    wamid,
)
from tests.support.sending import refusal
from tests.support.ws import make_client, make_user

pytestmark = pytest.mark.django_db

CREDENTIALS = {"phoneNumberId": PHONE_NUMBER_ID, "businessAccountId": WABA_ID, "accessToken": TOKEN,
               "appSecret": APP_SECRET}
LAST_WAMID = "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTdGRkQ4QjFDNDhGQjQ0"
TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en_US"},
                                             "components": [{"type": "body", "parameters": [
                                                 {"type": "text", "text": "42"}]}]}}


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="whatsapp", credentials=dict(CREDENTIALS),
                                      display_name="Tacos Inc")


@pytest.fixture
def channel(integration):
    return WhatsApp(integration)


@pytest.fixture
def user(app):
    return make_user(app, "kerry")


@pytest.fixture
def chat(user, integration):
    """The user's WhatsApp client, last heard from an hour ago."""
    return make_client(user, "whatsapp", external_id=USER, integration=integration,
                       last_inbound_at=timezone.now() - timedelta(hours=1), last_inbound_ref=LAST_WAMID)


def envelope(**content) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": USER, **content}


def queued(user, **body):
    return send_through.queued(user, where={"purpose__in": ["preferred", "destination"]}, **body)


def deliver(user, **body) -> str:
    return send_through.deliver(user, where={"purpose__in": ["preferred", "destination"]}, **body)


# Set-up.

def test_check_names_the_number_and_sends_the_token_as_meta_wants(whatsapp):
    connected = WhatsApp().check(CREDENTIALS)
    assert connected.display_name == "Tacos Inc"
    assert connected.details == {"phoneNumber": "+1 555-013-3700", "verifiedName": "Tacos Inc"}
    [call] = whatsapp.requests
    assert (call["method"], call["path"]) == ("GET", f"/v23.0/{PHONE_NUMBER_ID}")
    assert call["query"]["fields"] == ["display_phone_number,verified_name"]
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert call["query"]["appsecret_proof"] == [proof(TOKEN, APP_SECRET)]
    assert "access_token" not in call["query"]


def test_a_wrong_token_is_bad_credentials(whatsapp):
    error = refusal(lambda: WhatsApp().check({**CREDENTIALS, "accessToken": "EAAGwrong"}))
    assert (error.code, error.permanent, error.status) == ("bad_credentials", True, 400)
    assert "WhatsApp refused the access token" in error.message
    assert whatsapp.refusals()[0]["code"] == 190


def test_a_wrong_app_secret_is_refused(whatsapp):
    error = refusal(lambda: WhatsApp().check({**CREDENTIALS, "appSecret": "not-the-secret"}))
    assert error.permanent and "Invalid appsecret_proof" in error.message


def test_create_checks_the_token_and_subscribes_the_waba_and_delete_unsubscribes(whatsapp, app):
    row = integrations.create_integration(app, {"type": "whatsapp", **CREDENTIALS},
                                          base_url="https://parley.example")
    assert whatsapp.subscribed is True
    assert (row.display_name, row.details["phoneNumber"], row.details["phoneNumberId"]) == (
        "Tacos Inc", "+1 555-013-3700", PHONE_NUMBER_ID)
    assert "accessToken" not in row.details and "appSecret" not in row.details
    assert [(r["method"], r["path"]) for r in whatsapp.requests] == [
        ("GET", f"/v23.0/{PHONE_NUMBER_ID}"), ("POST", f"/v23.0/{WABA_ID}/subscribed_apps")]
    integrations.delete_integration(row)
    assert whatsapp.subscribed is False and whatsapp.requests[-1]["method"] == "DELETE"
    assert not Integration.objects.filter(app=app).exists()


def test_create_refuses_a_wrong_token_or_waba_and_stores_nothing(whatsapp, app):
    with pytest.raises(ServiceError) as refused:
        integrations.create_integration(app, {"type": "whatsapp", **CREDENTIALS, "accessToken": "EAAGnope"},
                                        base_url="https://parley.example")
    assert "WhatsApp refused the access token" in str(refused.value) and "EAAGnope" not in str(refused.value)
    with pytest.raises(ServiceError) as refused:
        integrations.create_integration(app, {"type": "whatsapp", **CREDENTIALS, "businessAccountId": "999"},
                                        base_url="https://parley.example")
    assert "does not exist" in str(refused.value)
    assert not Integration.objects.filter(app=app).exists() and whatsapp.subscribed is False


def test_a_phone_number_is_a_wa_id_without_its_plus():
    assert WhatsApp.phone_external_id("+15551234567") == "15551234567"


# The fake refuses what Meta refuses.

def post(channel, body) -> PlatformError:
    return refusal(lambda: channel.graph("POST", f"{PHONE_NUMBER_ID}/messages", json=body))


def details(error: PlatformError) -> str:
    return error.message.partition("(#100) Invalid parameter: ")[2].removesuffix(" (code 100)")


def buttons(*titles, ids=None) -> dict:
    ids = ids or [f"b{n}" for n in range(len(titles))]
    return {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"}, "action": {
        "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in zip(ids, titles)]}}}


def test_the_fake_refuses_missing_fields_in_metas_words(whatsapp, channel):
    error = post(channel, {"to": USER, "type": "text", "text": {"body": "hi"}})
    assert (error.code, error.permanent) == ("rejected", True)
    assert details(error) == "The parameter messaging_product is required."
    assert details(post(channel, {"messaging_product": "whatsapp", "type": "text", "text": {"body": "hi"}})) == \
        "The parameter to is required."
    assert details(post(channel, envelope(type="text", text={}))) == "The parameter text.body is required."
    assert details(post(channel, envelope(type="template", template={"name": "x"}))) == \
        "The parameter template.language.code is required."
    [refused] = whatsapp.refusals()[:1]
    assert refused["code"] == 100 and refused["error_data"]["messaging_product"] == "whatsapp"
    assert whatsapp.sent == []


def test_the_fake_holds_metas_limits(whatsapp, channel):
    assert "at most 4096" in details(post(channel, envelope(type="text", text={"body": "x" * 4097})))
    assert "at most 3 elements" in details(post(channel, envelope(**buttons("a", "b", "c", "d"))))
    assert "title must be at most 20" in details(post(channel, envelope(**buttons("x" * 21))))
    assert "unique" in details(post(channel, envelope(**buttons("a", "b", ids=["same", "same"]))))
    long_body = buttons("a")
    long_body["interactive"]["body"]["text"] = "x" * 1025
    assert "body.text must be at most 1024" in details(post(channel, envelope(**long_body)))
    rows = [{"id": f"r{n}", "title": f"Row {n}"} for n in range(11)]
    assert "at most 10 rows" in details(post(channel, envelope(type="interactive", interactive={
        "type": "list", "body": {"text": "Menu"}, "action": {"button": "See", "sections": [{"rows": rows}]}})))
    assert "https URL" in details(post(channel, envelope(type="interactive", interactive={
        "type": "cta_url", "body": {"text": "Go"}, "action": {"name": "cta_url", "parameters": {
            "display_text": "Open", "url": "http://example.org"}}})))
    assert whatsapp.sent == []
    # What fits is taken: 3 buttons of 20 characters, a body of 1,024.
    fitting = buttons("a" * 20, "b", "c")
    fitting["interactive"]["body"]["text"] = "y" * 1024
    assert channel.graph("POST", f"{PHONE_NUMBER_ID}/messages", json=envelope(**fitting))["messages"][0]["id"]


# Sending.

def test_text(whatsapp, chat, user):
    platform_id = deliver(user, type="text", text="Hello there")
    assert whatsapp.sent == [envelope(type="text", text={"body": "Hello there", "preview_url": False})]
    assert platform_id == wamid(1)


def test_the_engine_sends_and_records_the_wamid(whatsapp, chat, user):
    delivery = queued(user, type="text", text="Through the worker")
    sending.run_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.platform_message_id) == ("sent", wamid(1))


def test_long_text_is_split_within_4096(whatsapp, chat, user):
    deliver(user, type="text", text="a" * 4000 + "\n" + "b" * 300)
    assert [m["text"]["body"] for m in whatsapp.sent] == ["a" * 4000, "b" * 300]


def test_an_image_by_link_with_its_caption(whatsapp, chat, user):
    deliver(user, type="image", text="Look", mediaUrl="https://example.org/a.png")
    assert whatsapp.sent == [envelope(type="image", image={"link": "https://example.org/a.png", "caption": "Look"})]


def test_an_image_whose_text_is_over_the_caption_limit_sends_the_text_after(whatsapp, chat, user):
    deliver(user, type="image", text="c" * 1025, mediaUrl="https://example.org/a.png")
    image, text = whatsapp.sent
    assert image["image"] == {"link": "https://example.org/a.png"} and text["text"]["body"] == "c" * 1025


def test_postback_actions_are_reply_buttons_and_a_link_goes_in_the_body(whatsapp, chat, user):
    deliver(user, type="text", text="Pick", actions=[
        {"type": "postback", "text": "Call me back, please!", "payload": "CALL_ME"},
        {"type": "postback", "text": "Long", "payload": "L" * 300},
        {"type": "postback", "text": "Lookalike", "payload": "parley:reply:x"},
        {"type": "link", "text": "Menu", "uri": "https://example.org/menu"},
    ])
    message = Message.objects.get(text="Pick")
    [sent] = whatsapp.sent
    assert sent["interactive"] == {"type": "button", "body": {"text": "Pick\nMenu https://example.org/menu"},
                                   "action": {"buttons": [
                                       {"type": "reply", "reply": {"id": "CALL_ME", "title": "Call me back, pleas…"}},
                                       {"type": "reply", "reply": {"id": POSTBACK_REF + message.actions[1]["_id"],
                                                                   "title": "Long"}},
                                       {"type": "reply", "reply": {"id": POSTBACK_REF + message.actions[2]["_id"],
                                                                   "title": "Lookalike"}}]}}


def test_reply_actions_are_reply_buttons_carrying_their_payload(whatsapp, chat, user):
    deliver(user, type="text", text="Hungry?", actions=[
        {"type": "reply", "text": "Tacos", "payload": "TACOS"},
        {"type": "reply", "text": "Huge", "payload": "H" * 250},
        {"type": "locationRequest", "text": "Near me"},
    ])
    message = Message.objects.get(text="Hungry?")
    [sent] = whatsapp.sent
    assert sent["interactive"]["body"] == {"text": "Hungry?\nApp A has requested a location"}
    assert sent["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": REPLY + "TACOS", "title": "Tacos"}},
        {"type": "reply", "reply": {"id": REPLY_REF + message.actions[1]["_id"], "title": "Huge"}}]


def test_a_repeated_payload_goes_by_reference(whatsapp, chat, user):
    deliver(user, type="text", text="Pick", actions=[
        {"type": "postback", "text": "Yes", "payload": "SAME"}, {"type": "postback", "text": "Sure", "payload": "SAME"}])
    second = Message.objects.get(text="Pick").actions[1]["_id"]
    ids = [b["reply"]["id"] for b in whatsapp.sent[0]["interactive"]["action"]["buttons"]]
    assert ids == ["SAME", POSTBACK_REF + second]


def test_four_to_ten_choices_are_a_list(whatsapp, chat, user):
    actions = [{"type": "reply", "text": f"Option number {n} of the menu", "payload": f"OPT{n}"} for n in range(5)]
    deliver(user, type="text", text="Which one?", actions=actions)
    [sent] = whatsapp.sent
    interactive = sent["interactive"]
    assert (interactive["type"], interactive["body"]) == ("list", {"text": "Which one?"})
    assert interactive["action"]["button"] == "Options"
    rows = interactive["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": REPLY + "OPT0", "title": "Option number 0 of the…",
                       "description": "Option number 0 of the menu"}
    assert len(rows) == 5


def test_more_than_ten_choices_go_as_text(whatsapp, chat, user):
    actions = [{"type": "postback", "text": f"P{n}", "payload": f"P{n}"} for n in range(11)]
    deliver(user, type="text", text="Too many", actions=actions)
    assert whatsapp.sent == [envelope(type="text", text={"body": "Too many", "preview_url": False})]


def test_a_single_link_is_a_call_to_action_button(whatsapp, chat, user):
    deliver(user, type="text", text="Your order", actions=[{"type": "link", "text": "Track it",
                                                            "uri": "https://example.org/track"}])
    assert whatsapp.sent[0]["interactive"] == {"type": "cta_url", "body": {"text": "Your order"}, "action": {
        "name": "cta_url", "parameters": {"display_text": "Track it", "url": "https://example.org/track"}}}


def test_an_image_with_buttons_has_it_as_the_header(whatsapp, chat, user):
    deliver(user, type="image", text="This one?", mediaUrl="https://example.org/t.png",
            actions=[{"type": "postback", "text": "Yes", "payload": "Y"}])
    [sent] = whatsapp.sent
    assert sent["interactive"]["header"] == {"type": "image", "image": {"link": "https://example.org/t.png"}}
    assert sent["interactive"]["body"] == {"text": "This one?"}


def test_more_links_are_the_label_url_fallback(whatsapp, chat, user):
    deliver(user, type="text", text="See", actions=[
        {"type": "link", "text": "One", "uri": "https://example.org/1"},
        {"type": "link", "text": "Two", "uri": "http://example.org/2"}])
    assert whatsapp.sent[0]["text"]["body"] == "See\nOne https://example.org/1\nTwo http://example.org/2"


def test_a_location_request_is_a_location_request_message(whatsapp, chat, user):
    deliver(user, type="text", text="Where are you?", actions=[{"type": "locationRequest", "text": "Send it"}])
    assert whatsapp.sent[0]["interactive"] == {"type": "location_request_message", "body": {
        "text": "Where are you?"}, "action": {"name": "send_location"}}


def test_buttons_with_a_long_text_send_the_text_first(whatsapp, chat, user):
    deliver(user, type="text", text="w" * 1500, actions=[{"type": "reply", "text": "OK", "payload": "OK"}])
    first, second = whatsapp.sent
    assert first["type"] == "text" and second["type"] == "interactive"
    assert len(first["text"]["body"]) + len(second["interactive"]["body"]["text"]) == 1500


def test_carousels_and_lists_are_the_text_fallback(whatsapp, chat, user):
    deliver(user, type="carousel", items=[
        {"title": "Tacos", "description": "Three", "actions": [{"type": "link", "text": "More info",
                                                                 "uri": "https://example.org/t"}]},
        {"title": "Ramen", "actions": [{"type": "postback", "text": "Order", "payload": "R"}]}])
    assert whatsapp.sent[0]["text"]["body"] == "1. Tacos\nThree\nMore info https://example.org/t\n\n2. Ramen"


def test_a_location_is_native(whatsapp, chat, user, app):
    message = Message(app=app, app_user=user, role="appMaker", type="location", text="Our shop",
                      coordinates={"lat": 45.5, "long": -73.6})
    WhatsApp(chat.integration).send(Delivery(message=message, client=chat, purpose="preferred"))
    assert whatsapp.sent == [envelope(type="location", location={"latitude": 45.5, "longitude": -73.6,
                                                                  "name": "Our shop"})]


# Errors.

def test_a_closed_window_on_metas_side_is_outside_window(whatsapp, chat, user):
    whatsapp.close_window(USER)
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent, error.status) == ("outside_window", True, 400)
    assert "Re-engagement message" in error.message and "24 hours" in error.message


def test_an_undeliverable_number_fails_the_delivery(whatsapp, chat, user):
    whatsapp.undeliverable.add(USER)
    delivery = queued(user, type="text", text="Hi")
    sending.run_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.error["code"]) == ("failed", "undeliverable")
    assert "Message Undeliverable" in delivery.error["message"]


@pytest.mark.parametrize("code", [130429, 131056])
def test_rate_limits_are_transient(whatsapp, chat, user, code):
    whatsapp.fail_next(400, body={"error": {"message": f"(#{code}) Rate limit hit", "type": "OAuthException",
                                            "code": code, "fbtrace_id": "A"}})
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent) == ("rate_limited", False)


def test_a_revoked_token_puts_the_integration_in_error(whatsapp, chat, user, integration):
    integration.credentials = {**CREDENTIALS, "accessToken": "EAAGrevoked"}
    integration.save()
    delivery = queued(user, type="text", text="Hi")
    sending.run_due()
    delivery.refresh_from_db()
    integration.refresh_from_db()
    assert delivery.error["code"] == "bad_credentials" and integration.status == "error"


# Typing and reads.

def test_typing_is_a_read_mark_with_the_indicator_and_stop_sends_nothing(whatsapp, chat, channel):
    channel.send_typing(chat, "start")
    channel.send_typing(chat, "stop")
    assert whatsapp.reads == [{"messaging_product": "whatsapp", "status": "read", "message_id": LAST_WAMID,
                               "typing_indicator": {"type": "text"}}]
    assert WhatsApp.typing_lasts == 25 and WhatsApp.capabilities.typing


def test_the_engine_repeats_typing_within_whatsapps_25_seconds(whatsapp, chat, user, settings):
    settings.PARLEY_TYPING_TIMEOUT_SECONDS = 60
    detail = send_typing(user, "typing:start")
    assert (detail["shown"], detail["clientId"]) == (True, chat.id)
    [repeat] = Timer.objects.filter(kind="typing_repeat", subject=user.id)
    assert repeat.data["every"] == 22.5
    typing.send_to_platform(chat.id, "start")  # the task the start queued
    assert whatsapp.reads[0]["typing_indicator"] == {"type": "text"}


def test_no_typing_or_read_mark_without_a_message_from_the_user(whatsapp, user, integration, channel):
    silent = make_client(user, "whatsapp", external_id="15550000000", integration=integration)
    channel.send_typing(silent, "start")
    channel.send_read(silent)
    assert whatsapp.requests == []


def test_the_business_reading_marks_the_users_message_read(whatsapp, chat, user):
    business_reads.send_to_platforms(user.id)
    assert whatsapp.reads == [{"messaging_product": "whatsapp", "status": "read", "message_id": LAST_WAMID}]


# The 24-hour window.

@pytest.fixture
def stale(chat):
    """The user last wrote 25 hours ago."""
    chat.last_inbound_at = timezone.now() - timedelta(hours=25)
    chat.save()
    return chat


def test_outside_the_window_a_free_form_message_fails_without_a_call(whatsapp, stale, user):
    delivery = queued(user, type="text", text="Still there?")
    error = refusal(lambda: registry.for_client(delivery.client).send(delivery))
    assert (error.code, error.permanent) == ("outside_window", True)
    assert "older than 24 hours" in error.message and "template" in error.message
    assert whatsapp.requests == []


def test_outside_the_window_the_template_is_sent_instead(whatsapp, stale, user):
    platform_id = deliver(user, type="text", text="Your order 42 shipped", override={"whatsapp": {
        "payload": TEMPLATE}})
    assert whatsapp.sent == [envelope(**TEMPLATE)]
    assert platform_id == wamid(1)


def test_inside_the_window_the_rendered_message_goes_not_the_template(whatsapp, chat, user):
    deliver(user, type="text", text="Your order 42 shipped", override={"whatsapp": {"payload": TEMPLATE}})
    assert [m["type"] for m in whatsapp.sent] == ["text"]


def test_a_user_never_heard_from_is_outside_the_window(whatsapp, user, integration):
    make_client(user, "whatsapp", external_id=USER, integration=integration)
    error = refusal(lambda: deliver(user, type="text", text="Hello"))
    assert error.code == "outside_window" and whatsapp.requests == []


def test_outside_the_window_the_delivery_fails_and_fails_over_at_once(whatsapp, telegram, stale, user, app):
    from tests.support.fake_telegram import TOKEN as BOT_TOKEN

    bot = Integration.objects.create(app=app, type="telegram", credentials={"token": BOT_TOKEN})
    make_client(user, "telegram", minutes_ago=60 * 30, external_id="4242", integration=bot)
    message = post_message(user, role="appMaker", fields=validate_message(
        {"role": "appMaker", "type": "text", "text": "Your table is ready"}, role="appMaker", app_user=user))
    sending.run_due()
    preferred = Delivery.objects.get(message=message, purpose="preferred")
    assert (preferred.client, preferred.state, preferred.error["code"]) == (stale, "failed", "outside_window")
    assert whatsapp.requests == []
    failover = Delivery.objects.get(message=message, purpose="failover")
    assert failover.client.platform == "telegram"
    sending.run_due()
    failover.refresh_from_db()
    assert failover.state == "sent"
    assert [c["text"] for c in telegram.calls("sendMessage")] == ["Your table is ready"]
