"""End to end on a real daphne server (LiveServer) with a real websocket
client: the business posts through the REST API, the SDK client receives
it at once; the client reads, the delivery is read and the failover is
cancelled."""

import pytest
import requests

from messaging.models import Delivery
from tests.support.live import LiveServer, wait_until
from tests.support.ws import SdkSocket, app_jwt, decisions, make_client, user_jwt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.smoke
async def test_api_post_reaches_the_socket_and_a_read_cancels_the_failover(settings, app, user):
    from channels.db import database_sync_to_async as sync_to_async

    settings.PARLEY_FAILOVER_SECONDS = 3
    server = await sync_to_async(LiveServer)(worker=True, PARLEY_WORKER_INTERVAL="0.1")
    socket = None
    try:
        await sync_to_async(make_client)(user, "fake", minutes_ago=60)
        socket = await SdkSocket.open(server.url)
        await socket.send({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                           "clientId": "browser-1", "jwt": await sync_to_async(user_jwt)(app, user.user_id)})
        assert (await socket.receive())["type"] == "ready"

        token = await sync_to_async(app_jwt)(app)
        response = await sync_to_async(requests.post)(
            f"{server.url}/v1/appusers/{user.id}/messages",
            json={"role": "appMaker", "type": "text", "text": "Your order shipped"},
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )
        assert response.status_code == 201, response.text
        message_id = response.json()["message"]["_id"]
        frame = await socket.receive_until(lambda f: f["type"] == "message", timeout=5)
        assert frame["message"]["_id"] == message_id
        assert frame["message"]["text"] == "Your order shipped"

        @sync_to_async
        def web_delivery():
            return Delivery.objects.filter(message_id=message_id, client__platform="web").first()

        # The socket got it from the fan-out, with no worker in between: the
        # web delivery was stored as sent with the message.
        delivery = await web_delivery()
        assert delivery.state == "sent" and delivery.attempts == 1

        await socket.send({"type": "delivered", "messageId": message_id})
        await socket.send({"type": "read"})
        for _ in range(200):
            delivery = await web_delivery()
            if delivery.state == "read":
                break
            await socket.send({"type": "ping"})
            await socket.receive_until(lambda f: f["type"] == "pong")
        assert delivery.state == "read" and delivery.purpose == "preferred"

        from messaging.models import Message

        message = await sync_to_async(Message.objects.get)(id=message_id)
        assert message.read_at is not None
        await sync_to_async(wait_until)(lambda: decisions(message, "failover-cancelled"), timeout=30,
                                        message="the failover check")
        assert not await sync_to_async(
            Delivery.objects.filter(message_id=message_id, purpose="failover").exists)()
    finally:
        if socket:
            await socket.close()
        await sync_to_async(server.stop)()


@pytest.mark.smoke
async def test_business_typing_reaches_the_widget_and_the_worker_stops_it(settings, app, user):
    """typing:start through the API goes to the socket of the preferred web
    client; the worker inside daphne ends it after the timeout (its event
    reaches the socket through the same channel layer)."""
    from channels.db import database_sync_to_async as sync_to_async

    server = await sync_to_async(LiveServer)(worker=True, PARLEY_WORKER_INTERVAL="0.1",
                                             PARLEY_TYPING_TIMEOUT_SECONDS="1")
    socket = None
    try:
        socket = await SdkSocket.open(server.url)
        await socket.send({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                           "clientId": "browser-2", "jwt": await sync_to_async(user_jwt)(app, user.user_id)})
        assert (await socket.receive())["type"] == "ready"
        token = await sync_to_async(app_jwt)(app)
        response = await sync_to_async(requests.post)(
            f"{server.url}/v1/appusers/{user.id}/conversation/activity",
            json={"role": "appMaker", "type": "typing:start", "name": "Ann"},
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )
        assert response.status_code == 200, response.text
        start = await socket.receive_until(lambda f: f["type"] == "typing", timeout=5)
        assert start == {"type": "typing", "role": "appMaker", "state": "start", "name": "Ann"}
        stop = await socket.receive_until(lambda f: f["type"] == "typing", timeout=15)
        assert stop == {"type": "typing", "role": "appMaker", "state": "stop"}
    finally:
        if socket:
            await socket.close()
        await sync_to_async(server.stop)()
