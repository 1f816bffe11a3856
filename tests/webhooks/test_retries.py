"""Delivery to a real receiver on 127.0.0.1: which webhooks get an event
(trigger filtering), the retry schedule on a 500 and on no answer,
Retry-After on 429 and 503, 410 Gone disabling the webhook, and the final
failure after 5 retries. Time moves by setting `next_attempt_at` to now,
never by sleeping (the recorded waits are checked instead)."""

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from messaging.models import LogEntry, Webhook, WebhookAttempt, WebhookEvent
from messaging.services.webhook_config import update_webhook
from tests.support.ws import business_message, make_client
from tests.webhooks.conftest import due_now, send

pytestmark = pytest.mark.django_db

# The reference's Retry Policy ("retried up to 5 times at an exponentially
# increasing interval"), with the waits the issue names, in seconds.
SCHEDULE = [5, 30, 120, 600, 3600]


def waits(event: WebhookEvent) -> float:
    """Seconds from the event's last attempt to its next one."""
    event.refresh_from_db()
    last = event.attempt_rows.order_by("-number").first()
    return (event.next_attempt_at - last.at).total_seconds()


@pytest.mark.smoke
def test_only_webhooks_subscribed_to_a_trigger_get_it(client, app, steve, hook, receiver):
    hook(["message:appUser"], path="/user")
    hook(["message"], path="/both")
    hook(["message:appMaker"], path="/business")
    hook(["conversation:read"], path="/read")
    hook([], path="/nothing")
    make_client(steve, "web")
    business_message(steve, "Hello")
    from messaging.services.messages import post_message

    post_message(steve, role="appUser", fields={"type": "text", "text": "Hi"})
    send()
    by_path = {path: sorted(p["trigger"] for p in receiver.payloads(path))
               for path in ("/user", "/both", "/business", "/read", "/nothing")}
    assert by_path == {"/user": ["message:appUser"], "/both": ["message:appMaker", "message:appUser"],
                       "/business": ["message:appMaker"], "/read": [], "/nothing": []}


def test_a_webhooks_events_leave_in_the_order_they_happened(app, steve, hook, receiver, settings):
    """With one request in flight per webhook they also arrive in that
    order (with more, close events may overtake each other: the README)."""
    settings.PARLEY_WEBHOOK_IN_FLIGHT = 1
    hook(["message:appMaker"])
    texts = [f"message {n}" for n in range(8)]
    for text in texts:
        business_message(steve, text)
    assert send() == 8
    assert [p["messages"][0]["text"] for p in receiver.payloads()] == texts


def test_a_500_is_retried_on_the_schedule_and_the_sixth_failure_is_final(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    receiver.always(500)
    business_message(steve, "Hello")
    [event] = WebhookEvent.objects.all()
    for attempt, wait in enumerate(SCHEDULE, start=1):
        assert send() == 1
        event.refresh_from_db()
        assert (event.state, event.attempts, event.last_status) == ("pending", attempt, 500)
        assert waits(event) == wait
        assert send() == 0  # not due yet
        due_now()
    assert send() == 1
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("failed", 6)
    rows = list(event.attempt_rows.order_by("number"))
    assert [(a.number, a.status, a.error) for a in rows] == [(n, 500, "the target answered 500")
                                                             for n in range(1, 7)]
    assert all('"error": "status 500"' in a.response for a in rows)
    assert len(receiver.received()) == 6
    assert {r.header("webhook-id") for r in receiver.received()} == {event.message_id}
    assert LogEntry.objects.filter(kind="webhook:attempt").count() == 6
    [failure] = LogEntry.objects.filter(kind="webhook:failure")
    assert failure.detail["attempt"] == 6 and failure.detail["eventId"] == event.pk
    webhook.refresh_from_db()
    assert webhook.failing_since == rows[0].at and webhook.enabled  # flagged, not disabled
    due_now()
    assert send() == 0  # nothing more


def test_no_answer_within_the_timeout_is_retried(app, steve, hook, receiver, settings):
    settings.PARLEY_WEBHOOK_TIMEOUT_SECONDS = 0.3
    webhook = hook(["message:appMaker"])
    receiver.hang()  # accepts the connection, reads the request, never answers
    business_message(steve, "Hello")
    assert send() == 1
    event = WebhookEvent.objects.get()
    [first] = event.attempt_rows.all()
    assert (first.status, first.error) == (None, "timed out after 0.3s")
    assert 300 <= first.latency_ms < 3000
    assert waits(event) == 5 and event.state == "pending"
    webhook.refresh_from_db()
    assert webhook.failing_since is not None

    receiver.hang(False)
    receiver.slow(0.1)  # slow, but within the timeout
    due_now()
    assert send() == 1
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("delivered", 2)
    second = event.attempt_rows.get(number=2)
    assert second.status == 200 and second.latency_ms >= 100
    assert [r.header("webhook-id") for r in receiver.received()] == [event.message_id] * 2
    webhook.refresh_from_db()
    assert webhook.failing_since is None  # a success clears the flag


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_is_honoured(app, steve, hook, receiver, status):
    hook(["message:appMaker"])
    business_message(steve, "Hello")
    event = WebhookEvent.objects.get()
    receiver.answer(status, retry_after=900)
    send()
    assert waits(event) == 900  # later than the schedule's 5 s
    receiver.answer(status, retry_after=2)
    due_now()
    send()
    assert waits(event) == 30  # never sooner than the schedule
    receiver.answer(status, retry_after=format_datetime(timezone.now() + timedelta(seconds=1800), usegmt=True))
    due_now()
    send()
    assert 1795 <= waits(event) <= 1801  # an HTTP date
    receiver.answer(status, retry_after=86400)
    due_now()
    send()
    assert waits(event) == 3600  # at most an hour
    assert [a.status for a in event.attempt_rows.order_by("number")] == [status] * 4


def test_a_500_ignores_retry_after(app, steve, hook, receiver):
    hook(["message:appMaker"])
    business_message(steve, "Hello")
    receiver.answer(500, retry_after=900)
    send()
    assert waits(WebhookEvent.objects.get()) == 5


def test_410_disables_the_webhook_until_it_is_enabled(app, steve, hook, receiver, settings):
    settings.PARLEY_WEBHOOK_IN_FLIGHT = 1  # one at a time: the first answer is known before the next goes
    webhook = hook(["message:appMaker"])
    receiver.answer(410)
    for text in ("one", "two", "three"):
        business_message(steve, text)
    send()
    assert len(receiver.received()) == 1  # the events claimed with the first one stay unsent
    webhook.refresh_from_db()
    assert not webhook.enabled and "410 Gone" in webhook.disabled_reason
    gone, *waiting = WebhookEvent.objects.order_by("id")
    gone.refresh_from_db()
    assert (gone.state, gone.attempts, gone.last_status) == ("failed", 1, 410)
    assert [(e.state, e.attempts) for e in waiting] == [("pending", 0), ("pending", 0)]
    assert LogEntry.objects.get(kind="webhook:disabled").detail["webhookId"] == webhook.id
    assert LogEntry.objects.filter(kind="webhook:failure").count() == 1

    business_message(steve, "four")
    due_now()
    assert send() == 0
    assert len(receiver.received()) == 1  # nothing while disabled

    update_webhook(Webhook.objects.get(pk=webhook.pk), {"enabled": True})
    webhook.refresh_from_db()
    assert webhook.enabled and webhook.disabled_reason == ""
    assert send() == 3
    assert [p["messages"][0]["text"] for p in receiver.payloads()[1:]] == ["two", "three", "four"]
    assert WebhookEvent.objects.filter(state="delivered").count() == 3
    assert WebhookAttempt.objects.count() == 4
