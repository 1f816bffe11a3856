"""A worker killed mid-burst loses nothing and sends (almost) nothing twice:
delivery rows are the source of truth, claims expire, the sweep re-queues."""

import signal
from collections import Counter

import pytest
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging.models import Delivery
from tests.support.fake_platform import FakePlatform
from tests.support.live import WorkerProcess, wait_until
from tests.support.ws import business_message, make_client

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 60


def test_a_killed_worker_leaves_every_delivery_sent_exactly_once(settings, user):
    platform = FakePlatform(delay=0.25)  # slow, so the burst is still waiting when the worker dies
    settings.PARLEY_FAKE_API_BASE = platform.url
    env = {
        "PARLEY_FAKE_API_BASE": platform.url,
        "PARLEY_CLAIM_SECONDS": 3,
        "PARLEY_SWEEP_SECONDS": 1,
        "PARLEY_TASK_STUCK_SECONDS": 3,
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
