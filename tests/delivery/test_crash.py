"""A worker killed mid-burst loses nothing and sends (almost) nothing twice:
delivery rows are the source of truth, claims expire, the sweep re-queues.
Timers a killed worker had claimed fire once, after their lease."""

import signal
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging.models import Delivery, Message, Timer
from tests.support.fake_platform import FakePlatform
from tests.support.live import WorkerProcess, wait_until
from tests.support.ws import business_message, decisions, make_client

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 60


def test_a_killed_worker_leaves_every_delivery_sent_exactly_once(settings, user):
    platform = FakePlatform(delay=0.25)  # slow, so the burst is still waiting when the worker dies
    settings.PARLEY_FAKE_API_BASE = platform.url
    env = {
        "PARLEY_FAKE_API_BASE": platform.url,
        "PARLEY_CLAIM_SECONDS": 3,
        "PARLEY_SWEEP_SECONDS": 1,
    }
    make_client(user, "fake", external_id="psid-crash")
    messages = [business_message(user, f"burst {i}") for i in range(BURST)]
    first = WorkerProcess(**env)
    second = None
    try:
        wait_until(lambda: len(platform.received()) >= 3, timeout=30, message="the first sends")
        running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count()
        waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()
        unsent = Delivery.objects.filter(state="queued").count()
        assert running >= 1 and waiting >= 50 and unsent >= 50, (running, waiting, unsent)
        first.kill(signal.SIGKILL)
        at_kill = len(platform.received())

        second = WorkerProcess(**env)
        wait_until(lambda: not Delivery.objects.exclude(state__in=["sent", "failed"]).exists(),
                   timeout=90, message="every delivery to end")
        assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
        counts = Counter(r["body"]["messageId"] for r in platform.received())
        assert set(counts) == {m.id for m in messages}
        duplicates = {k: v for k, v in counts.items() if v > 1}
        assert len(duplicates) <= 1 and all(v == 2 for v in duplicates.values()), duplicates
        assert at_kill < BURST
    finally:
        first.stop()
        if second:
            second.stop()
        platform.close()


UNREAD = 4


def test_a_killed_worker_holding_claimed_timers_leaves_each_to_fire_once_after_its_lease(settings, user):
    assert connection.vendor == "postgresql", (
        "this test holds message row locks: run it on PostgreSQL (DATABASE_URL), as `make test` does")
    platform = FakePlatform()
    settings.PARLEY_FAKE_API_BASE = platform.url
    settings.PARLEY_FAILOVER_SECONDS = 1
    env = {"PARLEY_FAKE_API_BASE": platform.url, "PARLEY_CLAIM_SECONDS": 3}
    make_client(user, "web")  # preferred, cannot push: each message gets a failover timer
    make_client(user, "fake", minutes_ago=10, external_id="psid-timers")
    messages = [business_message(user, f"unread {i}") for i in range(UNREAD)]
    ids = {m.id for m in messages}
    # One due time for all: the worker's first tick claims them as one batch
    # however slowly a loaded machine stored the messages.
    Timer.objects.update(due_at=timezone.now() + timedelta(seconds=1))

    def failovers():
        return [r["body"]["messageId"] for r in platform.received() if r["body"]["purpose"] == "failover"]

    first = WorkerProcess(**env)
    second = None
    try:
        with transaction.atomic():
            # Hold the messages: the first check the worker runs waits for
            # its row lock, with the whole batch claimed.
            list(Message.objects.select_for_update().filter(id__in=ids))
            wait_until(lambda: Timer.objects.filter(claimed_by__gt="").count() == UNREAD, timeout=30,
                       message="the worker claiming every timer")
            first.kill(signal.SIGKILL)
            claims = dict(Timer.objects.values_list("subject", "claimed_until"))
        assert set(claims) == ids and failovers() == []

        second = WorkerProcess(**env)
        def all_sent():
            sent = Delivery.objects.filter(purpose="failover", state="sent").count() == UNREAD
            return sent and not Timer.objects.exists()

        wait_until(all_sent, timeout=60, message="every failover sent")
        assert Counter(failovers()) == {message_id: 1 for message_id in ids}
        for message in messages:
            [fired] = decisions(message, "failover")
            # Decisions keep milliseconds.
            lease_end = claims[message.id] - timedelta(milliseconds=1)
            assert datetime.fromisoformat(fired["at"]) >= lease_end, (fired, lease_end)
    finally:
        first.stop()
        if second:
            second.stop()
        platform.close()
