"""A live broadcast that never arrives loses nothing: the rows are the record,
and a socket that reconnects catches up from the database. Broadcasts are
dropped here for real, through the publisher's own backlog limit (0: every
broadcast handed to the server's loop is dropped)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application
from messaging import publisher
from tests.support.ws import business_message, user_jwt

pytestmark = pytest.mark.django_db(transaction=True)


async def sdk_socket(app, user, **extra):
    socket = WebsocketCommunicator(application, "/sdk/ws/")
    connected, _ = await socket.connect(timeout=5)
    assert connected
    if user.user_id and app.require_user_jwt:
        extra.setdefault("jwt", user_jwt(app, user.user_id))  # new apps need it (requireUserJwt)
    await socket.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                               "clientId": "device-1", **extra})
    ready = await socket.receive_json_from(timeout=5)
    assert ready["type"] == "ready", ready
    return socket


async def test_an_sdk_client_catches_up_on_a_dropped_broadcast(app, user, monkeypatch, caplog):
    first = await sync_to_async(business_message)(user, "before")
    socket = await sdk_socket(app, user)
    assert (await socket.receive_json_from(timeout=5))["message"]["_id"] == first.id  # catch-up
    monkeypatch.setattr(publisher, "MAX_BACKLOG", 0)

    missed = await sync_to_async(business_message)(user, "while the layer stalls")

    assert await socket.receive_nothing(timeout=0.5)
    assert "dropping a broadcast" in caplog.text  # dropped for real, by the server's loop
    await socket.disconnect()
    monkeypatch.setattr(publisher, "MAX_BACKLOG", 10_000)
    socket = await sdk_socket(app, user, since=first.received.timestamp())
    frame = await socket.receive_json_from(timeout=5)
    assert frame["type"] == "message" and frame["message"]["_id"] == missed.id
    assert frame["message"]["text"] == "while the layer stalls"
    await socket.disconnect()
