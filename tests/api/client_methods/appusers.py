"""appUsers.* (the app-user methods) and conversations.resetUnreadCount."""

import struct
import tempfile
import zlib
from pathlib import Path

from messaging.models import AppUser, Integration, LogEntry, Message
from messaging.services import authors, templates
from tests.api.conftest import add_client
from tests.api.client_methods import case

BOTH = ("v3", "v8")


def _create(t, client, user_id, **props):
    if client == "v3":
        return t.call(client, "appUsers.create", user_id, props)
    # One object argument is the client's named-arguments form: wrapped.
    return t.call(client, "appUsers.create", {"appUser": {"userId": user_id, **props}})


@case(*(f"{c} appUsers.create" for c in BOTH))
def create(t, client):
    answer = _create(t, client, "ann", givenName="Ann", properties={"plan": "gold"})
    assert answer.ok and answer.body["appUser"]["userId"] == "ann", answer
    stored = AppUser.objects.get(app=t.app, user_id="ann")
    assert answer.body["appUser"]["_id"] == stored.id
    assert (stored.given_name, stored.properties) == ("Ann", {"plan": "gold"})
    refused = _create(t, client, "ann")
    assert refused.status == 409, refused
    assert AppUser.objects.filter(app=t.app, user_id="ann").count() == 1


@case(*(f"{c} appUsers.get" for c in BOTH))
def get(t, client):
    user = t.user("bob", given_name="Bob")
    answer = t.call(client, "appUsers.get", "bob")
    assert answer.ok and answer.body["appUser"]["_id"] == user.id, answer
    assert answer.body["appUser"]["givenName"] == "Bob"
    theirs = t.other().user("carl")
    refused = t.call(client, "appUsers.get", theirs.id)
    assert (refused.status, refused.code) == (404, "not_found"), refused


@case(*(f"{c} appUsers.update" for c in BOTH))
def update(t, client):
    user = t.user("dan")
    answer = t.call(client, "appUsers.update", "dan", {"surname": "Doe", "properties": {"age": 3}})
    assert answer.ok and answer.body["appUser"]["surname"] == "Doe", answer
    user.refresh_from_db()
    assert (user.surname, user.properties) == ("Doe", {"age": 3})
    theirs = t.other().user("dan")
    refused = t.call(client, "appUsers.update", theirs.id, {"surname": "X"})
    assert refused.status == 404, refused
    theirs.refresh_from_db()
    assert theirs.surname == ""


@case(*(f"{c} appUsers.sendMessage" for c in BOTH))
def send_message(t, client):
    user = t.user("eve")
    answer = t.call(client, "appUsers.sendMessage", "eve", {"role": "appMaker", "type": "text", "text": "hi"})
    assert answer.ok and answer.body["message"]["text"] == "hi", answer
    stored = Message.objects.get(app_user=user)
    assert (stored.id, stored.role, stored.text) == (answer.body["message"]["_id"], "appMaker", "hi")
    # The author: the app key's opaque id, never the key id; another key
    # (the account key) is another author; the user's own message is theirs.
    by_app_key = answer.body["message"]["authorId"]
    assert by_app_key == authors.for_key(t.app_key).id == stored.author, answer
    assert t.app_key.key_id not in by_app_key and len(by_app_key) == 24
    by_account = t.call(client, "appUsers.sendMessage", t.app.id, "eve",
                        {"role": "appMaker", "type": "text", "text": "also hi"}, as_="account")
    assert by_account.ok and by_account.body["message"]["authorId"] == authors.for_key(t.account_key).id
    assert by_account.body["message"]["authorId"] != by_app_key
    own = t.call(client, "appUsers.sendMessage", "eve", {"role": "appUser", "type": "text", "text": "yo"})
    assert own.ok and own.body["message"]["authorId"] == user.id, own
    # Sent from one of the app's templates (a Parley extension); another
    # app's template is not found.
    menu = templates.create_template(t.app, name="Hours", message={"type": "text", "text": "9 to 5"})
    from_template = t.call(client, "appUsers.sendMessage", "eve",
                           {"role": "appMaker", "type": "template", "templateId": menu.id})
    assert from_template.ok and from_template.body["message"]["text"] == "9 to 5", from_template
    theirs = templates.create_template(t.other().app, name="Hours", message={"type": "text", "text": "no"})
    not_ours = t.call(client, "appUsers.sendMessage", "eve",
                      {"role": "appMaker", "type": "template", "templateId": theirs.id})
    assert not_ours.status == 404, not_ours
    refused = t.call(client, "appUsers.sendMessage", "eve", {"role": "appMaker", "type": "text"})
    assert (refused.status, refused.code) == (400, "bad_request"), refused
    assert Message.objects.filter(app_user=user).count() == 4


@case(*(f"{c} appUsers.getMessages" for c in BOTH))
def get_messages(t, client):
    user = t.user("fay", conversation_started=True)
    Message.objects.create(app=t.app, app_user=user, role="appUser", text="one")
    answer = t.call(client, "appUsers.getMessages", "fay")
    assert answer.ok and [m["text"] for m in answer.body["messages"]] == ["one"], answer
    theirs = t.other().user("fay", conversation_started=True)
    refused = t.call(client, "appUsers.getMessages", theirs.id)
    assert refused.status == 404, refused


@case(*(f"{c} appUsers.deleteMessages" for c in BOTH))
def delete_messages(t, client):
    user = t.user("gus")
    Message.objects.create(app=t.app, app_user=user, role="appUser", text="one")
    answer = t.call(client, "appUsers.deleteMessages", "gus")
    assert answer.ok, answer
    assert not Message.objects.filter(app_user=user).exists()


@case(*(f"{c} appUsers.deleteProfile" for c in BOTH))
def delete_profile(t, client):
    user = t.user("hal", given_name="Hal", email="hal@example.com")
    answer = t.call(client, "appUsers.deleteProfile", "hal")
    assert answer.ok, answer
    user.refresh_from_db()
    assert (user.given_name, user.email) == ("", "")


@case("v8 appUsers.delete")
def delete(t, client):
    user = t.user("ivy")
    answer = t.call(client, "appUsers.delete", "ivy")
    assert answer.ok, answer
    assert not AppUser.objects.filter(id=user.id).exists()
    theirs = t.other().user("ivy")
    refused = t.call(client, "appUsers.delete", theirs.id)
    assert refused.status == 404, refused
    assert AppUser.objects.filter(id=theirs.id).exists()


@case("v8 appUsers.deleteMessage")
def delete_message(t, client):
    user = t.user("jon")
    message = Message.objects.create(app=t.app, app_user=user, role="appUser", text="one")
    answer = t.call(client, "appUsers.deleteMessage", "jon", message.id)
    assert answer.ok, answer
    assert not Message.objects.filter(id=message.id).exists()
    refused = t.call(client, "appUsers.deleteMessage", "jon", message.id)
    assert refused.status == 404, refused


@case("v8 appUsers.getChannels")
def get_channels(t, client):
    user = t.user("kim")
    user.clients.create(platform="web", external_id="kim-web")  # an SDK client is no channel
    user.clients.create(platform="telegram", external_id="4711")
    answer = t.call(client, "appUsers.getChannels", "kim")
    assert answer.ok and answer.body["channels"] == [{"type": "telegram", "userId": "4711"}], answer


@case(*(f"{c} conversations.resetUnreadCount" for c in BOTH))
def reset_unread_count(t, client):
    user = t.user("lea", unread_count=3, conversation_started=True)
    answer = t.call(client, "conversations.resetUnreadCount", "lea")
    assert answer.ok, answer
    user.refresh_from_db()
    assert user.unread_count == 0


def _activity(t, client, method):
    user = t.user("max", conversation_started=True)
    answer = t.call(client, method, "max", {"role": "appMaker", "type": "typing:start"})
    assert answer.ok, answer
    entry = LogEntry.objects.get(app_user=user, kind="typing:appMaker")
    assert entry.detail["state"] == "start"
    refused = t.call(client, method, "max", {"role": "appMaker", "type": "no:such"})
    assert refused.status == 400, refused


@case("v8 appUsers.conversationActivity")
def conversation_activity(t, client):
    _activity(t, client, "appUsers.conversationActivity")


@case("v3 appUsers.typingActivity")
def typing_activity(t, client):
    _activity(t, client, "appUsers.typingActivity")


@case("v3 appUsers.trackEvent")
def track_event(t, client):
    user = t.user("ned")
    answer = t.call(client, "appUsers.trackEvent", "ned", "completed_sale", {"surname": "Ned"})
    assert answer.ok and answer.body == {"conversationUpdated": False}, answer
    events = LogEntry.objects.filter(app_user=user, kind="appUser:updated").values_list("detail__event", flat=True)
    assert "completed_sale" in list(events)
    user.refresh_from_db()
    assert user.surname == "Ned"  # the profile sent with the event


@case("v3 appUsers.updateDevice")
def update_device(t, client):
    user = t.user("oli")
    device = add_client(user, "ios", "DEVICE-1", info={"os": "iPhone OS"})
    answer = t.call(client, "appUsers.updateDevice", "oli", "DEVICE-1", {"appVersion": "8.0"})
    assert answer.ok and answer.body["device"]["appVersion"] == "8.0", answer
    device.refresh_from_db()
    assert device.app_version == "8.0"
    refused = t.call(client, "appUsers.updateDevice", "oli", "unknown", {"appVersion": "1"})
    assert refused.status == 404, refused


@case(*(f"{c} appUsers.unlinkChannel" for c in BOTH))
def unlink_channel(t, client):
    user = t.user("pam")
    user.clients.create(platform="telegram", external_id="4712")
    answer = t.call(client, "appUsers.unlinkChannel", "pam", "telegram")
    assert answer.ok, answer
    assert not user.clients.filter(platform="telegram", active=True).exists()


@case("v8 notifications.postNotification")
def post_notification(t, client):
    twilio = Integration.objects.create(app=t.app, type="twilio", display_name="Support line",
                                        credentials={"accountSid": "AC1", "authToken": "secret-token"})
    answer = t.call(client, "notifications.postNotification", t.app.id, {
        "destination": {"integrationId": twilio.id, "destinationId": "+15145555555"},
        "message": {"type": "text", "text": "Your order has shipped."}}, as_="account")
    assert answer.ok, answer
    message = Message.objects.get(app=t.app)
    assert answer.body == {"notification": {"_id": message.id}}
    assert (message.role, message.text, message.app_user.clients.get().external_id) == (
        "appMaker", "Your order has shipped.", "+15145555555")
    theirs = Integration.objects.create(app=t.other().app, type="twilio", credentials={"accountSid": "AC2"})
    refused = t.call(client, "notifications.postNotification", t.app.id, {
        "destination": {"integrationId": theirs.id, "destinationId": "+15145555556"},
        "message": {"type": "text", "text": "x"}}, as_="account")
    assert refused.status in (400, 404), refused
    assert Message.objects.filter(app=t.app).count() == 1


@case(*(f"{c} appUsers.linkChannel" for c in BOTH))
def link_channel(t, client):
    user = t.user("quy")
    twilio = Integration.objects.create(app=t.app, type="twilio", credentials={"accountSid": "AC1",
                                                                                "authToken": "secret-token"})
    answer = t.call(client, "appUsers.linkChannel", "quy", {"type": "twilio", "phoneNumber": "+1 212-555-2368"})
    assert answer.ok, answer
    assert [c["platform"] for c in answer.body["appUser"]["pendingClients"]] == ["twilio"]
    linked = user.clients.get(platform="twilio")
    assert linked.pending and linked.external_id == "+12125552368" and linked.integration == twilio
    refused = t.call(client, "appUsers.linkChannel", "quy", {"type": "no-such"})
    assert refused.status == 400, refused


def _png(tmp: Path) -> str:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = tmp / "pixel.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    return str(path)


@case(*(f"{c} appUsers.uploadImage" for c in BOTH))
def upload_image(t, client):
    user = t.user("ria", conversation_started=True)
    with tempfile.TemporaryDirectory() as tmp:
        answer = t.call(client, "appUsers.uploadImage", "ria", {"$file": _png(Path(tmp))},
                        {"role": "appMaker", "text": "Look"})
    assert answer.ok and answer.body["message"]["mediaType"] == "image/png", answer
    stored = Message.objects.get(app_user=user)
    assert (stored.id, stored.type, stored.text, stored.media_url) == (
        answer.body["message"]["_id"], "image", "Look", answer.body["message"]["mediaUrl"])


@case(*(f"{c} appUsers.viber.getQRCode" for c in BOTH))
def viber_qr_code(t, client):
    user = t.user("sam")
    Integration.objects.create(app=t.app, type="viber", credentials={"token": "viber-token"},
                               display_name="Tacos Bot", details={"uri": "tacosbot"})
    answer = t.call(client, "appUsers.viber.getQRCode", "sam")
    assert answer.ok and answer.body["url"].startswith("viber://pa?chatURI=tacosbot&context="), answer
    assert not user.clients.exists()  # linked only when the Viber user opens it
    theirs = t.other().user("sam")
    refused = t.call(client, "appUsers.viber.getQRCode", theirs.id)
    assert refused.status == 404, refused


@case("v3 appUsers.init")
def init(t, client):
    device = {"id": "03f70682b7f5b21536a3674f38b3e220", "platform": "web", "appVersion": "1.0"}
    answer = t.clients.call(client, {"appToken": t.app.app_token}, "appUsers.init", [{"device": device}])
    assert answer.ok, answer
    user = AppUser.objects.get(pk=answer.body["appUser"]["_id"])
    assert user.app == t.app and user.user_id is None
    assert user.clients.get().external_id == device["id"]
    again = t.clients.call(client, {"appToken": t.app.app_token}, "appUsers.init", [{"device": device}])
    assert again.ok and again.body["appUser"]["_id"] == user.id, again
