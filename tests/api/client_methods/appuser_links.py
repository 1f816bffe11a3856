"""appUsers.* link requests, transfer requests, auth codes, merges, business
systems, pings and push tokens; conversations.get and postPostback."""

from messaging.integrations.base import linked_app_user
from messaging.models import AppUser, Client, Integration, LogEntry, Message
from messaging.services import authors
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.api.client_methods import case
from tests.api.conftest import add_client
from tests.support.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.support.live import wait_until

BOTH = ("v3", "v8")


def _telegram(t, username="tacos_bot"):
    return Integration.objects.create(app=t.app, type="telegram", credentials={"token": TELEGRAM_TOKEN},
                                      details={"username": username}, display_name="Tacos Bot")


@case("v8 appUsers.getLinkRequests")
def get_link_requests(t, client):
    user = t.user("lin")
    bot = _telegram(t)
    answer = t.call(client, "appUsers.getLinkRequests", "lin", [bot.id])
    assert answer.ok, answer
    [request] = answer.body["linkRequests"]
    assert (request["integrationId"], request["type"]) == (bot.id, "telegram")
    assert request["url"] == f"https://t.me/tacos_bot?start={request['code']}"
    assert linked_app_user(bot, request["code"]) == user.id
    theirs = _telegram(t.other())
    refused = t.call(client, "appUsers.getLinkRequests", "lin", [theirs.id])
    assert (refused.status, refused.code) == (404, "not_found"), refused


@case("v3 appUsers.transferRequest")
def transfer_request(t, client):
    user = t.user("tra")
    bot = _telegram(t)
    answer = t.call(client, "appUsers.transferRequest", "tra", {"type": "telegram"})
    assert answer.ok, answer
    [request] = answer.body["transferRequests"]
    assert request["integrationId"] == bot.id and linked_app_user(bot, request["code"]) == user.id
    theirs = t.other().user("tra")
    refused = t.call(client, "appUsers.transferRequest", theirs.id, {"type": "telegram"})
    assert refused.status == 404, refused


@case("v8 appUsers.getAuthCode")
def get_auth_code(t, client):
    user = t.user("aut")
    answer = t.call(client, "appUsers.getAuthCode", "aut")
    assert answer.ok and answer.body["authCode"].startswith("ac_"), answer
    device = {"id": "5c1d0e7f9a2b3c9d0c1a7e5b3f4e2a8c", "platform": "web"}
    init = t.clients.call("v3", {"appToken": t.app.app_token}, "appUsers.init",
                          [{"device": device, "authCode": answer.body["authCode"]}])
    assert init.ok and init.body["appUser"]["_id"] == user.id, init
    assert Client.objects.get(external_id=device["id"]).app_user_id == user.id
    theirs = t.other().user("aut")
    refused = t.call(client, "appUsers.getAuthCode", theirs.id)
    assert refused.status == 404, refused


@case("v8 appUsers.mergeUsers")
def merge_users(t, client):
    surviving = t.user("sur", properties={"plan": "gold"})
    discarded = t.user("", properties={"plan": "free", "seen": True})
    Message.objects.create(app=t.app, app_user=discarded, role="appUser", text="from the discarded user")
    add_client(discarded, "telegram", "4713")
    answer = t.call(client, "appUsers.mergeUsers", {"surviving": {"_id": surviving.id},
                                                     "discarded": {"_id": discarded.id}})
    assert answer.ok and answer.body["appUser"]["_id"] == surviving.id, answer
    assert not AppUser.objects.filter(pk=discarded.pk).exists()
    assert Message.objects.get(text="from the discarded user").app_user_id == surviving.id
    assert Client.objects.get(external_id="4713").app_user_id == surviving.id
    surviving.refresh_from_db()
    assert surviving.properties == {"plan": "gold", "seen": True}
    assert LogEntry.objects.filter(app_user=surviving, kind="merge:appUser").exists()
    theirs = t.other().user("sur")
    refused = t.call(client, "appUsers.mergeUsers", {"surviving": {"_id": surviving.id},
                                                      "discarded": {"_id": theirs.id}})
    assert (refused.status, refused.code) == (404, "not_found"), refused
    assert AppUser.objects.filter(pk=theirs.pk).exists()
    itself = t.call(client, "appUsers.mergeUsers", {"surviving": {"_id": surviving.id},
                                                     "discarded": {"userId": "sur"}})
    assert itself.status == 400, itself


@case("v8 appUsers.getBusinessSystems")
def get_business_systems(t, client):
    t.user("bus")
    answer = t.call(client, "appUsers.getBusinessSystems", "bus")
    assert answer.ok and answer.body == {"businessSystems": []}, answer
    theirs = t.other().user("bus")
    refused = t.call(client, "appUsers.getBusinessSystems", theirs.id)
    assert refused.status == 404, refused


@case(*(f"{c} appUsers.pingChannel" for c in BOTH))
def ping_channel(t, client):
    user = t.user("pin")
    bot = _telegram(t)
    Client.objects.create(app_user=user, platform="telegram", integration=bot, external_id="4242")
    answer = t.call(client, "appUsers.pingChannel", "pin", "telegram")
    assert answer.ok, answer
    message = Message.objects.get(app_user=user)
    assert (message.id, message.role) == (answer.body["message"]["_id"], "appMaker")
    # Sent as the key that asked for it.
    assert answer.body["message"]["authorId"] == authors.for_key(t.app_key).id != t.app.id, answer
    sent = wait_until(lambda: t.fakes["telegram"].calls("sendMessage"), message="the ping at the fake Telegram")
    assert [call["chat_id"] for call in sent] == ["4242"] and "test message" in sent[0]["text"]
    refused = t.call(client, "appUsers.pingChannel", "pin", "messenger")
    assert (refused.status, refused.code) == (404, "not_found"), refused
    theirs = t.other().user("pin")
    refused = t.call(client, "appUsers.pingChannel", theirs.id, "telegram")
    assert refused.status == 404, refused
    assert Message.objects.filter(app_user=user).count() == 1


@case("v3 appUsers.updatePushToken")
def update_push_token(t, client):
    user = t.user("pus")
    device = add_client(user, "ios", "DEVICE-9")
    answer = t.call(client, "appUsers.updatePushToken", "pus", "DEVICE-9", "apns-token-1")
    assert answer.ok and answer.body["device"]["id"] == "DEVICE-9", answer
    device.refresh_from_db()
    assert device.push_token == "apns-token-1"
    refused = t.call(client, "appUsers.updatePushToken", "pus", "unknown", "apns-token-2")
    assert refused.status == 404, refused


@case(*(f"{c} conversations.get" for c in BOTH))
def get_conversation(t, client):
    user = t.user("con", unread_count=2, conversation_started=True)
    answer = t.call(client, "conversations.get", "con")
    assert answer.ok, answer
    assert answer.body["conversation"]["_id"] == user.id and answer.body["conversation"]["unreadCount"] == 2
    assert answer.body["conversation"]["status"] == "open"  # the business sees the inbox's fields
    theirs = t.other().user("con")
    refused = t.call(client, "conversations.get", theirs.id)
    assert refused.status == 404, refused


@case(*(f"{c} conversations.postPostback" for c in BOTH))
def post_postback(t, client):
    user = t.user("pos")
    web = add_client(user, "web", "web-device-1")
    body = {"role": "appMaker", "type": "text", "text": "Pick one",
            "actions": [{"type": "postback", "text": "Tacos", "payload": "TACOS"}]}
    message = post_message(user, role="appMaker", fields=validate_message(body, role="appMaker", app_user=user))
    action_id = message.actions[0]["_id"]
    answer = t.call(client, "conversations.postPostback", "pos", action_id)
    assert answer.ok, answer
    entry = LogEntry.objects.get(app_user=user, kind="postback")
    assert entry.detail["action"] == {"type": "postback", "payload": "TACOS", "_id": action_id, "text": "Tacos"}
    assert entry.detail["clientId"] == web.id
    refused = t.call(client, "conversations.postPostback", "pos", "no-such-action")
    assert (refused.status, refused.code) == (404, "not_found"), refused
    theirs = t.other().user("pos")
    refused = t.call(client, "conversations.postPostback", theirs.id, action_id)
    assert refused.status == 404, refused
    assert LogEntry.objects.filter(kind="postback").count() == 1
