"""The periodic sweep: expired claims come back and due work nobody
claimed gets a fresh task, whatever the task backend holds (a task a killed
worker left RUNNING is never waited for)."""

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import periodic, tasks
from messaging.delivery.sweep import sweep
from messaging.models import Delivery
from tests.support.ws import business_message, make_client, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_is_registered_with_the_worker_scheduler():
    assert {"timers", "sweep"} <= {job.name for job in periodic.default_jobs()}


def test_it_releases_expired_claims_and_requeues_lost_work(user, fake_platform):
    make_client(user, "fake", external_id="psid-sweep")  # a platform channel: it waits for the worker
    message = business_message(user, "Hi")
    DBTaskResult.objects.all().delete()  # the task was lost...
    long_ago = timezone.now() - timedelta(minutes=5)
    Delivery.objects.filter(message=message).update(claimed_until=long_ago, claimed_by="dead-run",
                                                   next_attempt_at=long_ago)
    # ... or is stuck RUNNING in a killed worker: nothing waits for it.
    stuck = tasks.send_deliveries.enqueue()
    DBTaskResult.objects.filter(id=stuck.id).update(status=TaskResultStatus.RUNNING, started_at=long_ago)

    report = sweep()
    assert report["deliveries_released"] == 1
    delivery = Delivery.objects.get(message=message)
    assert delivery.claimed_until is None and delivery.claimed_by == ""
    assert report["delivery_enqueued"] is True
    run_tasks()  # the fresh task sends it
    assert Delivery.objects.get(message=message).state == "sent"
    assert [r["body"]["messageId"] for r in fake_platform.received()] == [message.id]
    # Nothing left to do: the sweep enqueues nothing more.
    assert sweep().get("delivery_enqueued") is None


def test_fresh_due_work_is_left_to_the_task_already_on_its_way(user):
    make_client(user, "telegram")
    business_message(user, "Hi")  # just enqueued its task
    assert sweep().get("delivery_enqueued") is None


def test_a_live_claim_is_left_alone(user):
    make_client(user, "telegram")
    message = business_message(user, "Hi")
    Delivery.objects.filter(message=message).update(
        claimed_until=timezone.now() + timedelta(minutes=1), claimed_by="live-run")
    assert sweep()["deliveries_released"] == 0
    assert Delivery.objects.get(message=message).claimed_by == "live-run"


def test_old_finished_webhook_events_are_pruned(app, settings):
    from messaging.delivery.sweep import prune_webhook_events
    from messaging.models import Webhook, WebhookEvent

    settings.PARLEY_LOG_RETENTION_DAYS = 30
    webhook = Webhook.objects.create(app=app, target="https://example.org/hook", triggers=["*"])
    old = timezone.now() - timedelta(days=31)
    WebhookEvent.objects.create(app=app, webhook=webhook, trigger="x", payload={}, state="delivered", created_at=old)
    WebhookEvent.objects.create(app=app, webhook=webhook, trigger="x", payload={}, state="pending", created_at=old)
    WebhookEvent.objects.create(app=app, webhook=webhook, trigger="x", payload={}, state="failed")
    assert prune_webhook_events() == 1
    assert WebhookEvent.objects.count() == 2


def test_finished_task_rows_older_than_a_day_are_pruned_with_the_backends_own_command(user):
    make_client(user, "telegram")
    business_message(user, "Hi")
    run_tasks()
    finished = DBTaskResult.objects.finished()
    assert finished.exists()
    finished.update(finished_at=timezone.now() - timedelta(days=2))
    waiting = tasks.send_deliveries.enqueue()
    periodic.prune_task_results()
    assert [str(i) for i in DBTaskResult.objects.values_list("id", flat=True)] == [str(waiting.id)]
