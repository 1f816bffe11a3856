"""The dashboard socket carries the open conversation's rendered parts
(dashboard/consumers.py): a page that watches a conversation gets the
`message`, `note` and `postback` fragments in the frames, and only for a
user of its own app."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from messaging.models import AppUser, Membership
from messaging.services import inbox
from messaging.services.messages import post_message
from tests.support.ws import make_client, make_user


def headers_for(client, user):
    client.force_login(user)
    return [(b"origin", b"http://localhost"), (b"host", b"localhost"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def frame_of(socket, kind):
    while True:
        frame = await socket.receive_json_from(timeout=5)
        if frame.get("kind") == kind:
            return frame


@pytest.mark.django_db(transaction=True)
def test_a_watching_page_gets_rendered_fragments_and_the_read_moves(client, owner, app):
    from dashboard.asgi import application

    carol = make_user(app, "carol", given_name="Carol")
    make_client(carol, "web", minutes_ago=1)
    member = Membership.objects.select_related("user").get(user=owner)
    headers = headers_for(client, owner)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/dashboard/events/{app.id}/", headers=headers)
        assert (await socket.connect(timeout=5))[0]
        assert (await socket.receive_json_from(timeout=5))["type"] == "ready"
        await socket.send_json_to({"type": "watch", "appUserId": carol.id})
        said = await sync_to_async(post_message)(carol, role="appUser", fields={"type": "text", "text": "<b>hi</b>"},
                                                 source={"type": "web"})
        user_frame = await frame_of(socket, "message:appUser")
        note = await sync_to_async(inbox.add_note)(carol, member, "call back")
        note_frame = await frame_of(socket, "note:created")
        await socket.disconnect()
        return said, user_frame, note, note_frame

    said, user_frame, note, note_frame = async_to_sync(scenario)()
    assert user_frame["html"].strip().startswith(f'<li id="m-{said.id}"')
    assert "&lt;b&gt;hi&lt;/b&gt;" in user_frame["html"]
    assert f'id="note-{note.id}"' in note_frame["html"] and "visible to your team only" in note_frame["html"]
    # The page shows the message: read by the business without a request.
    assert AppUser.objects.get(pk=carol.pk).app_maker_last_read is not None


@pytest.mark.django_db(transaction=True)
def test_a_page_cannot_watch_another_apps_user(client, owner, app, stranger_app):
    from dashboard.asgi import application

    theirs = make_user(stranger_app, "bob-secret", given_name="Bob")
    make_client(theirs, "web", minutes_ago=1)
    mine = make_user(app, "carol", given_name="Carol")
    make_client(mine, "web", minutes_ago=1)
    headers = headers_for(client, owner)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/dashboard/events/{app.id}/", headers=headers)
        assert (await socket.connect(timeout=5))[0]
        await socket.receive_json_from(timeout=5)
        await socket.send_json_to({"type": "watch", "appUserId": theirs.id})
        await sync_to_async(post_message)(theirs, role="appUser", fields={"type": "text", "text": "team B secret"},
                                          source={"type": "web"})
        await sync_to_async(post_message)(mine, role="appUser", fields={"type": "text", "text": "A's own"},
                                          source={"type": "web"})
        frame = await frame_of(socket, "message:appUser")
        await socket.disconnect()
        return frame

    frame = async_to_sync(scenario)()
    assert frame["appUserId"] == mine.id and "html" not in frame
    assert "team B secret" not in str(frame)
