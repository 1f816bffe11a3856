"""A worker killed while webhook requests are in flight loses no event, and
the receiver sees each event once, except at most one duplicate per
request that was in flight, with the same `webhook-id` (its idempotency
key): the event rows are the truth, a dead worker's claims run out, and
its unanswered attempts left nothing recorded."""

import signal
from collections import Counter

import pytest
from django.db import connection

from messaging.models import Webhook, WebhookAttempt, WebhookEvent
from tests.support.fake_platform import FakePlatform
from tests.support.live import WorkerProcess, wait_until
from tests.support.ws import business_message, make_client, make_user

pytestmark = pytest.mark.django_db(transaction=True)

IN_FLIGHT = 2  # requests the killed worker has in flight (its lanes for the webhook)
WAITING = 53  # events behind them


def test_a_worker_killed_mid_request_leaves_every_event_received_once_but_those_in_flight(app):
    assert connection.vendor == "postgresql", (
        "this test runs workers in other processes on the test database: run it on PostgreSQL "
        "(DATABASE_URL), as `make test` does")
    receiver = FakePlatform()
    holds = [receiver.hold_next() for _ in range(IN_FLIGHT)]  # every request the first worker makes hangs
    Webhook.objects.create(app=app, target=receiver.url + "/hook", triggers=["message:appMaker"])
    user = make_user(app, "alice")
    make_client(user, "web")
    for i in range(IN_FLIGHT + WAITING):
        business_message(user, f"event {i}")
    expected = {event.message_id for event in WebhookEvent.objects.all()}
    assert len(expected) == IN_FLIGHT + WAITING

    env = {"PARLEY_CLAIM_SECONDS": 2, "PARLEY_SWEEP_SECONDS": 1, "PARLEY_WEBHOOK_IN_FLIGHT": IN_FLIGHT}
    first = WorkerProcess(**env)
    second = None
    try:
        wait_until(lambda: all(hold.arrived.is_set() for hold in holds), timeout=30,
                   message="the first worker's requests to arrive")
        in_flight = [r["headers"]["webhook-id"] for r in receiver.received("/hook")]
        assert len(in_flight) == IN_FLIGHT
        assert WebhookEvent.objects.filter(state="pending").count() == IN_FLIGHT + WAITING
        first.kill(signal.SIGKILL)
        assert len(receiver.received("/hook")) == IN_FLIGHT  # nothing else went out

        second = WorkerProcess(**env)
        for hold in holds:  # the killed worker's requests get their answers, too late
            hold.release.set()
        wait_until(lambda: not WebhookEvent.objects.exclude(state="delivered").exists(), timeout=30,
                   message="every event delivered")

        counts = Counter(r["headers"]["webhook-id"] for r in receiver.received("/hook"))
        assert set(counts) == expected
        twice = {webhook_id: n for webhook_id, n in counts.items() if n > 1}
        # Those in flight at the kill came again, once: nothing recorded them.
        assert twice == {webhook_id: 2 for webhook_id in in_flight}, twice
        # The killed worker's attempts were never recorded: one attempt each.
        assert WebhookAttempt.objects.count() == len(expected)
        assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    finally:
        for hold in holds:
            hold.release.set()
        first.stop()
        if second:
            second.stop()
        receiver.close()
