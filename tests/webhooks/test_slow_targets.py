"""One sender run (messaging.webhooks.sender.run_due, in this process)
with a dead target (it accepts TCP and never answers): the dead webhook
holds only its own lanes, another app's webhook gets its events meanwhile,
and a run whose budget ends hands the rows it claimed but did not send to
the next run instead of sending them behind a slow request."""

import threading

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging.models import Webhook, WebhookAttempt, WebhookEvent
from messaging.webhooks import sender
from tests.support.dead_target import DeadTarget
from tests.support.fake_platform import FakePlatform
from tests.support.live import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webhook_settings(settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True  # the targets are on loopback
    settings.PARLEY_WEBHOOK_IN_FLIGHT = 2
    settings.PARLEY_WEBHOOK_TIMEOUT_SECONDS = 30  # the dead target answers only when released
    return settings


@pytest.fixture
def targets(webhook_settings, app, stranger_app):
    """A dead target with app A's webhook, and a receiver with another app's."""
    dead, receiver = DeadTarget(), FakePlatform()
    dead_hook = Webhook.objects.create(app=app, target=dead.url, triggers=["*"])
    live_hook = Webhook.objects.create(app=stranger_app, target=receiver.url + "/hook", triggers=["*"])
    yield dead, dead_hook, receiver, live_hook
    dead.close()
    receiver.close()


def store(webhook, count):
    return [WebhookEvent.objects.create(app=webhook.app, webhook=webhook, trigger="message:appUser",
                                        payload={"trigger": "message:appUser", "app": {"_id": webhook.app_id},
                                                 "n": n})
            for n in range(count)]


def release_when(check, *targets):
    """In a thread: once `check()` holds (or 15 s passed), release the
    targets; returns a dict whose "held" says whether `check` came true."""
    seen = {}

    def run():
        try:
            seen["held"] = bool(wait_until(check, timeout=15, message="the check"))
        except AssertionError:
            seen["held"] = False
        finally:
            connection.close()  # this thread's, if the check read the database
        for target in targets:
            target.release()

    threading.Thread(target=run, daemon=True).start()
    return seen


def test_a_dead_target_holds_only_its_lanes_and_another_apps_webhook_is_served_meanwhile(
        webhook_settings, targets):
    dead, dead_hook, receiver, live_hook = targets
    store(dead_hook, 6)  # older: first in the claim order
    live = store(live_hook, 5)

    # The dead target lets go only once every live event has arrived:
    # had they waited behind its requests, this would never happen.
    seen = release_when(lambda: len(receiver.received("/hook")) == len(live), dead)
    sender.run_due()

    assert seen["held"] is True
    assert dead.max_held == webhook_settings.PARLEY_WEBHOOK_IN_FLIGHT
    assert set(WebhookEvent.objects.filter(webhook=live_hook).values_list("state", flat=True)) == {"delivered"}
    assert sorted(r["headers"]["webhook-id"] for r in receiver.received("/hook")) == sorted(
        e.message_id for e in live)
    # Every dead event was tried once, failed, and waits for its retry.
    dead_rows = WebhookEvent.objects.filter(webhook=dead_hook)
    assert set(dead_rows.values_list("state", "attempts")) == {("pending", 1)}
    assert all(row.last_error.startswith("could not reach the target") for row in dead_rows)


class Answers:
    """The fake receiver's held requests, as a target release_when() lets go."""

    def __init__(self, holds):
        self.holds = holds

    def release(self):
        for hold in self.holds:
            hold.release.set()


def test_a_run_whose_budget_ends_hands_unsent_rows_to_the_next_run(webhook_settings, app):
    receiver = FakePlatform()
    answers = Answers([receiver.hold_next() for _ in range(webhook_settings.PARLEY_WEBHOOK_IN_FLIGHT)])
    try:
        webhook = Webhook.objects.create(app=app, target=receiver.url + "/hook", triggers=["*"])
        events = store(webhook, 6)
        DBTaskResult.objects.all().delete()
        in_flight = len(answers.holds)

        def handed_over():  # both requests hang, and the run gave back the rows it claimed behind them
            return (all(h.arrived.is_set() for h in answers.holds)
                    and WebhookEvent.objects.filter(claimed_until__isnull=True).count() == len(events) - in_flight)

        seen = release_when(handed_over, answers)
        attempts = sender.run_due(budget=0.5)

        assert seen["held"] is True
        # The two requests in flight finished and were recorded; the rows
        # claimed behind them were not sent by this run but released...
        assert attempts == in_flight and len(receiver.received("/hook")) == in_flight
        assert WebhookAttempt.objects.count() == in_flight
        unsent = WebhookEvent.objects.filter(webhook=webhook, state="pending")
        assert unsent.count() == len(events) - in_flight
        assert not unsent.filter(claimed_until__isnull=False).exists()
        # ...for the next run, already enqueued.
        assert DBTaskResult.objects.filter(status=TaskResultStatus.READY,
                                           task_path="messaging.tasks.send_webhooks").exists()
    finally:
        answers.release()
        receiver.close()


def test_past_its_budget_a_run_serves_healthy_webhooks_while_a_slow_request_holds_its_end(
        webhook_settings, targets):
    dead, dead_hook, receiver, live_hook = targets
    lanes = webhook_settings.PARLEY_WEBHOOK_IN_FLIGHT
    store(dead_hook, 2 * lanes)  # its share: `lanes` requests hang, as many rows wait
    store(live_hook, 2)
    late = []

    def late_events_served():
        # Once the budget is spent (the dead webhook's waiting rows are
        # given back) the live webhook gets new events: this run, still
        # held by the hanging requests, sends them.
        handed_over = WebhookEvent.objects.filter(webhook=dead_hook, claimed_until__isnull=True).count()
        if not late and handed_over == lanes and len(receiver.received("/hook")) == 2:
            late.extend(store(live_hook, 3))
        return late and len(receiver.received("/hook")) == 5

    seen = release_when(late_events_served, dead)
    sender.run_due(budget=0.5)

    assert seen["held"] is True
    assert WebhookAttempt.objects.filter(event__in=late, status=200).count() == len(late)
    dead_rows = WebhookEvent.objects.filter(webhook=dead_hook)
    assert dead_rows.filter(attempts=1).count() == lanes  # the hanging ones, failed when let go
    assert dead_rows.filter(attempts=0, claimed_until__isnull=True).count() == lanes  # given back
