"""The SDK socket's frame budget (PARLEY_RATE_SOCKET per socket): message,
postback and typing frames past it get a `too_many_requests` error frame
naming the limit, and nothing is stored; once PARLEY_RATE_SOCKET_REFUSALS
were refused, the next one closes the socket with 4029."""

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from messaging.models import Message
from tests.support.ws import user_jwt

pytestmark = pytest.mark.django_db(transaction=True)


async def authed(app, user, client_id):
    communicator = WebsocketCommunicator(application, "/sdk/ws/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                                     "clientId": client_id, "jwt": user_jwt(app, user.user_id)})
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "ready", frame
    return communicator


def text(n):
    return {"type": "message", "ref": f"r{n}", "message": {"type": "text", "text": f"hello {n}"}}


async def next_reply(communicator, *kinds):
    """The next ack or error (or frame of `kinds`), skipping the broadcasts
    of the user's own messages, which may come before or after their acks."""
    kinds = kinds or ("ack", "error")
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] in kinds:
            return frame
        assert frame["type"] == "message", frame


async def test_frames_past_the_limit_are_refused_then_the_socket_closes(settings, app, user):
    settings.PARLEY_RATE_SOCKET = "3/1h"  # an hour-long window cannot end during the test
    settings.PARLEY_RATE_SOCKET_REFUSALS = 2
    communicator = await authed(app, user, "device-1")
    await communicator.send_json_to({"type": "typing", "state": "start"})
    for n in range(2):
        await communicator.send_json_to(text(n))
        assert (await next_reply(communicator))["type"] == "ack"
    for n in (2, 3):
        await communicator.send_json_to(text(n))
        frame = await next_reply(communicator)
        assert frame["type"] == "error" and frame["code"] == "too_many_requests", frame
        assert frame["ref"] == f"r{n}"
        assert "PARLEY_RATE_SOCKET" in frame["description"] and "3 frames per hour" in frame["description"]
    # Pings are not counted.
    await communicator.send_json_to({"type": "ping"})
    assert (await next_reply(communicator, "pong")) == {"type": "pong"}
    await communicator.send_json_to(text(4))
    frame = await next_reply(communicator)
    assert frame["code"] == "too_many_requests"
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4029}
    texts = await db(lambda: sorted(Message.objects.filter(app_user=user).values_list("text", flat=True)))()
    assert texts == ["hello 0", "hello 1"]


async def test_each_socket_has_its_own_budget(settings, app, user):
    settings.PARLEY_RATE_SOCKET = "1/1h"
    first = await authed(app, user, "device-1")
    await first.send_json_to(text(0))
    assert (await next_reply(first))["type"] == "ack"
    await first.send_json_to(text(1))
    assert (await next_reply(first))["code"] == "too_many_requests"
    second = await authed(app, user, "device-2")
    await second.send_json_to(text(2))
    assert (await next_reply(second))["type"] == "ack"
    await first.disconnect()
    await second.disconnect()
