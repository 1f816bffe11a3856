"""Targeting (DESIGN.md "The delivery engine"): preferred, silent copies,
failover scheduling, destination, users with no client yet."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.delivery import NoClientForDestination, client_appeared, conversation_read, failover, submit
from messaging.models import Delivery, LogEntry, Message
from tests.support.ws import business_message, decisions, make_client

pytestmark = pytest.mark.django_db(transaction=True)


def deliveries(message):
    return {(d.client.platform, d.purpose, d.notify) for d in Delivery.objects.filter(message=message)}


@pytest.fixture
def worked_example(user):
    """DESIGN.md's example: web 10:05, messenger 10:00, telegram 09:00, twilio 08:00; now 10:10."""
    return {
        "web": make_client(user, "web", minutes_ago=5),
        "messenger": make_client(user, "messenger", minutes_ago=10),
        "telegram": make_client(user, "telegram", minutes_ago=70),
        "twilio": make_client(user, "twilio", minutes_ago=130),
    }


def test_it_sends_to_the_preferred_client_with_silent_copies(user, worked_example, settings):
    message = business_message(user, "M")
    assert deliveries(message) == {("web", "preferred", True), ("messenger", "silent", False)}
    rules = [(d["rule"], d.get("platform")) for d in decisions(message)]
    assert rules == [("preferred", "web"), ("silent", "messenger"), ("failover-scheduled", None)]
    scheduled = decisions(message, "failover-scheduled")[0]
    due = timezone.datetime.fromisoformat(scheduled["dueAt"])
    expected = timezone.now() + timedelta(seconds=settings.PARLEY_FAILOVER_SECONDS)
    assert abs((due - expected).total_seconds()) < 5
    for entry in decisions(message):
        assert entry["at"]


def test_it_fails_over_to_the_most_recent_push_capable_client_even_with_a_silent_copy(user, worked_example):
    message = business_message(user, "M")
    assert failover.check(message.id, 0) == "sent"
    failover_row = Delivery.objects.get(message=message, purpose="failover")
    assert failover_row.client == worked_example["messenger"]
    assert failover_row.notify is True
    # The silent copy stays; the failover is a second delivery with push.
    assert Delivery.objects.filter(message=message, client=worked_example["messenger"]).count() == 2
    assert decisions(message, "failover")[0]["platform"] == "messenger"
    # Idempotent: a repeated run (a swept task) changes nothing.
    assert failover.check(message.id, 0) == "done"
    assert Delivery.objects.filter(message=message, purpose="failover").count() == 1


def test_it_never_schedules_failover_when_the_preferred_client_can_push(user, worked_example):
    worked_example["telegram"].last_seen = timezone.now()
    worked_example["telegram"].save()
    message = business_message(user, "M")
    assert deliveries(message) == {
        ("telegram", "preferred", True),
        ("web", "silent", False),
        ("messenger", "silent", False),
    }
    assert not decisions(message, "failover-scheduled")
    assert decisions(message, "no-failover")[0]["reason"] == "the preferred channel is push-capable"


def test_a_read_cancels_the_failover(user, worked_example):
    message = business_message(user, "M")
    conversation_read(user, worked_example["web"])
    assert failover.check(message.id, 0) == "read"
    assert not Delivery.objects.filter(message=message, purpose="failover").exists()
    assert decisions(message, "failover-cancelled")[0]["reason"] == "read"


def test_it_skips_inactive_and_pending_clients(user):
    make_client(user, "web", minutes_ago=1, active=False)
    make_client(user, "telegram", minutes_ago=2, pending=True)
    twilio = make_client(user, "twilio", minutes_ago=30)
    message = business_message(user, "M")
    assert deliveries(message) == {("twilio", "preferred", True)}
    assert Delivery.objects.get(message=message).client == twilio


def test_a_destination_bypasses_targeting(user, worked_example):
    message = business_message(user, "M", destination={"integrationType": "twilio"})
    assert deliveries(message) == {("twilio", "destination", True)}
    assert [d["rule"] for d in decisions(message)] == ["destination"]


def test_the_engine_refuses_a_destination_without_a_client_and_nothing_is_stored(user, worked_example):
    message = Message(app=user.app, app_user=user, role="appMaker", text="M",
                      destination={"integrationType": "line"})
    with pytest.raises(NoClientForDestination) as error:
        submit(message)
    assert error.value.status == 400
    assert not Delivery.objects.exists()


def test_a_user_without_clients_gets_the_message_when_a_client_appears(user):
    message = business_message(user, "M")
    assert not Delivery.objects.filter(message=message).exists()
    assert decisions(message)[0]["rule"] == "no-client"
    web = make_client(user, "web")
    assert [d.message_id for d in client_appeared(web)] == [message.id]
    assert deliveries(message) == {("web", "preferred", True)}
    assert decisions(message)[-1]["reason"] == "client appeared"
    # The widget is Parley's own channel: sent at once, with its event.
    delivery = Delivery.objects.get(message=message)
    assert (delivery.state, delivery.platform_message_id) == ("sent", f"web:{message.id}")
    assert LogEntry.objects.filter(kind="delivery:success", detail__deliveryId=delivery.id).exists()
    # Only once.
    assert client_appeared(web) == []


def test_a_platform_client_that_appears_waits_for_the_worker(user):
    message = business_message(user, "M")
    telegram = make_client(user, "telegram")
    [delivery] = client_appeared(telegram)
    assert (delivery.message_id, delivery.state) == (message.id, "queued")


def test_an_app_chain_policy_tries_each_channel_in_turn(user, app):
    from messaging.services.failover_policy import set_policy

    set_policy(app, {"delaySeconds": 60, "chain": ["twilio", "line", "email"]})
    make_client(user, "web", minutes_ago=1)
    make_client(user, "twilio", minutes_ago=50)
    make_client(user, "email", minutes_ago=60)
    message = business_message(user, "M")
    assert decisions(message, "failover-scheduled")[0]["policy"] == "chain"
    assert failover.check(message.id, 0) == "sent"
    assert Delivery.objects.get(message=message, purpose="failover").client.platform == "twilio"
    # The next step skips "line" (no client) and goes to email.
    assert decisions(message, "failover-scheduled")[-1]["step"] == 1
    assert failover.check(message.id, 1) == "sent"
    assert {d.client.platform for d in Delivery.objects.filter(message=message, purpose="failover")} == {
        "twilio", "email"}
    assert len(decisions(message, "failover-scheduled")) == 2  # the chain ended


@pytest.mark.parametrize("native", ["ios", "android"])
def test_failover_skips_a_native_sdk_client_parley_cannot_push_to(user, native):
    """Push to native apps (APNs, FCM) is deliberately not done: an iOS or
    Android client, however recent, gets no silent copy and no failover."""
    make_client(user, "web", minutes_ago=5)
    make_client(user, native, minutes_ago=6)
    telegram = make_client(user, "telegram", minutes_ago=70)
    message = business_message(user, "M")
    assert deliveries(message) == {("web", "preferred", True)}
    assert failover.check(message.id, 0) == "sent"
    assert Delivery.objects.get(message=message, purpose="failover").client == telegram


def test_no_failover_is_scheduled_when_only_a_native_sdk_client_remains(user):
    make_client(user, "web", minutes_ago=5)
    make_client(user, "ios", minutes_ago=6)
    message = business_message(user, "M")
    assert not decisions(message, "failover-scheduled")
    assert decisions(message, "no-failover")[0]["reason"] == "no push-capable client"
