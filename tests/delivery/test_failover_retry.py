"""A failover check that raised (django-tasks-db marks it FAILED and never
retries) is checked again by the sweep while its message is unread, a
bounded number of times."""

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import tasks
from messaging.delivery import conversation_read, failover
from messaging.delivery.sweep import sweep
from messaging.models import Delivery, LogEntry
from messaging.services.failover_policy import set_policy
from tests.support.ws import business_message, decisions, make_client, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broken_policy(app):
    """A policy without its chain (a hand-edited setting): every check of a
    message raises KeyError, as any bug or outage in the check would."""
    app.settings = {**app.settings, "failover": {"delaySeconds": 0}}
    app.save()
    return app


@pytest.fixture
def unread(user, broken_policy, fake_platform):
    make_client(user, "web")  # preferred, cannot push
    push = make_client(user, "fake", minutes_ago=10, external_id="psid-1")
    message = business_message(user, "Are you there?")
    run_tasks()  # the check is due at once (delaySeconds 0) and raises
    assert failed_checks() == 1
    message.push_client = push
    return message


def failed_checks():
    return DBTaskResult.objects.failed().filter(task_path=tasks.check_failover.module_path).count()


def waiting_checks():
    return list(DBTaskResult.objects.filter(status=TaskResultStatus.READY,
                                            task_path=tasks.check_failover.module_path))


def time_passes():
    """The retry's backoff is over."""
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())


@pytest.mark.smoke
def test_it_checks_a_failed_failover_again_and_it_goes_through(app, unread, fake_platform):
    report = sweep()
    assert report["failovers_retried"] == 1
    [retry] = decisions(unread, "failover-retry")
    assert retry["step"] == 0 and retry["attempt"] == 1
    [task] = waiting_checks()
    assert task.args_kwargs["args"] == [unread.id, 0]
    backoff = (task.run_after - timezone.now()).total_seconds()
    assert 20 < backoff <= 30
    # Swept again meanwhile: the retry is already waiting, nothing more.
    assert sweep()["failovers_retried"] == 0
    assert len(waiting_checks()) == 1

    set_policy(app, None)  # the fault is gone
    time_passes()
    run_tasks()
    assert decisions(unread, "failover")[0]["clientId"] == unread.push_client.id
    failover_delivery = Delivery.objects.get(message=unread, purpose="failover")
    assert failover_delivery.state == "sent"
    assert [r["body"]["notify"] for r in fake_platform.received() if r["body"]["purpose"] == "failover"] == [True]
    # Done: later sweeps leave it alone.
    assert sweep()["failovers_retried"] == 0
    assert waiting_checks() == []


def test_it_gives_up_after_a_bounded_number_of_retries(unread):
    for attempt in range(1, failover.RETRIES + 1):
        assert sweep()["failovers_retried"] == 1
        [task] = waiting_checks()
        backoff = (task.run_after - timezone.now()).total_seconds()
        expected = failover.RETRY_BACKOFF.total_seconds() * 2 ** (attempt - 1)
        assert expected - 10 < backoff <= expected
        time_passes()
        run_tasks()  # still broken
        assert failed_checks() == attempt + 1

    assert sweep()["failovers_retried"] == 0
    assert waiting_checks() == []
    [gave_up] = decisions(unread, "failover-failed")
    assert gave_up["step"] == 0 and "4 times" in gave_up["reason"]
    assert LogEntry.objects.filter(kind="failover", summary__contains="gave up").count() == 1
    assert [d["attempt"] for d in decisions(unread, "failover-retry")] == [1, 2, 3]
    # Given up is final, for later sweeps and for a stray check alike.
    assert sweep()["failovers_retried"] == 0
    assert failover.check(unread.id, 0) == "done"
    assert LogEntry.objects.filter(kind="failover").count() == 1
    assert not Delivery.objects.filter(message=unread, purpose="failover").exists()


def test_a_message_read_meanwhile_is_not_checked_again(user, unread):
    conversation_read(user)
    assert sweep()["failovers_retried"] == 0
    assert waiting_checks() == []
    assert not decisions(unread, "failover-retry")


def test_old_failures_are_left_alone(unread):
    DBTaskResult.objects.failed().update(finished_at=timezone.now() - timedelta(hours=2))
    assert sweep()["failovers_retried"] == 0
    assert waiting_checks() == []
