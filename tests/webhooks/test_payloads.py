"""Every trigger's payload, as a real receiver on 127.0.0.1 gets it, against
the reference's examples: each SHAPE below holds the keys of one example
(smooch-v1-rest-api.md, "Webhooks payload", the section named beside it;
guide-receiving-messages.md, "Message Webhooks"), nested. A payload may
carry more keys than its example (Parley's extras), never fewer, and no
key is ever null. Events come through the paths users meet: the REST API,
the Web Messenger's socket, Telegram's and Twilio's inbound webhooks, and
the delivery engine; each names its channel in `source` / `destination`."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from messaging.delivery import sending
from messaging.events import OPT_IN_TRIGGERS, SUBSCRIBABLE_TRIGGERS, WEBHOOK_TRIGGERS
from messaging.models import Client, Integration
from messaging.services import authors, inbound, postbacks
from messaging.services.integrations import create_integration
from tests.support.fake_telegram import TOKEN, callback_update, message_update
from tests.support.ws import app_jwt, business_message, make_client, make_user, user_jwt
from tests.webhooks.conftest import send

pytestmark = pytest.mark.django_db

# The shapes. A dict maps each key of the example to the shape of its value
# (None: any value); a one-element list is the shape of every element (and
# the list may not be empty).

# "Trigger - message:appUser (text)": the appUser and its clients.
CLIENT = {"active": None, "id": None, "lastSeen": None, "platform": None}
APP_USER = {"_id": None, "userId": None, "properties": None, "signedUpAt": None, "clients": [CLIENT]}
SOURCE = {"type": None}

# "Trigger - message:appUser (text)", with guide-receiving-messages.md's
# "Message Webhooks" example, which adds metadata and actions.
USER_TEXT = {"_id": None, "type": None, "text": None, "role": None, "authorId": None, "name": None,
             "received": None, "source": SOURCE, "metadata": None, "actions": None}
# "Trigger - message:appUser (image)".
USER_IMAGE = {"_id": None, "type": None, "mediaUrl": None, "role": None, "authorId": None, "name": None,
              "received": None, "source": SOURCE}
# "Trigger - message:appUser (location)".
USER_LOCATION = {"text": None, "authorId": None, "received": None, "type": None,
                 "coordinates": {"lat": None, "long": None, "_id": None}, "role": None, "_id": None,
                 "source": SOURCE}
# "Trigger - message:appMaker (carousel)".
ACTION = {"text": None, "payload": None, "_id": None, "type": None}
ITEM = {"title": None, "description": None, "size": None, "mediaUrl": None, "mediaType": None, "_id": None,
        "actions": [ACTION]}
CAROUSEL = {"items": [ITEM], "type": None, "role": None, "received": None, "authorId": None, "avatarUrl": None,
            "_id": None, "source": SOURCE}
# "Trigger - message:appMaker (list)".
LIST = {**CAROUSEL, "actions": [ACTION]}


def without(shape: dict, *keys) -> dict:
    return {k: v for k, v in shape.items() if k not in keys}


# A user met on a platform has no userId (keys with no value are left out).
PLATFORM_USER = without(APP_USER, "userId")


def message_payload(message_shape, *, app_user=APP_USER):
    return {"trigger": None, "app": {"_id": None}, "messages": [message_shape], "appUser": app_user}


# "Trigger - postback".
POSTBACK = {
    "trigger": None, "app": {"_id": None}, "appUser": APP_USER,
    "postbacks": [{
        "message": {"_id": None, "text": None, "type": None, "role": None, "authorId": None, "name": None,
                    "received": None, "source": SOURCE, "actions": [ACTION]},
        "action": {"_id": None, "type": None, "text": None, "payload": None},
    }],
}
# "Trigger - conversation:start".
CONVERSATION_START = {"trigger": None, "app": {"_id": None}, "source": SOURCE, "appUser": APP_USER,
                      "timestamp": None}
# "Trigger - conversation:read".
CONVERSATION_READ = {"trigger": None, "app": {"_id": None}, "source": SOURCE, "appUser": {"_id": None},
                     "timestamp": None}
# "Trigger - merge:appUser".
MERGE = {"trigger": None, "app": {"_id": None},
         "surviving": {"_id": None, "userId": None, "conversationStarted": None},
         "discarded": [{"_id": None, "conversationStarted": None}]}
# "Trigger - delivery:success".
DELIVERED_MESSAGE = {"text": None, "received": None, "name": None, "role": None, "type": None, "authorId": None,
                     "avatarUrl": None, "_id": None, "source": SOURCE}
DELIVERY_SUCCESS = {"trigger": None, "app": {"_id": None}, "appUser": {"_id": None, "userId": None},
                    "destination": {"type": None}, "messages": [DELIVERED_MESSAGE], "timestamp": None}
# "Trigger - delivery:failure".
DELIVERY_FAILURE = {**DELIVERY_SUCCESS, "error": {"code": None, "underlyingError": {"message": None}}}


def missing(value, shape, path="$") -> list[str]:
    """The paths of `shape` that `value` lacks."""
    if shape is None:
        return []
    if isinstance(shape, list):
        if not isinstance(value, list) or not value:
            return [f"{path} (not a non-empty list)"]
        return [m for i, item in enumerate(value) for m in missing(item, shape[0], f"{path}[{i}]")]
    if not isinstance(value, dict):
        return [f"{path} (not an object)"]
    found = []
    for key, sub in shape.items():
        found += [f"{path}.{key}"] if key not in value else missing(value[key], sub, f"{path}.{key}")
    return found


def nulls(value, path="$") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in nulls(v, f"{path}[{i}]")]
    return []


def check(payload: dict, shape: dict, trigger: str) -> dict:
    assert payload["trigger"] == trigger
    assert missing(payload, shape) == [], json.dumps(payload, indent=1)
    assert nulls(payload) == []
    return payload


def received(receiver) -> list[dict]:
    send()
    return receiver.payloads()


def one(payloads, trigger, **where) -> dict:
    """The payload of `trigger` whose messages[0] has the values `where`."""
    found = [p for p in payloads if p["trigger"] == trigger
             and all(p.get("messages", [{}])[0].get(k) == v for k, v in where.items())]
    assert len(found) == 1, [p["trigger"] for p in payloads]
    return found[0]


def api_post(client, app, path, body):
    return client.post(path, json.dumps(body), content_type="application/json",
                       headers={"authorization": f"Bearer {app_jwt(app)}"})


# Through the REST API.

def test_business_carousel_and_list_messages_as_the_reference_shows_them(client, app, steve, hook, receiver):
    hook(["message:appMaker"])
    make_client(steve, "web", external_id="5A7F8343-DF41-46A8-96EC-8583FCB422FB")
    item = {"title": "Tacos", "description": "Beef and cheese... Mhm...", "size": "large",
            "mediaUrl": "https://example.org/partytacolarge.png",
            "actions": [{"type": "postback", "text": "Oh yeah!", "payload": "TACOS"}]}
    author = {"role": "appMaker", "email": "danny@example.org"}
    url = f"/v1/appusers/{steve.id}/messages"
    assert api_post(client, app, url, {**author, "type": "carousel", "items": [item]}).status_code == 201
    assert api_post(client, app, url, {**author, "type": "list", "items": [item], "actions": [
        {"type": "postback", "text": "More Choices!", "payload": "MORE"}]}).status_code == 201

    payloads = received(receiver)
    carousel = check(one(payloads, "message:appMaker", type="carousel"), message_payload(CAROUSEL),
                     "message:appMaker")
    check(one(payloads, "message:appMaker", type="list"), message_payload(LIST), "message:appMaker")
    message = carousel["messages"][0]
    assert message["source"] == {"type": "api"} and message["authorId"] == authors.for_key(app.test_key).id
    assert message["items"][0]["mediaType"] == "image/png"
    assert carousel["app"] == {"_id": app.id} and carousel["appUser"]["_id"] == steve.id
    assert carousel["appUser"]["clients"][0]["id"] == "5A7F8343-DF41-46A8-96EC-8583FCB422FB"
    assert [p["trigger"] for p in payloads] == ["message:appMaker"] * 2  # the filter: nothing else


def test_a_user_image_and_a_read_through_the_api(client, app, steve, hook, receiver):
    hook(["message:appUser", "conversation:read"])
    make_client(steve, "web")
    url = f"/v1/appusers/{steve.id}/messages"
    response = api_post(client, app, url, {"role": "appUser", "type": "image",
                                           "mediaUrl": "https://example.org/partytacolarge.png"})
    assert response.status_code == 201, response.content
    assert api_post(client, app, f"/v1/appusers/{steve.id}/conversation/read", {}).status_code == 200

    payloads = received(receiver)
    image = check(one(payloads, "message:appUser"), message_payload(USER_IMAGE), "message:appUser")
    assert image["messages"][0]["name"] == "Steve" and image["messages"][0]["authorId"] == steve.id
    assert image["messages"][0]["source"] == {"type": "api"}
    read = check(one(payloads, "conversation:read"), CONVERSATION_READ, "conversation:read")
    assert read["source"] == {"type": "api"} and read["appUser"]["_id"] == steve.id


@pytest.mark.require_user_jwt(False)  # the widget's anonymous user logs in with the app token
def test_merge_app_user_names_the_surviving_and_the_discarded_users(client, app, hook, receiver):
    hook(["merge:appUser"])
    surviving = make_user(app, "123")
    device = {"id": "03f70682b7f5b21536a3674f38b3e220", "platform": "web"}
    init = {"content_type": "application/json", "headers": {"app-token": app.app_token}}
    anonymous = client.post("/v1/init", json.dumps({"device": device}), **init).json()["appUser"]["_id"]
    assert client.post("/v1/init", json.dumps({"device": device, "userId": "123"}), **init).status_code == 200

    [payload] = received(receiver)
    check(payload, MERGE, "merge:appUser")
    assert payload["surviving"] == {"_id": surviving.id, "userId": "123", "conversationStarted": False}
    assert payload["discarded"] == [{"_id": anonymous, "conversationStarted": False}]


# Through the Web Messenger's socket.

@pytest.mark.django_db(transaction=True)
async def test_the_web_messengers_events_name_the_web_channel(app, steve, hook, receiver):
    db = database_sync_to_async
    await db(hook)()
    communicator = WebsocketCommunicator(application, "/sdk/ws/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": steve.id,
                                     "clientId": "5A7F8343", "jwt": user_jwt(app, steve.user_id)})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    web = await db(Client.objects.get)(app_user=steve, platform="web")

    await communicator.send_json_to({"type": "message", "ref": "m1",
                                     "message": {"type": "text", "text": "Hi! Do you have time to chat?"}})
    await _frame(communicator, "ack")
    question = await db(business_message)(steve, "Do you want to see more options?", name="LunchBot",
                                          avatar_url="https://example.org/bot.png", actions=[
        {"_id": "571530ee4fae94c32b78b170", "type": "postback", "text": "Yes", "payload": "YES"}])
    await _frame(communicator, "message")
    await communicator.send_json_to({"type": "postback", "ref": "p1", "action": {
        "_id": "571530ee4fae94c32b78b170", "type": "postback", "text": "Yes", "payload": "YES"}})
    await _frame(communicator, "ack")
    await communicator.send_json_to({"type": "read"})
    await communicator.disconnect()

    payloads = await db(received)(receiver)
    source = {"type": "web", "id": web.id}
    start = check(one(payloads, "conversation:start"), CONVERSATION_START, "conversation:start")
    assert start["source"] == source
    text = check(one(payloads, "message:appUser"), message_payload(USER_TEXT), "message:appUser")
    assert text["messages"][0]["source"] == source and text["messages"][0]["name"] == "Steve"
    check(one(payloads, "message:appMaker"), message_payload(DELIVERED_MESSAGE), "message:appMaker")
    sent = check(one(payloads, "delivery:success"), DELIVERY_SUCCESS, "delivery:success")
    assert sent["destination"] == {"type": "web"} and sent["messages"][0]["_id"] == question.id
    postback = check(one(payloads, "postback"), POSTBACK, "postback")
    assert postback["postbacks"][0]["message"]["_id"] == question.id
    assert postback["postbacks"][0]["action"]["payload"] == "YES"
    read = check(one(payloads, "conversation:read"), CONVERSATION_READ, "conversation:read")
    assert read["source"] == source


async def _frame(communicator, kind: str) -> dict:
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == kind:
            return frame


# Through Telegram's inbound webhook and the delivery engine.

def test_telegram_events_name_telegram_and_the_integration(client, app, telegram, hook, receiver):
    hook()
    bot = Integration.objects.create(app=app, type="telegram", credentials={"token": TOKEN},
                                     display_name="Tacos Bot")

    def update(body):
        response = client.post(f"/integrations/telegram/{bot.id}/webhook", json.dumps(body),
                               content_type="application/json",
                               HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=bot.webhook_secret)
        assert response.status_code == 200
        inbound.run_due()

    update(message_update(1, text="/start"))
    update(message_update(2, text="Hi! Do you have time to chat?"))
    update(message_update(3, location={"latitude": 45.5261583, "longitude": -73.595346}))
    [user] = bot.app.app_users.all()
    chat = Client.objects.get(app_user=user)
    question = business_message(user, "Do you want to see more options?", name="LunchBot",
                                avatar_url="https://example.org/bot.png",
                                actions=[{"_id": "571530ee4fae94c32b78b170", "type": "postback", "text": "Yes",
                                          "payload": "YES"}])
    sending.run_due()
    [sent] = telegram.calls("sendMessage")
    update(callback_update(4, "YES", {"message_id": 1, "date": 0, "chat": {"id": 4242, "type": "private"},
                                      "text": sent["text"], "reply_markup": sent["reply_markup"]}))
    telegram.block("4242")
    business_message(user, "Anyone there?", name="LunchBot", avatar_url="https://example.org/bot.png")
    sending.run_due()

    payloads = received(receiver)
    source = {"type": "telegram", "integrationId": bot.id, "id": chat.id}
    start = check(one(payloads, "conversation:start"), {**CONVERSATION_START, "appUser": PLATFORM_USER},
                  "conversation:start")
    assert start["source"] == source and start["appUser"]["conversationStarted"] is True
    text = check(one(payloads, "message:appUser", type="text"), message_payload(USER_TEXT, app_user=PLATFORM_USER),
                 "message:appUser")
    assert text["messages"][0]["source"] == source and text["messages"][0]["name"] == "Alice Liddell"
    assert text["appUser"]["clients"][0]["platform"] == "telegram"
    location = check(one(payloads, "message:appUser", type="location"),
                     message_payload(USER_LOCATION, app_user=PLATFORM_USER), "message:appUser")
    assert location["messages"][0]["text"].startswith("Location shared:\nhttps://maps.google.com/maps?q=45.52")
    destination = {"type": "telegram", "integrationId": bot.id}
    delivered = {**DELIVERY_SUCCESS, "appUser": {"_id": None}}
    ok = check(one(payloads, "delivery:success"), delivered, "delivery:success")
    assert ok["destination"] == destination and ok["messages"][0]["_id"] == question.id
    postback = check(one(payloads, "postback"), {**POSTBACK, "appUser": PLATFORM_USER}, "postback")
    assert postback["postbacks"][0]["action"] == {"_id": "571530ee4fae94c32b78b170", "type": "postback",
                                                  "text": "Yes", "payload": "YES"}
    failed = check(one(payloads, "delivery:failure"), {**delivered, "error": DELIVERY_FAILURE["error"]},
                   "delivery:failure")
    assert failed["destination"] == destination and failed["error"]["code"] == "blocked"
    assert "bot was blocked by the user" in failed["error"]["underlyingError"]["message"]


# Through Twilio's inbound webhook and the delivery engine.

def test_twilio_events_name_twilio_and_the_integration(client, app, fake_twilio, hook, receiver):
    from urllib.parse import urlencode

    hook()
    number = create_integration(app, {"type": "twilio", **fake_twilio.credentials()},
                                base_url="https://parley.example")
    params = fake_twilio.incoming("Hi! Do you have time to chat?")
    response = client.post(f"/integrations/twilio/{number.id}/webhook", data=urlencode(params),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE=fake_twilio.sign(number.inbound_url, params))
    assert response.status_code == 200
    inbound.run_due()
    [sms] = Client.objects.filter(integration=number)
    question = business_message(sms.app_user, "Your table is ready", name="Danny",
                                avatar_url="https://example.org/danny.png")
    sending.run_due()
    fake_twilio.landlines.add(sms.external_id)
    business_message(sms.app_user, "Still there?", name="Danny", avatar_url="https://example.org/danny.png")
    sending.run_due()

    payloads = received(receiver)
    source = {"type": "twilio", "integrationId": number.id, "id": sms.id}
    text = check(one(payloads, "message:appUser"), message_payload(without(USER_TEXT, "name"), app_user=PLATFORM_USER),
                 "message:appUser")
    assert text["messages"][0]["source"] == source
    start = check(one(payloads, "conversation:start"), {**CONVERSATION_START, "appUser": PLATFORM_USER},
                  "conversation:start")
    assert start["source"] == source
    destination = {"type": "twilio", "integrationId": number.id}
    delivered = {**DELIVERY_SUCCESS, "appUser": {"_id": None}}
    ok = check(one(payloads, "delivery:success"), delivered, "delivery:success")
    assert ok["destination"] == destination and ok["messages"][0]["_id"] == question.id
    failed = check(one(payloads, "delivery:failure"), {**delivered, "error": DELIVERY_FAILURE["error"]},
                   "delivery:failure")
    assert failed["destination"] == destination
    assert "not a valid mobile number" in failed["error"]["underlyingError"]["message"]


# "*" and payment:success.

@pytest.mark.require_user_jwt(False)  # the widget's anonymous user logs in with the app token
def test_star_gets_every_trigger_and_payment_success_is_accepted_but_never_sent(client, app, steve, hook,
                                                                                  receiver):
    star, payments = hook(["*"]), hook(["payment:success"], path="/payments")
    assert "payment:success" in SUBSCRIBABLE_TRIGGERS and "payment:success" not in WEBHOOK_TRIGGERS
    web = make_client(steve, "web")
    make_client(steve, "messenger", minutes_ago=5)  # no messenger integration: its delivery fails
    business_message(steve, "Hello", actions=[{"_id": "a1", "type": "postback", "text": "Yes", "payload": "YES"}])
    sending.run_due()
    assert api_post(client, app, f"/v1/appusers/{steve.id}/messages",
                    {"role": "appUser", "type": "text", "text": "Hi"}).status_code == 201
    postbacks.record_postback(steve, web, {"_id": "a1", "payload": "YES"})
    assert api_post(client, app, f"/v1/appusers/{steve.id}/conversation/read", {}).status_code == 200
    device = {"content_type": "application/json", "headers": {"app-token": app.app_token}}
    client.post("/v1/init", json.dumps({"device": {"id": "d1", "platform": "web"}}), **device)
    client.post("/v1/init", json.dumps({"device": {"id": "d1", "platform": "web"}, "userId": steve.user_id}),
                **device)

    payloads = received(receiver)
    # The reference's triggers ("Webhook triggers") but the alias, "*" and payment:success.
    emitted = ["conversation:read", "conversation:start", "delivery:failure", "delivery:success",
               "merge:appUser", "message:appMaker", "message:appUser", "postback"]
    # Parley's opt-in triggers (the inbox's) are not Smooch's: "*" never gets them.
    assert sorted(set(WEBHOOK_TRIGGERS) - OPT_IN_TRIGGERS) == emitted
    assert sorted({p["trigger"] for p in payloads}) == emitted
    assert star.events.filter(state="delivered").count() == len(payloads)
    assert not receiver.received("/payments") and not payments.events.exists()
