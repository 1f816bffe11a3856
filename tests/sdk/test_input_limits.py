"""Input that never breaks the SDK socket (issue 11, item 1): a bad frame
gets an error frame, the socket stays open and nothing is stored; a message
stored before the limits (1.5 MB of metadata or text) reaches the widget
fitted to the socket's frame limit, in catch-up and in a broadcast."""

import json

import pytest
from channels.db import database_sync_to_async as db

from messaging.models import AppUser, Message
from tests.sdk.test_consumer import auth, connect
from tests.support.ws import business_message

pytestmark = pytest.mark.django_db(transaction=True)

BIG = 1_500_000


def message_frame(body: str) -> str:
    return '{"type":"message","ref":"r1","message":' + body + "}"


BAD_FRAMES = [
    (message_frame('{"type":"text","text":"a\\u0000b"}'), "message.text contains a NUL byte"),
    (message_frame('{"type":"text","text":"hi","metadata":{"k":"\\udfff"}}'),
     "message.metadata.k contains an unpaired surrogate"),
    (message_frame('{"type":"text","text":"hi","metadata":{"n":1e400}}'), "message.metadata.n is a number out of range"),
    (message_frame('{"type":"text","text":"hi","metadata":{"n":NaN}}'), "NaN is not a JSON number"),
    (message_frame('{"type":"text","x":' + "[" * 30_000 + "]" * 30_000 + "}"), "nested more than 32 levels deep"),
    (message_frame('{"type":"text","text":"hi","metadata":{"k":"' + "x" * 70_000 + '"}}'), "at most 64 KB"),
]


async def expect_open(communicator):
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}


@pytest.mark.smoke
async def test_bad_frames_get_an_error_frame_and_the_socket_stays_open(app, user):
    communicator, _ = await auth(app, user)
    for text, says in BAD_FRAMES:
        await communicator.send_to(text_data=text)
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "error" and frame["code"] == "bad_request", frame
        assert says in frame["description"], frame
        await expect_open(communicator)
    # Rules of the body, after the decoder: text length, metadata size.
    for message, says in (({"type": "text", "text": "x" * 10_001}, "text must be at most 10000 characters"),
                          ({"type": "text", "text": "hi", "metadata": {"k": "x" * 5000}},
                           "metadata must be at most 4096 bytes")):
        await communicator.send_json_to({"type": "message", "ref": "r2", "message": message})
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "error" and says in frame["description"], frame
    assert await db(Message.objects.count)() == 0
    # And the widget goes on: a good message is stored and acked.
    await communicator.send_json_to({"type": "message", "ref": "ok", "message": {"type": "text", "text": "Hello"}})
    frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    ack = next(f for f in frames if f["type"] == "ack")
    assert ack["message"]["text"] == "Hello"
    assert await db(Message.objects.count)() == 1
    await communicator.disconnect()
    # The auth frame is decoded the same way.
    communicator = await connect()
    await communicator.send_to(text_data=json.dumps(
        {"type": "auth", "appToken": app.app_token, "appUserId": user.id, "clientId": "dev\x00ice"}))
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "error" and "clientId contains a NUL byte" in frame["description"], frame
    await expect_open(communicator)
    await communicator.disconnect()


def store_big_message(user, **fields):
    """A row written before the input limits: straight through the ORM."""
    message = business_message(user, "small")
    Message.objects.filter(pk=message.pk).update(**fields)
    return message


async def test_oversize_rows_reach_the_widget_fitted_to_the_frame_limit(app, user):
    big_meta = await db(store_big_message)(user, metadata={"k": "x" * BIG})
    big_text = await db(store_big_message)(user, text="y" * BIG)
    normal = await db(business_message)(user, "after")
    await db(AppUser.objects.filter(pk=user.pk).update)(properties={"k": "p" * BIG})
    communicator, ready = await auth(app, user)
    assert ready["appUser"]["properties"] == {} and ready["appUser"]["truncated"] == ["properties"]
    # Catch-up: each message without its oversize parts, named in `truncated`.
    frames = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
    by_id = {f["message"]["_id"]: f["message"] for f in frames}
    assert by_id[big_meta.id]["truncated"] == ["metadata"] and "metadata" not in by_id[big_meta.id]
    assert by_id[big_meta.id]["text"] == "small"
    assert "text" in by_id[big_text.id]["truncated"]
    assert 0 < len(by_id[big_text.id]["text"]) < BIG and by_id[big_text.id]["text"].startswith("yyy")
    assert "truncated" not in by_id[normal.id]
    for frame in frames:
        assert len(json.dumps(frame)) <= 256 * 1024
    # A broadcast as large (what the engine may still carry: an
    # integration's inbound payload, an import) is fitted the same way.
    message = await db(business_message)(user, "big", metadata={"k": "z" * BIG})
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["message"]["_id"] == message.id and frame["message"]["truncated"] == ["metadata"]
    await expect_open(communicator)
    await communicator.disconnect()
