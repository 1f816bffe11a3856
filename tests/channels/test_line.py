"""The LINE channel against a fake Messaging API on 127.0.0.1
(tests/support/fake_line.py): set-up through the integrations API, every
message type as the fake received it, the reply token used once while fresh
and a push otherwise, errors mapped to a failure or a retry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.delivery import sending
from messaging.integrations import registry
from messaging.integrations.line import ACTION_REF, Line, render
from messaging.models import Client, Delivery, Integration, Message
from tests.api.conftest import ApiClient, bearer, make_jwt
from tests.support.fake_line import BOT, SECRET, TOKEN, USER_ID
from tests.support.sending import deliver, queued, refusal
from tests.support.ws import make_client, make_user

pytestmark = pytest.mark.django_db

CREDENTIALS = {"channelAccessToken": TOKEN, "channelSecret": SECRET}


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="line", credentials=dict(CREDENTIALS), display_name="Tacos")


@pytest.fixture
def user(app):
    return make_user(app, "sally")


@pytest.fixture
def chat(user, integration):
    return make_client(user, "line", external_id=USER_ID, integration=integration)


# Set-up.

def test_the_api_checks_the_token_sets_the_webhook_and_deletes(line, app, settings):
    settings.PARLEY_PUBLIC_URL = "https://parley.example"
    api = ApiClient()
    headers = bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))
    response = api.post("/v1/integrations", {"type": "line", **CREDENTIALS}, headers=headers)
    assert response.status_code == 201, response.content
    body = response.data["integration"]
    assert (body["type"], body["displayName"]) == ("line", "Tacos LINE")
    assert TOKEN not in response.content.decode() and SECRET not in response.content.decode()
    row = Integration.objects.get(app=app)
    assert row.credentials == CREDENTIALS and row.details["botUserId"] == BOT["userId"]
    assert line.endpoint == f"https://parley.example/integrations/line/{row.id}/webhook"

    wrong = api.post("/v1/integrations", {"type": "line", **CREDENTIALS, "channelAccessToken": "nope"},
                     headers=headers)
    assert wrong.status_code == 400 and "LINE refused the channel access token" in wrong.data["error"]["description"]
    missing = api.post("/v1/integrations", {"type": "line", "channelAccessToken": TOKEN}, headers=headers)
    assert missing.status_code == 400 and "channelSecret" in missing.data["error"]["description"]
    assert Integration.objects.filter(app=app).count() == 1

    # LINE has no call to remove the endpoint: deleting makes none.
    calls = len(line.api.requests)
    assert api.delete(f"/v1/integrations/{row.id}", headers=headers).status_code == 200
    assert not Integration.objects.filter(app=app).exists() and len(line.api.requests) == calls


def test_a_plain_http_endpoint_is_refused_in_lines_words(line, integration):
    error = refusal(lambda: Line(integration).register_webhook("http://parley.example/x"))
    assert error.code == "rejected" and error.status == 400
    assert "endpoint: Must be a valid HTTPS URL" in error.message and line.endpoint is None


# Sending: each message type.

def test_text_is_pushed_without_a_fresh_reply_token(line, chat, user):
    message_id = deliver(user, type="text", text="Hello from Parley")
    [sent] = line.sent
    assert (sent["via"], sent["to"], sent["messages"]) == ("push", USER_ID, [{"type": "text", "text": "Hello from Parley"}])
    assert message_id.isdigit()
    [push] = line.api.received("/v2/bot/message/push")
    assert push["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_long_text_is_split_within_5000(line, chat, user):
    deliver(user, type="text", text="a" * 4000 + " " + "b" * 3000)
    assert [len(m["text"]) for m in line.messages()] == [4000, 3000]


def test_link_and_postback_buttons_are_a_buttons_template(line, chat, user):
    deliver(user, type="text", text="Pick one", actions=[
        {"type": "link", "text": "Menu", "uri": "https://tacos.example/menu"},
        {"type": "postback", "text": "Order", "payload": "ORDER"},
        {"type": "postback", "text": "A label far longer than twenty", "payload": "LONG"}])
    [template] = line.messages()
    assert template["altText"] == "Pick one"
    assert template["template"] == {"type": "buttons", "text": "Pick one", "actions": [
        {"type": "uri", "label": "Menu", "uri": "https://tacos.example/menu"},
        {"type": "postback", "label": "Order", "data": "ORDER"},
        {"type": "postback", "label": "A label far longer …", "data": "LONG"}]}


def test_two_buttons_are_a_confirm_and_more_than_four_go_in_fours(line, chat, user):
    deliver(user, type="text", text="Sure?", actions=[{"type": "postback", "text": "Yes", "payload": "Y"},
                                                     {"type": "postback", "text": "No", "payload": "N"}])
    deliver(user, type="text", text="Many", actions=[
        {"type": "postback", "text": f"B{n}", "payload": f"P{n}"} for n in range(6)])
    confirm, first, second = line.messages()
    assert confirm["template"]["type"] == "confirm" and len(confirm["template"]["actions"]) == 2
    assert (first["template"]["type"], len(first["template"]["actions"]), first["template"]["text"]) == (
        "buttons", 4, "Many")
    # the last two: a confirm of two, with their labels as its text
    assert (second["template"]["type"], second["template"]["text"]) == ("confirm", "B4\nB5")


def test_a_text_over_160_goes_before_its_buttons(line, chat, user):
    deliver(user, type="text", text="x" * 200, actions=[{"type": "link", "text": "Go", "uri": "https://a.example"}])
    text, template = line.messages()
    assert text == {"type": "text", "text": "x" * 200}
    assert template["template"]["text"] == "Go"


def test_a_long_payload_travels_by_the_actions_id(line, chat, user):
    delivery = queued(user, type="text", text="Pick", actions=[{"type": "postback", "text": "Big", "payload": "p" * 301}])
    registry.for_client(delivery.client).send(delivery)
    [template] = line.messages()
    action_id = delivery.message.actions[0]["_id"]
    assert template["template"]["actions"][0]["data"] == ACTION_REF + action_id


def test_replies_and_location_requests_are_quick_replies(line, chat, user):
    deliver(user, type="text", text="Where?", actions=[
        {"type": "reply", "text": "Here", "payload": "HERE", "iconUrl": "https://tacos.example/i.png"},
        {"type": "locationRequest", "text": "Send my location"}])
    [message] = line.messages()
    assert message["text"] == "Where?"
    assert message["quickReply"] == {"items": [
        {"type": "action", "imageUrl": "https://tacos.example/i.png",
         "action": {"type": "message", "label": "Here", "text": "Here"}},
        {"type": "action", "action": {"type": "location", "label": "Send my location"}}]}


def test_an_image_is_an_image_message_then_its_text(line, chat, user):
    deliver(user, type="image", text="Our tacos", mediaUrl="https://tacos.example/t.png")
    image, text = line.messages()
    assert image == {"type": "image", "originalContentUrl": "https://tacos.example/t.png",
                     "previewImageUrl": "https://tacos.example/t.png"}
    assert text == {"type": "text", "text": "Our tacos"}


def test_an_image_not_on_https_goes_as_its_url(line, chat, user):
    deliver(user, type="image", mediaUrl="http://tacos.example/t.png")
    assert line.messages() == [{"type": "text", "text": "http://tacos.example/t.png"}]


def test_a_carousel_has_alike_columns(line, chat, user):
    deliver(user, type="carousel", text="Today", items=[
        {"title": "Tacos", "description": "Three", "mediaUrl": "https://tacos.example/1.png",
         "actions": [{"type": "postback", "text": "Buy", "payload": "T"},
                     {"type": "link", "text": "More", "uri": "https://tacos.example/t"}]},
        {"title": "Ramen", "description": "Hot", "mediaUrl": "https://tacos.example/2.png",
         "actions": [{"type": "postback", "text": "Buy", "payload": "R"}]}])
    text, carousel = line.messages()
    assert text == {"type": "text", "text": "Today"}
    first, second = carousel["template"]["columns"]
    assert carousel["template"]["type"] == "carousel"
    assert (first["title"], first["text"], first["thumbnailImageUrl"]) == ("Tacos", "Three", "https://tacos.example/1.png")
    assert second["actions"] == [{"type": "postback", "label": "Buy", "data": "R"},
                                 {"type": "message", "label": "Ramen", "text": "Ramen"}]


def test_a_list_is_a_carousel_and_its_actions_after(line, chat, user):
    items = [{"title": f"Item {n}", "actions": [{"type": "postback", "text": "Pick", "payload": str(n)}]}
             for n in range(10)]
    items[3]["mediaUrl"] = "https://tacos.example/only-one.png"  # not all have one: none gets a thumbnail
    deliver(user, type="list", text="Menu", items=items, actions=[{"type": "link", "text": "All", "uri": "https://t.example"}])
    text, first, buttons = line.messages()
    assert len(first["template"]["columns"]) == 10
    assert all("thumbnailImageUrl" not in c and "title" not in c for c in first["template"]["columns"])
    assert buttons["template"]["actions"] == [{"type": "uri", "label": "All", "uri": "https://t.example"}]


def test_a_location_is_a_location_message(line, chat, user, app):
    """The API takes locations from users only; the engine may still relay
    one (a user's location shown on another channel)."""
    message = Message(app=app, app_user=user, role="appMaker", type="location", text="Our shop",
                      coordinates={"lat": 35.6586, "long": 139.7454})
    Line(chat.integration).send(Delivery(message=message, client=chat, purpose="preferred"))
    assert line.messages() == [{"type": "location", "title": "Our shop", "address": "35.6586, 139.7454",
                                "latitude": 35.6586, "longitude": 139.7454}]


def test_more_than_five_objects_go_in_several_requests(line, chat, user):
    deliver(user, type="text", text="x" * 200, actions=[
        {"type": "postback", "text": f"B{n}", "payload": f"P{n}"} for n in range(20)])
    assert [len(s["messages"]) for s in line.sent] == [5, 1]


def test_the_fake_refuses_what_line_refuses(line, integration):
    bot = Line(integration)
    bad = [
        ([], "messages", "Size must be between 1 and 5"),
        ([{"type": "text", "text": "x"}] * 6, "messages", "Size must be between 1 and 5"),
        ([{"type": "text", "text": "x" * 5001}], "messages[0].text", "Length must be between 1 and 5000"),
        ([{"type": "image", "originalContentUrl": "http://a", "previewImageUrl": "https://a"}],
         "messages[0].originalContentUrl", "Must be a valid HTTPS URL"),
        ([{"type": "template", "altText": "a", "template": {"type": "buttons", "text": "t", "actions": [
            {"type": "postback", "label": "l", "data": "d"}] * 5}}], "messages[0].template.actions",
         "Size must be between 1 and 4"),
        ([{"type": "template", "altText": "a", "template": {"type": "buttons", "text": "t" * 61,
                                                             "thumbnailImageUrl": "https://a", "actions": [
            {"type": "postback", "label": "l", "data": "d"}]}}], "messages[0].template.text",
         "Length must be between 1 and 60"),
        ([{"type": "template", "altText": "a", "template": {"type": "confirm", "text": "t", "actions": [
            {"type": "postback", "label": "l", "data": "d"}]}}], "messages[0].template.actions",
         "Size must be between 2 and 2"),
        ([{"type": "template", "altText": "a", "template": {"type": "carousel", "columns": [
            {"text": "a", "actions": [{"type": "postback", "label": "l", "data": "d"}]},
            {"text": "b", "actions": [{"type": "postback", "label": "l", "data": "d"}] * 2}]}}],
         "messages[0].template.columns", "The number of actions must be the same in all columns"),
        ([{"type": "template", "altText": "a", "template": {"type": "buttons", "text": "t", "actions": [
            {"type": "postback", "label": "l", "data": "d" * 301}]}}],
         "messages[0].template.actions[0].data", "Length must be between 1 and 300"),
        ([{"type": "template", "altText": "a", "template": {"type": "buttons", "text": "t", "actions": [
            {"type": "location", "label": "l"}]}}], "messages[0].template.actions[0].type",
         "Invalid action type for a template"),
        ([{"type": "text", "text": "t", "quickReply": {"items": [
            {"type": "action", "action": {"type": "message", "label": "l" * 21, "text": "t"}}]}}],
         "messages[0].quickReply.items[0].action.label", "Length must be between 1 and 20"),
        ([{"type": "text", "text": "t", "quickReply": {"items": [
            {"type": "action", "action": {"type": "message", "label": "l", "text": "t"}}] * 14}}],
         "messages[0].quickReply.items", "Size must be between 1 and 13"),
    ]
    for messages, prop, said in bad:
        error = refusal(lambda: bot._sent("/v2/bot/message/push", {"to": USER_ID, "messages": messages}))
        assert (error.code, error.status) == ("rejected", 400), messages
        assert f"{prop}: {said}" in error.message, (error.message, prop)
    assert line.sent == []


def test_everything_parley_renders_passes_the_fake(line, chat, user):
    """A message with every kind of action and item LINE can show goes
    through the fake's checks in one delivery."""
    deliver(user, type="list", text="t" * 300, items=[
        {"title": "T" * 60, "description": "D" * 200, "mediaUrl": "https://a.example/1.png",
         "actions": [{"type": "postback", "text": "P" * 30, "payload": "x" * 400} for _ in range(3)]}
        for _ in range(3)],
        actions=[{"type": "link", "text": "L" * 30, "uri": "https://a.example"} for _ in range(3)])
    deliver(user, type="text", text="t" * 100, actions=[
        {"type": "postback", "text": "P", "payload": f"p{n}"} for n in range(5)])
    deliver(user, type="text", text="t" * 100, actions=[
        *[{"type": "reply", "text": "R" * 40, "payload": f"r{n}"} for n in range(14)],
        {"type": "locationRequest", "text": "Where"}])
    assert line.refusals() == []
    kinds = [m["template"]["type"] if m["type"] == "template" else m["type"] for m in line.messages()]
    assert kinds == ["text", "carousel", "buttons", "buttons", "buttons", "text"]
    assert len(line.messages()[-1]["quickReply"]["items"]) == 13


# The reply token.

def fresh(chat, line, seconds_ago=5):
    token = line.reply_token()
    Client.objects.filter(pk=chat.pk).update(last_inbound_ref=token,
                                             last_inbound_at=timezone.now() - timedelta(seconds=seconds_ago))
    return token


def test_a_fresh_reply_token_replies_once_then_pushes(line, chat, user):
    token = fresh(chat, line)
    deliver(user, type="text", text="First")
    deliver(user, type="text", text="Second")
    assert [(s["via"], s["messages"][0]["text"]) for s in line.sent] == [("reply", "First"), ("push", "Second")]
    [reply] = line.api.received("/v2/bot/message/reply")
    assert reply["body"]["replyToken"] == token
    assert Client.objects.get(pk=chat.pk).last_inbound_ref == ""


def test_a_stale_reply_token_is_not_used(line, chat, user):
    fresh(chat, line, seconds_ago=55)
    deliver(user, type="text", text="Late")
    assert [s["via"] for s in line.sent] == ["push"] and line.api.received("/v2/bot/message/reply") == []


def test_a_refused_reply_token_falls_back_to_push(line, chat, user):
    token = fresh(chat, line)
    line.used.add(token)  # LINE already took it (or let it expire)
    deliver(user, type="text", text="Still arrives")
    assert [s["via"] for s in line.sent] == ["push"]
    [refused] = line.refusals()
    assert refused["answer"] == {"message": "Invalid reply token"}


def test_only_the_first_five_objects_go_with_the_token(line, chat, user):
    fresh(chat, line)
    deliver(user, type="text", text="x" * 200, actions=[
        {"type": "postback", "text": f"B{n}", "payload": f"P{n}"} for n in range(20)])
    assert [(s["via"], len(s["messages"])) for s in line.sent] == [("reply", 5), ("push", 1)]


# Errors.

def test_the_engine_records_the_sent_id(line, chat, user):
    delivery = queued(user, type="text", text="Hi")
    sending.run_due()
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.platform_message_id.isdigit()


def test_a_revoked_token_is_bad_credentials(line, chat, user, integration):
    Integration.objects.filter(pk=integration.pk).update(credentials={**CREDENTIALS, "channelAccessToken": "old"})
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent, error.status) == ("bad_credentials", True, 401)
    assert "Authentication failed" in error.message


def test_rate_limits_are_transient(line, chat, user):
    line.rate_limit()
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent) == ("rate_limited", False)
    assert "The API rate limit has been exceeded" in error.message


def test_a_user_line_does_not_know_is_rejected_in_lines_words(line, user, integration):
    make_client(user, "line", external_id="U" + "0" * 32, integration=integration)
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent) == ("rejected", True) and "Failed to send messages" in error.message


def test_a_blocked_user_is_answered_200_and_gets_nothing(line, chat, user):
    """LINE says nothing of a block when sending: the unfollow event tells
    (test_line_inbound)."""
    line.block()
    deliver(user, type="text", text="Hi")
    assert line.sent == [] and len(line.dropped) == 1


def test_server_errors_are_transient(line, chat, user):
    line.api.fail_next(500)
    assert refusal(lambda: deliver(user, type="text", text="Hi")).permanent is False


def test_render_is_pure_of_calls(line, chat, user):
    delivery = queued(user, type="text", text="Hi")
    assert render(delivery.message) == [{"type": "text", "text": "Hi"}] and line.api.requests == []
