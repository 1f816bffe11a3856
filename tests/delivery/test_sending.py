"""Deliveries through an integration: queued -> sent, retries with backoff
on transient errors, permanent failures, resend. Tasks run in this process
with django-tasks-db's own worker loop (run_tasks); the platform is a fake
HTTP server on 127.0.0.1."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.delivery import resend
from messaging.models import Delivery, LogEntry
from tests.support.ws import business_message, make_client, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def due_now(delivery):
    """Move a backed-off retry and its scheduled task to now (instead of
    waiting for them)."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    Delivery.objects.filter(id=delivery.id).update(next_attempt_at=now)
    DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__gt=now).update(run_after=now)


def only_delivery(message):
    return Delivery.objects.get(message=message)


@pytest.mark.smoke
def test_it_sends_through_the_platform_and_marks_it_sent(user, fake_platform):
    make_client(user, "fake", external_id="psid-1")
    message = business_message(user, "Hello there")
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.state == "sent"
    assert delivery.attempts == 1
    assert delivery.platform_message_id == "fake-1"
    [request] = fake_platform.received()
    assert request["body"]["recipient"] == "psid-1"
    assert request["body"]["text"] == "Hello there"
    assert request["body"]["notify"] is True
    success = LogEntry.objects.get(kind="delivery:success")
    assert success.detail["deliveryId"] == delivery.id


def test_a_burst_is_recorded_with_each_delivery_keeping_its_own_platform_id(user, fake_platform):
    make_client(user, "fake", external_id="psid-burst")
    messages = [business_message(user, f"burst {i}") for i in range(4)]
    fake_platform.fail_next(503)  # one transient failure among the sends
    run_tasks()
    ids = {r["body"]["messageId"]: f"fake-{r['n']}" for r in fake_platform.accepted()}
    rows = Delivery.objects.filter(message__in=messages)
    assert {d.message_id: d.platform_message_id for d in rows if d.state == "sent"} == ids
    assert len(ids) == 3 and [d.state for d in rows if d.message_id not in ids] == ["queued"]
    assert sorted(e.detail["deliveryId"] for e in LogEntry.objects.filter(kind="delivery:success")) == sorted(
        d.id for d in rows if d.state == "sent")
    assert LogEntry.objects.filter(kind="delivery:retry").count() == 1


def test_silent_copies_go_without_notification(user, fake_platform):
    make_client(user, "web", minutes_ago=1)
    make_client(user, "fake", minutes_ago=5)
    message = business_message(user, "Hi")
    run_tasks()
    [request] = fake_platform.received()
    assert request["body"]["purpose"] == "silent"
    assert request["body"]["notify"] is False
    assert set(Delivery.objects.filter(message=message).values_list("state", flat=True)) == {"sent"}


def test_structured_messages_go_as_text_fallback(user, fake_platform):
    make_client(user, "fake")
    business_message(user, "", type="carousel", items=[
        {"title": "Tacos", "description": "Description",
         "actions": [{"type": "link", "text": "More info", "uri": "http://example.org"},
                     {"type": "postback", "text": "Buy", "payload": "BUY"}]},
        {"title": "Ramen", "description": "Description",
         "actions": [{"type": "link", "text": "More info", "uri": "http://example.org"}]},
    ])
    run_tasks()
    [request] = fake_platform.received()
    assert request["body"]["type"] == "text"
    assert request["body"]["text"] == (
        "1. Tacos\nDescription\nMore info http://example.org\n\n"
        "2. Ramen\nDescription\nMore info http://example.org"
    )


def test_it_retries_5xx_with_exponential_backoff(user, fake_platform, settings):
    settings.PARLEY_RETRY_BASE_SECONDS = 10
    make_client(user, "fake")
    fake_platform.fail_next(503, times=2)
    message = business_message(user, "Hi")
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.state == "queued" and delivery.attempts == 1
    assert delivery.error["status"] == 503
    first_wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 8 < first_wait <= 10
    assert run_tasks() == 0 or only_delivery(message).attempts == 1  # not before it is due
    due_now(delivery)
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.attempts == 2
    second_wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 18 < second_wait <= 20
    due_now(delivery)
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.state == "sent" and delivery.attempts == 3 and delivery.error is None
    assert len(fake_platform.received()) == 3
    assert LogEntry.objects.filter(kind="delivery:retry").count() == 2


def test_it_waits_for_retry_after_on_429(user, fake_platform):
    make_client(user, "fake")
    fake_platform.fail_next(429, headers={"Retry-After": "120"})
    message = business_message(user, "Hi")
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.state == "queued"
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=115)
    assert delivery.error["code"] == "rate_limited"


def test_it_gives_up_after_the_attempt_budget(user, fake_platform, settings):
    settings.PARLEY_DELIVERY_MAX_ATTEMPTS = 3
    make_client(user, "fake")
    fake_platform.fail_next(500, times=10)
    message = business_message(user, "Hi")
    for _ in range(3):
        run_tasks()
        due_now(only_delivery(message))
    delivery = only_delivery(message)
    assert delivery.state == "failed"
    assert "gave up after 3 attempts" in delivery.error["message"]
    assert len(fake_platform.received()) == 3


def test_a_4xx_fails_at_once_with_the_platform_error(user, fake_platform):
    make_client(user, "fake")
    fake_platform.fail_next(400, body={"error": "recipient blocked the bot"})
    message = business_message(user, "Hi")
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.state == "failed"
    assert delivery.failed_at is not None
    assert delivery.error["status"] == 400
    assert "recipient blocked the bot" in delivery.error["message"]
    assert len(fake_platform.received()) == 1
    failure = LogEntry.objects.get(kind="delivery:failure")
    assert failure.detail["error"]["status"] == 400


def test_a_channel_without_integration_fails_clearly(user):
    make_client(user, "messenger")
    message = business_message(user, "Hi")
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.state == "failed"
    assert delivery.error["message"] == "no messenger integration connected"


def test_resend_sends_again_as_a_new_attempt_on_the_same_row(user, fake_platform):
    make_client(user, "fake")
    fake_platform.fail_next(404)
    message = business_message(user, "Hi")
    run_tasks()
    delivery = only_delivery(message)
    assert delivery.state == "failed"
    resend(delivery)
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.attempts == 2 and delivery.error is None
    assert Delivery.objects.filter(message=message).count() == 1
    assert [r["status"] for r in fake_platform.received()] == [404, 200]


def test_the_api_resend_endpoint_resends(user, app, fake_platform, client):
    from tests.support.ws import app_jwt

    make_client(user, "fake")
    fake_platform.fail_next(410)
    message = business_message(user, "Hi")
    run_tasks()
    delivery = only_delivery(message)
    response = client.post(
        f"/v1/appusers/{user.id}/messages/{message.id}/deliveries/{delivery.id}/resend",
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {app_jwt(app)}",
    )
    assert response.status_code in (200, 201, 202), response.content
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "sent"
