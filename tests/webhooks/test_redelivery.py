"""Catching up: a target that is down for a while (connections refused)
and then back receives every event through re-delivery, each once, with
its own `webhook-id`; one recorded event re-sent; a test event."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import LogEntry, WebhookEvent
from messaging.services.webhook_config import redeliver, redeliver_failed_since, send_test_event
from tests.support.ws import business_message
from tests.webhooks.conftest import due_now, send
from tests.webhooks.test_signing import readme_receiver

pytestmark = pytest.mark.django_db


def fail_for_good() -> None:
    """Run the six attempts of every pending event."""
    for _ in range(6):
        due_now()
        send()


def test_a_target_down_for_a_while_gets_every_event_through_redelivery(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    business_message(steve, "before the outage")
    send()
    receiver.stop()
    since = timezone.now()
    texts = [f"during the outage {n}" for n in range(3)]
    for text in texts:
        business_message(steve, text)
    fail_for_good()
    missed = list(WebhookEvent.objects.filter(state="failed").order_by("id"))
    assert len(missed) == 3
    assert all(e.attempts == 6 and e.last_error.startswith("could not reach the target") for e in missed)
    assert {a.status for e in missed for a in e.attempt_rows.all()} == {None}

    receiver.start()  # back, on the same port
    assert redeliver_failed_since(webhook, since) == 3
    assert LogEntry.objects.get(kind="webhook:redeliver").detail["count"] == 3
    assert send() == 3
    arrived = receiver.received()[1:]  # in flight together: in any order
    by_id = {r.header("webhook-id"): r.json()["messages"][0]["text"] for r in arrived}
    assert by_id == {e.message_id: e.payload["messages"][0]["text"] for e in missed}
    assert sorted(by_id.values()) == texts
    receive = readme_receiver(webhook.signing_secret)
    assert all(receive(r.body, r.headers)[0] == 200 for r in arrived)
    assert WebhookEvent.objects.filter(state="delivered").count() == 4
    for event in missed:  # the attempts go on numbering
        assert [a.number for a in event.attempt_rows.order_by("number")] == list(range(1, 8))
    due_now()
    assert send() == 0  # each once


def test_redelivery_since_a_time_leaves_older_failures_alone(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    receiver.always(500)
    business_message(steve, "old")
    fail_for_good()
    WebhookEvent.objects.update(created_at=timezone.now() - timedelta(days=2))
    business_message(steve, "recent")
    fail_for_good()
    receiver.always(None)
    assert redeliver_failed_since(webhook, timezone.now() - timedelta(days=1)) == 1
    send()
    assert receiver.payloads()[-1]["messages"][0]["text"] == "recent"
    assert list(WebhookEvent.objects.order_by("id").values_list("state", flat=True)) == ["failed", "delivered"]


def test_a_redelivered_event_gets_the_whole_schedule_again(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    receiver.always(500)
    business_message(steve, "Hello")
    fail_for_good()
    event = WebhookEvent.objects.get()
    assert redeliver_failed_since(webhook, event.created_at) == 1
    fail_for_good()
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("failed", 12)
    assert len(receiver.received()) == 12


def test_a_delivered_event_sent_again_keeps_its_webhook_id(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    business_message(steve, "Hello")
    send()
    event = WebhookEvent.objects.get()
    assert redeliver(event).state == "pending"
    send()
    first, again = receiver.received()
    assert first.header("webhook-id") == again.header("webhook-id") == event.message_id
    receive = readme_receiver(webhook.signing_secret)
    assert receive(first.body, first.headers)[1] is not None
    assert receive(again.body, again.headers) == (200, None)  # the receiver's duplicate


def test_a_test_event_is_signed_sent_and_recorded(app, hook, receiver):
    webhook = hook(["message:appUser"])
    event = send_test_event(webhook)
    send()
    [request] = receiver.received()
    status, payload = readme_receiver(webhook.signing_secret)(request.body, request.headers)
    assert status == 200
    assert payload["trigger"] == "webhook:test" and payload["webhook"] == {"_id": webhook.id}
    assert payload["app"] == {"_id": app.id}
    event.refresh_from_db()
    assert event.state == "delivered" and [a.status for a in event.attempt_rows.all()] == [200]
