"""The outbox through the worker's own task (django-tasks-db's loop, run in
this process): an event stored in the transaction of its change is POSTed
once that commits, a retry is scheduled as a task for its time, private
targets are refused, and a webhook created while a platform call is in
flight still gets that call's delivery event."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from messaging.models import LogEntry, Webhook, WebhookAttempt, WebhookEvent
from messaging.webhooks.outbox import matches
from tests.support.fake_platform import FakePlatform
from tests.support.ws import app_jwt, business_message, make_client, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake_channel(settings):
    """The fake platform of the test-only "fake" channel."""
    platform = FakePlatform()
    settings.PARLEY_FAKE_API_BASE = platform.url
    yield platform
    platform.close()


def test_trigger_matching_follows_smooch():
    assert matches(["message"], "message:appUser")
    assert matches(["message"], "message:appMaker")
    assert matches(["*"], "delivery:failure")
    assert matches(["message:appUser"], "message:appUser")
    assert not matches(["message:appUser"], "message:appMaker")
    assert not matches([], "message:appUser")


@pytest.mark.smoke
def test_the_worker_posts_an_event_once_its_change_commits(app, steve, hook, receiver):
    webhook = hook(["message"])
    hook(["conversation:read"], path="/other")
    make_client(steve, "web")
    message = business_message(steve, "Hello")
    run_tasks()
    [request] = receiver.received("/hook")
    assert request.header("X-API-Key") == webhook.secret
    assert request.header("Content-Type") == "application/json"
    body = request.json()
    assert body["trigger"] == "message:appMaker"
    assert body["app"] == {"_id": app.id}
    assert body["appUser"]["_id"] == steve.id
    assert (body["messages"][0]["_id"], body["messages"][0]["text"]) == (message.id, "Hello")
    assert WebhookEvent.objects.get(webhook=webhook).state == "delivered"
    assert not receiver.received("/other")
    assert LogEntry.objects.filter(kind="webhook:attempt").count() == 1


def test_a_failed_delivery_reaches_star_webhooks_with_its_error(app, steve, hook, receiver):
    hook(["*"])
    make_client(steve, "messenger")
    business_message(steve, "Hello")
    run_tasks()
    run_tasks()
    failure = next(p for p in receiver.payloads() if p["trigger"] == "delivery:failure")
    assert failure["destination"] == {"type": "messenger"}
    assert failure["error"]["underlyingError"]["message"] == "no messenger integration connected"


def test_a_retry_is_a_task_for_its_time(app, steve, hook, receiver):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    hook(["message:appMaker"])
    receiver.answer(500)
    before = timezone.now()
    business_message(steve, "Hello")
    run_tasks()
    row = WebhookEvent.objects.get()
    assert row.state == "pending" and row.attempts == 1 and row.last_status == 500
    assert 4 <= (row.next_attempt_at - before).total_seconds() <= 7  # the schedule's first wait: 5 s
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path__endswith="send_webhooks")
    assert waiting.filter(run_after__gte=row.next_attempt_at).exists()
    run_tasks()
    row.refresh_from_db()
    assert row.attempts == 1  # not before its time
    now = timezone.now()
    WebhookEvent.objects.update(next_attempt_at=now)
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=now)
    run_tasks()
    row.refresh_from_db()
    assert row.state == "delivered" and row.attempts == 2
    assert [(a.number, a.status) for a in WebhookAttempt.objects.filter(event=row).order_by("number")] == [
        (1, 500), (2, 200)]


def test_it_refuses_private_targets_unless_allowed(app, steve, hook, receiver, settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = False
    hook(["message"])
    business_message(steve, "Hello")
    run_tasks()
    row = WebhookEvent.objects.get()
    assert row.state == "failed" and row.attempts == 1
    assert "non-public address" in row.last_error
    assert not receiver.received()
    assert LogEntry.objects.get(kind="webhook:failure").detail["error"].startswith("refused")


def test_a_webhook_created_while_a_platform_call_is_in_flight_gets_its_delivery_event(
        app, steve, receiver, fake_channel, client):
    """The worker reads whether the app has webhooks when the delivery's
    event happens, not when it loaded the delivery: a webhook created while
    the platform call is in flight still gets delivery:success."""
    make_client(steve, "fake")
    hold = fake_channel.hold_next()
    message = business_message(steve, "Hello")
    worker = threading.Thread(target=_run_tasks_in_thread)
    worker.start()
    try:
        assert hold.arrived.wait(10), "the worker never called the platform"
        created = client.post("/v1/webhooks", {"target": receiver.url + "/hook", "triggers": ["*"]},
                              content_type="application/json", headers={"authorization": f"Bearer {app_jwt(app)}"})
        assert created.status_code == 201, created.content
    finally:
        hold.release.set()
        worker.join(30)
    event = WebhookEvent.objects.get(app=app, trigger="delivery:success")
    assert event.payload["messages"][0]["_id"] == message.id
    assert event.payload["destination"] == {"type": "fake"}
    assert Webhook.objects.get().events.count() == 1


def _run_tasks_in_thread():
    try:
        run_tasks()
    finally:
        connection.close()  # a thread's connection would outlive the test database
