"""The SDK websocket consumer (docs/sdk-protocol.md) through the project's
ASGI application with Channels' WebsocketCommunicator, on the real database
and channel layer."""

import jwt
import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from messaging.models import Client, Delivery, LogEntry, Message
from tests.support.ws import business_message, user_jwt

pytestmark = pytest.mark.django_db(transaction=True)

db = sync_to_async


async def connect():
    communicator = WebsocketCommunicator(application, "/sdk/ws/")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def auth(app, user, client_id="device-1", **extra):
    """Authenticate as `user`: with its appUser JWT when the app requires one
    for a userId (requireUserJwt, on for new apps), unless `jwt` is given."""
    if user.user_id and app.require_user_jwt:
        extra.setdefault("jwt", user_jwt(app, user.user_id))
    communicator = await connect()
    await communicator.send_json_to(
        {"type": "auth", "appToken": app.app_token, "appUserId": user.id, "clientId": client_id, **extra}
    )
    ready = await communicator.receive_json_from(timeout=5)
    assert ready["type"] == "ready", ready
    return communicator, ready


async def expect_closed_with(communicator, code, error_code):
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "error" and frame["code"] == error_code, frame
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": code}


async def test_it_refuses_a_bad_app_token(app, user):
    communicator = await connect()
    await communicator.send_json_to({"type": "auth", "appToken": "nope", "appUserId": user.id,
                                     "clientId": "d1"})
    await expect_closed_with(communicator, 4001, "unauthorized")


async def test_it_wants_auth_first(app, user):
    communicator = await connect()
    await communicator.send_json_to({"type": "read"})
    await expect_closed_with(communicator, 4001, "unauthorized")


async def test_a_secured_user_needs_its_jwt(app, user):
    user.credential_required = True
    await db(user.save)()
    communicator = await connect()
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                                     "clientId": "d1"})
    await expect_closed_with(communicator, 4001, "unauthorized")
    token = jwt.encode({"scope": "appUser", "userId": "alice"}, app.test_secret, algorithm="HS256",
                       headers={"kid": app.test_key.key_id})
    communicator, ready = await auth(app, user, jwt=token)
    assert ready["appUser"]["_id"] == user.id
    await communicator.disconnect()


async def test_a_forged_jwt_is_refused(app, user):
    token = jwt.encode({"scope": "appUser", "userId": "alice"}, "a wrong secret that is long enough for HS256", algorithm="HS256",
                       headers={"kid": app.test_key.key_id})
    communicator = await connect()
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                                     "clientId": "d1", "jwt": token})
    await expect_closed_with(communicator, 4001, "unauthorized")


async def test_an_unknown_user_is_not_found(app):
    communicator = await connect()
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": "nobody",
                                     "clientId": "d1"})
    await expect_closed_with(communicator, 4004, "not_found")


async def test_bad_frames_get_errors(app, user):
    communicator, _ = await auth(app, user)
    await communicator.send_to(text_data="{not json")
    assert (await communicator.receive_json_from(timeout=5))["code"] == "bad_request"
    await communicator.send_json_to({"type": "dance", "ref": "r1"})
    frame = await communicator.receive_json_from(timeout=5)
    assert frame == {"type": "error", "ref": "r1", "code": "bad_request", "description": "Unknown frame type 'dance'."}
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


@pytest.mark.smoke
async def test_it_creates_the_web_client_and_catches_up_from_since(app, user):
    old = await db(business_message)(user, "old")
    since = old.received.timestamp()
    newer = [await db(business_message)(user, f"new {i}") for i in range(2)]
    communicator, ready = await auth(app, user, since=since)
    assert ready["conversation"] == {"_id": user.id, "unreadCount": 3}
    frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert [f["message"]["_id"] for f in frames] == [m.id for m in newer]
    client = await db(Client.objects.get)(app_user=user, platform="web")
    assert client.external_id == "device-1"
    # Messages sent before the user had any client are delivered to it now.
    assert await db(Delivery.objects.filter(client=client).count)() == 3
    await communicator.disconnect()


@pytest.mark.smoke
async def test_a_business_message_arrives_at_once_and_the_client_moves_its_delivery(app, user):
    communicator, _ = await auth(app, user)
    message = await db(business_message)(user, "Hi from the business")
    # No worker runs here: the frame comes straight from the fan-out.
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "message"
    assert frame["message"]["_id"] == message.id and frame["message"]["role"] == "appMaker"

    async def state():
        return (await db(Delivery.objects.get)(message=message)).state

    # Parley is the web widget's platform: the delivery was stored as sent
    # with the message, no worker involved.
    assert await state() == "sent"
    await communicator.send_json_to({"type": "delivered", "messageId": message.id})
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    assert await state() == "delivered"
    await communicator.send_json_to({"type": "read"})
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    assert await state() == "read"
    await db(user.refresh_from_db)()
    assert user.unread_count == 0
    await communicator.disconnect()


async def test_user_messages_are_stored_acked_and_fanned_out(app, user):
    communicator, _ = await auth(app, user)
    await communicator.send_json_to({"type": "message", "ref": "m1", "message": {"type": "text", "text": "Hello"}})
    frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    ack = next(f for f in frames if f["type"] == "ack")
    echo = next(f for f in frames if f["type"] == "message")
    assert ack["ref"] == "m1" and ack["message"]["text"] == "Hello"
    assert echo["message"]["_id"] == ack["message"]["_id"]
    message = await db(Message.objects.get)(id=ack["message"]["_id"])
    client = await db(Client.objects.get)(app_user=user, platform="web")
    assert message.role == "appUser"
    assert message.source == {"type": "web", "id": client.id}
    await communicator.disconnect()


async def test_invalid_user_messages_are_refused_and_not_stored(app, user):
    communicator, _ = await auth(app, user)
    await communicator.send_json_to({"type": "message", "ref": "m2", "message": {"type": "text"}})
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "error" and frame["ref"] == "m2" and frame["code"] == "bad_request"
    assert await db(Message.objects.count)() == 0
    await communicator.disconnect()


async def test_typing_and_postbacks_become_events(app, user):
    communicator, _ = await auth(app, user)
    await communicator.send_json_to({"type": "typing", "state": "start"})
    await communicator.send_json_to({"type": "postback", "ref": "p1", "action": {"payload": "BUY", "text": "Buy"}})
    assert await communicator.receive_json_from(timeout=5) == {"type": "ack", "ref": "p1"}
    typing = await db(LogEntry.objects.get)(kind="typing:appUser")
    assert typing.detail["state"] == "start"
    postback = await db(LogEntry.objects.get)(kind="postback")
    assert postback.detail["action"]["payload"] == "BUY"
    await communicator.disconnect()


async def test_business_typing_goes_to_the_preferred_web_client_only(app, user):
    from messaging.delivery import send_typing

    other, _ = await auth(app, user, client_id="old-device")
    preferred, _ = await auth(app, user, client_id="new-device")
    await db(send_typing)(user, "typing:start", name="Ann")
    frame = await preferred.receive_json_from(timeout=5)
    assert frame == {"type": "typing", "role": "appMaker", "state": "start", "name": "Ann"}
    assert await other.receive_nothing(timeout=0.3)
    # A message from the business ends typing.
    await db(business_message)(user, "Here you go")
    frames = [await preferred.receive_json_from(timeout=5) for _ in range(2)]
    assert {"type": "typing", "role": "appMaker", "state": "stop"} in frames
    await other.disconnect()
    await preferred.disconnect()


@pytest.mark.smoke
async def test_a_business_read_in_the_dashboard_reaches_the_widget(app, user, client, owner):
    from messaging.models import Webhook, WebhookEvent

    await db(Webhook.objects.create)(app=app, target="https://hooks.example/read", triggers=["conversation:read"])
    await db(client.force_login)(owner)
    communicator, _ = await auth(app, user)
    await communicator.send_json_to({"type": "message", "ref": "m1", "message": {"type": "text", "text": "Hi"}})
    frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    received = next(f for f in frames if f["type"] == "ack")["message"]["received"]

    response = await db(client.get)(f"/apps/{app.id}/users/{user.id}/")  # a member opens it
    assert response.status_code == 200
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "read" and frame["role"] == "appMaker"
    assert frame["at"] >= received
    # Looking again (every live refetch does) reads nothing new: no frame.
    await db(client.get)(f"/apps/{app.id}/users/{user.id}/")
    assert await communicator.receive_nothing(timeout=0.3)
    assert await db(LogEntry.objects.filter(kind="conversation:read:appMaker").count)() == 1
    # Smooch's conversation:read webhook is the user reading, not the business.
    assert not await db(WebhookEvent.objects.filter(trigger="conversation:read").exists)()
    await communicator.disconnect()

    # A reconnecting widget learns it from `ready`.
    communicator, ready = await auth(app, user)
    assert ready["conversation"]["appMakerLastRead"] == frame["at"]
    await communicator.disconnect()


async def test_an_empty_or_already_read_conversation_tells_nobody(app, user, client, owner):
    await db(client.force_login)(owner)
    communicator, ready = await auth(app, user)
    assert "appMakerLastRead" not in ready["conversation"]
    await db(client.get)(f"/apps/{app.id}/users/{user.id}/")
    assert await communicator.receive_nothing(timeout=0.3)
    assert not await db(LogEntry.objects.filter(kind="conversation:read:appMaker").exists)()
    await communicator.disconnect()


# -- idempotent message frames (`ref`) ---------------------------------------


@pytest.mark.smoke
async def test_a_message_frame_sent_again_with_its_ref_is_stored_once(app, user):
    frame = {"type": "message", "ref": "r-1", "message": {"type": "text", "text": "Only once"}}
    communicator, _ = await auth(app, user)
    await communicator.send_json_to(frame)
    first = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    stored = next(f for f in first if f["type"] == "ack")["message"]
    # The ack is lost with the connection; the widget reconnects and sends again.
    await communicator.disconnect()
    communicator, _ = await auth(app, user)
    assert (await communicator.receive_json_from(timeout=5))["message"]["_id"] == stored["_id"]  # catch-up
    await communicator.send_json_to(frame)
    assert await communicator.receive_json_from(timeout=5) == {"type": "ack", "ref": "r-1", "message": stored}
    assert await communicator.receive_nothing(timeout=0.3)  # nothing fanned out again
    assert await db(Message.objects.filter(app_user=user).count)() == 1
    assert await db(LogEntry.objects.filter(kind="message:appUser").count)() == 1
    # The ref stays on the server: not in the message JSON businesses see.
    assert "parleyRef" not in str(stored) and "r-1" not in str(stored)
    assert (await db(Message.objects.get)(id=stored["_id"])).client_ref == "r-1"
    await communicator.disconnect()


async def test_refs_are_per_user_and_a_new_ref_is_a_new_message(app, user):
    from tests.support.ws import make_user

    other = await db(make_user)(app, "bob")
    for who in (user, other):
        communicator, _ = await auth(app, who)
        for ref in ("same", "next"):
            await communicator.send_json_to({"type": "message", "ref": ref, "message": {"type": "text", "text": ref}})
            frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
            assert {f["type"] for f in frames} == {"ack", "message"}
        await communicator.disconnect()
    assert await db(Message.objects.filter(app_user=user).count)() == 2
    assert await db(Message.objects.filter(app_user=other).count)() == 2


async def test_a_bad_ref_is_refused(app, user):
    communicator, _ = await auth(app, user)
    for ref in ("x" * 65, "", {"a": 1}, True):
        await communicator.send_json_to({"type": "message", "ref": ref, "message": {"type": "text", "text": "Hi"}})
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "error" and frame["code"] == "bad_request" and "ref" in frame["description"]
    assert await db(Message.objects.count)() == 0
    await communicator.disconnect()


# -- allowed origins ----------------------------------------------------------


async def connect_from(origin):
    headers = [(b"origin", origin.encode())] if origin else []
    communicator = WebsocketCommunicator(application, "/sdk/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def auth_from(origin, app, user):
    communicator = await connect_from(origin)
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                                     "clientId": "d1", "jwt": user_jwt(app, user.user_id)})
    return communicator


@pytest.mark.smoke
async def test_it_refuses_origins_the_app_does_not_allow(app, user):
    app.settings = {**app.settings, "allowedOrigins": ["https://shop.example"]}
    await db(app.save)()
    for origin in ("https://evil.example", "http://shop.example", None):
        communicator = await auth_from(origin, app, user)
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "error" and frame["code"] == "forbidden", frame
        assert f"Origin {origin or 'null'} is not allowed" in frame["description"]
        assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}
    assert not await db(Client.objects.filter(app_user=user).exists)()

    communicator = await auth_from("https://shop.example", app, user)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    await communicator.disconnect()


async def test_any_origin_may_connect_when_the_app_lists_none(app, user):
    communicator = await auth_from("https://anywhere.example", app, user)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    await communicator.disconnect()


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token reaches a userId until its first JWT
async def test_securing_the_user_closes_its_app_token_sockets(app, user, client):
    communicator, _ = await auth(app, user, client_id="early-device")
    token = jwt.encode({"scope": "appUser", "userId": "alice"}, app.test_secret, algorithm="HS256",
                       headers={"kid": app.test_key.key_id})
    # The user's first JWT call secures it (GET /v1/appusers/{userId}).
    response = await db(client.get)("/v1/appusers/alice", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    await expect_closed_with(communicator, 4001, "unauthorized")


async def test_a_jwt_socket_stays_open_when_the_user_is_secured(app, user, client):
    token = jwt.encode({"scope": "appUser", "userId": "alice"}, app.test_secret, algorithm="HS256",
                       headers={"kid": app.test_key.key_id})
    communicator, _ = await auth(app, user, jwt=token)
    assert (await db(client.get)("/v1/appusers/alice", HTTP_AUTHORIZATION=f"Bearer {token}")).status_code == 200
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_deleting_the_user_closes_its_sockets(app, user):
    from messaging.services.appusers import delete_app_user

    communicator, _ = await auth(app, user)
    await db(delete_app_user)(user)
    await expect_closed_with(communicator, 4001, "unauthorized")


@pytest.mark.parametrize("since", [1e20, -5, "NaN"])
async def test_an_out_of_range_since_is_refused(app, user, since):
    communicator = await connect()
    frame = '{"type": "auth", "appToken": "%s", "appUserId": "%s", "clientId": "d1", "since": %s}' % (
        app.app_token, user.id, since)
    await communicator.send_to(text_data=frame)
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "error" and reply["code"] == "bad_request", reply
    await communicator.disconnect()
