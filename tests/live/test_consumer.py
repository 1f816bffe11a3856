"""The dashboard socket forwards the app's events (channel layer in this
process; the browser test covers a live server)."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from messaging.services.messages import post_message


@pytest.mark.django_db(transaction=True)
def test_it_forwards_new_user_messages_with_their_log_id(client, owner, app, alice):
    from dashboard.asgi import application
    from messaging.models import LogEntry

    client.force_login(owner)
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"),
               (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/dashboard/events/{app.id}/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        assert (await socket.receive_json_from(timeout=5))["type"] == "ready"
        message = await sync_to_async(post_message)(
            alice, role="appUser", fields={"type": "text", "text": "<b>hi</b>"}, source={"type": "web"})
        frames = [await socket.receive_json_from(timeout=5) for _ in range(2)]
        await socket.disconnect()
        return message, frames

    message, frames = async_to_sync(scenario)()
    kinds = [f["kind"] for f in frames]
    assert kinds == ["conversation:start", "message:appUser"]
    frame = frames[1]
    assert frame["appUserId"] == alice.id
    assert frame["detail"]["messageId"] == message.id and frame["detail"]["text"] == "<b>hi</b>"
    assert frame["logId"] == LogEntry.objects.get(kind="message:appUser").id


@pytest.mark.django_db(transaction=True)
def test_a_member_removed_from_the_team_stops_receiving_events(client, app, agent, monkeypatch):
    from channels.layers import get_channel_layer

    from dashboard import consumers
    from dashboard.asgi import application
    from messaging.events import app_group
    from messaging.models import Membership

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0)
    client.force_login(agent)
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"),
               (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]
    event = {"type": "parley.event", "kind": "appUser:created", "appId": app.id, "appUserId": None,
             "logId": None, "summary": "x", "detail": {}}

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/dashboard/events/{app.id}/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        await socket.receive_json_from(timeout=5)
        await get_channel_layer().group_send(app_group(app.id), event)
        assert (await socket.receive_json_from(timeout=5))["kind"] == "appUser:created"
        await sync_to_async(Membership.objects.filter(user=agent).delete)()
        await get_channel_layer().group_send(app_group(app.id), event)
        closed = await socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": consumers.CLOSE_FORBIDDEN}
        await socket.disconnect()

    async_to_sync(scenario)()
