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
    headers = [(b"origin", b"http://localhost"),
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
