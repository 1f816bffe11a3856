"""The fan-out (messaging/events.py): the events of one change are logged
with one INSERT and reach each group as one channel-layer message;
broadcasts keep the order they were made in, from a request thread (handed
to the server's loop) as from the worker (its publishing loop)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from messaging import events
from messaging.publisher import capture_loop
from messaging.models import LogEntry
from tests.support.ws import business_message, make_client

pytestmark = pytest.mark.django_db(transaction=True)


async def listen(group):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


async def receive(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), 5)


@pytest.mark.smoke
async def test_a_message_and_its_deliveries_reach_each_group_as_one_message(app, user):
    await database_sync_to_async(make_client)(user, "web")
    await database_sync_to_async(make_client)(user, "web", external_id="second", minutes_ago=1)
    layer, user_channel = await listen(events.appuser_group(user.id))
    _, app_channel = await listen(events.app_group(app.id))

    message = await database_sync_to_async(business_message)(user, "Hi")

    for channel in (user_channel, app_channel):
        received = await receive(layer, channel)
        assert received["type"] == "parley.events"
        assert [event["kind"] for event in received["events"]] == [
            "conversation:start", "message:appMaker", "delivery:success", "delivery:success"]
        assert received["events"][1]["detail"]["message"]["_id"] == message.id
        log_ids = [event["logId"] for event in received["events"]]
        assert sorted(log_ids) == sorted(await database_sync_to_async(
            lambda: list(LogEntry.objects.filter(app=app).values_list("id", flat=True)))())


def test_a_batch_writes_its_log_entries_with_one_insert(app, user):
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic(), events.batch():
            events.emit("appUser:updated", app=app, app_user=user, summary="one")
            with events.batch():  # a nested batch joins the outer one
                events.emit("appUser:updated", app=app, app_user=user, summary="two")
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "messaging_logentry"' in q["sql"]]
    assert len(inserts) == 1
    assert list(LogEntry.objects.filter(app=app).order_by("id").values_list("summary", flat=True)) == [
        "one", "two"]


def test_a_failed_change_drops_its_held_events_and_the_next_one_is_logged(app, user):
    with pytest.raises(RuntimeError):
        with transaction.atomic(), events.batch():
            events.emit("appUser:updated", app=app, app_user=user, summary="lost")
            raise RuntimeError("the change failed")
    assert not LogEntry.objects.filter(app=app).exists()
    # The batch is over: an event outside one is written at once.
    entry = events.emit("appUser:updated", app=app, app_user=user, summary="next")
    assert entry.pk is not None
    assert list(LogEntry.objects.filter(app=app).values_list("summary", flat=True)) == ["next"]


@pytest.mark.parametrize("thread", ["request", "worker"])
async def test_broadcasts_keep_their_order(app, thread):
    layer, channel = await listen(events.app_group(app.id))

    def publish_many():
        for number in range(40):
            events.publish([{"type": "parley.event", "kind": "appUser:updated", "appId": app.id,
                             "appUserId": None, "logId": number, "summary": str(number), "detail": {}}])

    if thread == "request":
        # As under daphne: the ASGI application noted the server's loop, and
        # a request thread hands its broadcasts to it.
        await capture_loop(_noop_app)({"type": "http"}, None, None)
        await database_sync_to_async(publish_many)()
    else:
        # A thread with no loop of its own: the worker.
        await asyncio.to_thread(publish_many)
    assert [(await receive(layer, channel))["logId"] for _ in range(40)] == list(range(40))


async def _noop_app(scope, receive, send):
    return None
