"""A failover check that raised keeps its timer and runs again later, while
its message is unread, a bounded number of times (30 s backoff, doubled),
each failure recorded on the message."""

import pytest
from django.utils import timezone

from messaging.delivery import conversation_read, failover, timers
from messaging.models import Delivery, LogEntry, Timer
from messaging.services.failover_policy import set_policy
from tests.support.ws import business_message, decisions, make_client, make_user, run_tasks

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
    assert timers.run_due() == 0  # the check is due at once (delaySeconds 0) and raises
    assert waiting_check(message).attempts == 1
    message.push_client = push
    return message


def waiting_check(message) -> Timer:
    [timer] = Timer.objects.filter(kind="failover", subject=message.id)
    return timer


def backoff_of(timer) -> float:
    return (timer.due_at - timezone.now()).total_seconds()


def time_passes():
    """The retry's backoff is over."""
    Timer.objects.update(due_at=timezone.now())


@pytest.mark.smoke
def test_it_checks_a_failed_failover_again_and_it_goes_through(app, unread, fake_platform):
    [retry] = decisions(unread, "failover-retry")
    assert retry["step"] == 0 and retry["attempt"] == 1
    timer = waiting_check(unread)
    assert (timer.subject, timer.data, timer.key) == (unread.id, {"step": 0}, "0")
    assert 20 < backoff_of(timer) <= 30
    # Looked at again meanwhile: the retry is not due, nothing more.
    assert timers.run_due() == 0
    assert waiting_check(unread).due_at == timer.due_at
    assert len(decisions(unread, "failover-retry")) == 1

    set_policy(app, None)  # the fault is gone
    time_passes()
    assert timers.run_due() == 1
    run_tasks()
    assert decisions(unread, "failover")[0]["clientId"] == unread.push_client.id
    failover_delivery = Delivery.objects.get(message=unread, purpose="failover")
    assert failover_delivery.state == "sent"
    assert [r["body"]["notify"] for r in fake_platform.received() if r["body"]["purpose"] == "failover"] == [True]
    # Done: its timer is gone, later runs leave it alone.
    assert not Timer.objects.exists()
    assert timers.run_due() == 0


def test_it_gives_up_after_a_bounded_number_of_retries(unread):
    for attempt in range(1, failover.RETRIES + 1):
        timer = waiting_check(unread)
        assert timer.attempts == attempt
        expected = failover.RETRY_BACKOFF.total_seconds() * 2 ** (attempt - 1)
        assert expected - 10 < backoff_of(timer) <= expected
        time_passes()
        assert timers.run_due() == 0  # still broken

    assert not Timer.objects.exists()
    [gave_up] = decisions(unread, "failover-failed")
    assert gave_up["step"] == 0 and "4 times" in gave_up["reason"]
    assert LogEntry.objects.filter(kind="failover", summary__contains="gave up").count() == 1
    assert [d["attempt"] for d in decisions(unread, "failover-retry")] == [1, 2, 3]
    # Given up is final, for later runs and for a stray check alike.
    assert timers.run_due() == 0
    assert failover.check(unread.id, 0) == "done"
    assert LogEntry.objects.filter(kind="failover").count() == 1
    assert not Delivery.objects.filter(message=unread, purpose="failover").exists()


def test_a_message_read_meanwhile_is_not_checked_again(user, unread):
    conversation_read(user)
    assert not Timer.objects.exists()
    [cancelled] = decisions(unread, "failover-cancelled")
    assert cancelled["step"] == 0 and cancelled["reason"] == "read"
    time_passes()
    assert timers.run_due() == 0
    # Only the failure before the read was recorded; no retry after it.
    assert [d["attempt"] for d in decisions(unread, "failover-retry")] == [1]
    assert not decisions(unread, "failover-failed")


def test_a_failing_check_does_not_hold_back_the_others_due_with_it(team, make_app, unread, fake_platform):
    healthy = make_user(make_app(team, "Healthy"), "bob")
    make_client(healthy, "web")
    make_client(healthy, "fake", minutes_ago=10, external_id="psid-2")
    other = business_message(healthy, "Still there?")
    time_passes()  # both due: one batch
    assert timers.run_due() == 1
    run_tasks()
    assert [r["body"]["messageId"] for r in fake_platform.received() if r["body"]["purpose"] == "failover"] == [
        other.id]
    assert waiting_check(unread).attempts == 2
    assert not Timer.objects.filter(subject=other.id).exists()
