"""Webhook events: an outbox row per matching webhook, POSTed by a task
with the webhook secret, retried with backoff, private targets refused."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from messaging.models import LogEntry, Webhook, WebhookEvent
from messaging.webhooks.outbox import matches
from tests.support.ws import app_jwt, business_message, make_client, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def hooks(platform):
    return platform.received("/hook")


def test_trigger_matching_follows_smooch():
    assert matches(["message"], "message:appUser")
    assert matches(["message"], "message:appMaker")
    assert matches(["*"], "delivery:failure")
    assert matches(["message:appUser"], "message:appUser")
    assert not matches(["message:appUser"], "message:appMaker")
    assert not matches([], "message:appUser")


@pytest.mark.smoke
def test_it_posts_message_events_with_the_secret(app, user, fake_platform):
    webhook = Webhook.objects.create(app=app, target=fake_platform.url + "/hook", triggers=["message"])
    Webhook.objects.create(app=app, target=fake_platform.url + "/other", triggers=["conversation:read"])
    make_client(user, "web")
    message = business_message(user, "Hello")
    run_tasks()
    [request] = hooks(fake_platform)
    assert request["headers"]["X-API-Key"] == webhook.secret
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["body"]
    assert body["trigger"] == "message:appMaker"
    assert body["app"] == {"_id": app.id}
    assert body["appUser"]["_id"] == user.id
    assert body["messages"][0]["_id"] == message.id
    assert body["messages"][0]["text"] == "Hello"
    assert WebhookEvent.objects.get(webhook=webhook).state == "delivered"
    assert not fake_platform.received("/other")
    assert LogEntry.objects.filter(kind="webhook:attempt").count() == 1


def test_delivery_events_reach_star_webhooks(app, user, fake_platform):
    Webhook.objects.create(app=app, target=fake_platform.url + "/hook", triggers=["*"])
    make_client(user, "messenger")
    business_message(user, "Hello")
    run_tasks()
    run_tasks()
    triggers = [r["body"]["trigger"] for r in hooks(fake_platform)]
    assert "message:appMaker" in triggers and "delivery:failure" in triggers
    failure = next(r["body"] for r in hooks(fake_platform) if r["body"]["trigger"] == "delivery:failure")
    assert failure["destination"] == {"type": "messenger"}
    assert failure["error"]["underlyingError"]["message"] == "no messenger integration connected"


def test_it_retries_a_failing_target_after_5_seconds_and_records_each_attempt(app, user, fake_platform):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from messaging.models import WebhookAttempt

    Webhook.objects.create(app=app, target=fake_platform.url + "/hook", triggers=["message:appMaker"])
    fake_platform.fail_next(500, body={"error": "down for a moment"})
    before = timezone.now()
    business_message(user, "Hello")
    run_tasks()
    row = WebhookEvent.objects.get()
    assert row.state == "pending" and row.attempts == 1 and row.last_status == 500
    assert 4 <= (row.next_attempt_at - before).total_seconds() <= 7  # the schedule's first wait: 5 s
    now = timezone.now()
    WebhookEvent.objects.update(next_attempt_at=now)
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=now)
    run_tasks()
    row.refresh_from_db()
    assert row.state == "delivered" and row.attempts == 2
    attempts = list(WebhookAttempt.objects.filter(event=row).order_by("number"))
    assert [(a.number, a.status) for a in attempts] == [(1, 500), (2, 200)]
    assert "down for a moment" in attempts[0].response and attempts[0].error == "the target answered 500"
    headers = [r["headers"] for r in hooks(fake_platform)]
    assert headers[0]["webhook-id"] == headers[1]["webhook-id"] == row.message_id
    assert LogEntry.objects.filter(kind="webhook:attempt").count() == 2


def test_it_refuses_private_targets_unless_allowed(app, user, fake_platform, settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = False
    Webhook.objects.create(app=app, target=fake_platform.url + "/hook", triggers=["message"])
    business_message(user, "Hello")
    run_tasks()
    row = WebhookEvent.objects.get()
    assert row.state == "failed"
    assert "non-public address" in row.last_error
    assert not hooks(fake_platform)
    assert LogEntry.objects.get(kind="webhook:failure").detail["error"].startswith("refused")


def test_a_webhook_created_while_a_platform_call_is_in_flight_gets_its_delivery_event(
        app, user, fake_platform, client):
    """The worker reads whether the app has webhooks when the delivery's
    event happens, not when it loaded the delivery: a webhook created while
    the platform call is in flight still gets delivery:success."""
    make_client(user, "fake")
    hold = fake_platform.hold_next()
    message = business_message(user, "Hello")
    worker = threading.Thread(target=_run_tasks_in_thread)
    worker.start()
    try:
        assert hold.arrived.wait(10), "the worker never called the platform"
        created = client.post("/v1/webhooks", {"target": fake_platform.url + "/hook", "triggers": ["*"]},
                              content_type="application/json", headers={"authorization": f"Bearer {app_jwt(app)}"})
        assert created.status_code == 201, created.content
    finally:
        hold.release.set()
        worker.join(30)
    event = WebhookEvent.objects.get(app=app, trigger="delivery:success")
    assert event.payload["messages"][0]["_id"] == message.id
    assert event.payload["destination"] == {"type": "fake"}


def _run_tasks_in_thread():
    try:
        run_tasks()
    finally:
        connection.close()  # a thread's connection would outlive the test database
