"""The engine with a real worker: failover after the delay, no failover
once read, typing that stops on its own. The worker runs in daphne
(LiveServer, the `make run` setup) or as `manage.py worker`; this process
stores messages and watches the database and the fake platform."""

import pytest

from messaging.delivery import conversation_read, send_typing
from messaging.models import Delivery, LogEntry
from tests.support.live import LiveServer, WorkerProcess, wait_until
from tests.support.ws import business_message, decisions, make_client

pytestmark = pytest.mark.django_db(transaction=True)


def fast_env(fake_platform, **extra):
    return {"PARLEY_FAKE_API_BASE": fake_platform.url, "PARLEY_WORKER_INTERVAL": "0.1", **extra}


@pytest.mark.smoke
def test_it_fails_over_to_the_push_channel_after_the_delay(settings, user, fake_platform):
    settings.PARLEY_FAILOVER_SECONDS = 1
    server = LiveServer(worker=True, **fast_env(fake_platform))
    try:
        web = make_client(user, "web", minutes_ago=1)
        fake = make_client(user, "fake", minutes_ago=30, external_id="psid-9")
        message = business_message(user, "Are you there?")

        def failover_sent():
            return Delivery.objects.filter(message=message, purpose="failover", state="sent").first()

        delivery = wait_until(failover_sent, timeout=30, message="the failover delivery")
        assert delivery.client == fake and delivery.notify
        assert Delivery.objects.get(message=message, purpose="preferred").client == web
        bodies = [r["body"] for r in fake_platform.received()]
        assert [(b["purpose"], b["notify"]) for b in bodies] == [("silent", False), ("failover", True)]
        assert decisions(message, "failover")[0]["clientId"] == fake.id
        assert LogEntry.objects.filter(kind="failover", app_user=user).exists()
    finally:
        server.stop()


def test_a_read_before_the_delay_cancels_the_failover(settings, user, fake_platform):
    settings.PARLEY_FAILOVER_SECONDS = 1
    worker = WorkerProcess(**fast_env(fake_platform))
    try:
        web = make_client(user, "web", minutes_ago=1)
        make_client(user, "fake", minutes_ago=30)
        message = business_message(user, "Are you there?")
        conversation_read(user, web)
        wait_until(lambda: decisions(message, "failover-cancelled"), timeout=30, message="the failover check")
        assert not Delivery.objects.filter(message=message, purpose="failover").exists()
        wait_until(lambda: Delivery.objects.filter(message=message, purpose="silent", state="sent").exists(),
                   timeout=10, message="the silent copy")
        assert [r["body"]["purpose"] for r in fake_platform.received()] == ["silent"]
    finally:
        worker.stop()


def test_typing_goes_to_the_preferred_platform_and_stops_on_its_own(settings, user, fake_platform):
    settings.PARLEY_TYPING_TIMEOUT_SECONDS = 1
    worker = WorkerProcess(**fast_env(fake_platform, PARLEY_TYPING_TIMEOUT_SECONDS=1))
    try:
        make_client(user, "fake", external_id="psid-7", minutes_ago=1)
        make_client(user, "telegram", minutes_ago=5)
        send_typing(user, "typing:start", name="Ann")
        wait_until(lambda: len(fake_platform.received("/typing")) >= 2, timeout=30, message="typing stop")
        bodies = [r["body"] for r in fake_platform.received("/typing")]
        assert bodies == [{"recipient": "psid-7", "state": "start", "name": "Ann"},
                          {"recipient": "psid-7", "state": "stop", "name": ""}]
        stop = LogEntry.objects.filter(kind="typing:appMaker").order_by("-id").first()
        assert stop.detail["state"] == "stop" and stop.detail["reason"] == "timeout"
    finally:
        worker.stop()


def test_typing_is_not_sent_where_the_preferred_channel_cannot_show_it(user, fake_platform):
    make_client(user, "twilio", minutes_ago=1)
    make_client(user, "fake", minutes_ago=5)
    detail = send_typing(user, "typing:start")
    assert detail["shown"] is False and detail["clientId"] is None
