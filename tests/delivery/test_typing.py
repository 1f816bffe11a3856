"""Business typing: routed to the preferred client, stopped once, by
whichever comes first (stop, message, timeout)."""

import pytest
from django.utils import timezone

from messaging.delivery import send_typing, timers
from messaging.models import LogEntry, Timer
from messaging.services.errors import ServiceError
from tests.support.ws import business_message, make_client, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def states(user):
    return [(e.detail["state"], e.detail.get("reason", "")) for e in
            LogEntry.objects.filter(app_user=user, kind="typing:appMaker").order_by("id")]


def fire_timeouts():
    """The timeout is over: due timers fire, then the tasks they queued run."""
    Timer.objects.update(due_at=timezone.now())
    timers.run_due()
    run_tasks()


def test_the_timeout_stops_typing_once(user, fake_platform):
    make_client(user, "fake")
    send_typing(user, "typing:start")
    fire_timeouts()
    fire_timeouts()
    assert states(user) == [("start", ""), ("stop", "timeout")]
    assert [r["body"]["state"] for r in fake_platform.received("/typing")] == ["start", "stop"]
    assert not Timer.objects.exists()


def test_an_explicit_stop_or_a_new_start_disarms_the_old_timeout(user, fake_platform):
    make_client(user, "fake")
    send_typing(user, "typing:start")
    send_typing(user, "typing:stop")
    send_typing(user, "typing:start")
    user.refresh_from_db()
    armed = user.app_maker_typing_until
    # One pending auto-stop per user: the new start moved it.
    [timer] = Timer.objects.filter(kind="typing", subject=user.id)
    assert timer.data["until"] == armed.isoformat()
    fire_timeouts()
    # Only the last start's timeout fires.
    assert states(user) == [("start", ""), ("stop", ""), ("start", ""), ("stop", "timeout")]
    assert armed is not None


def test_a_business_message_ends_typing(user, fake_platform):
    make_client(user, "web")
    send_typing(user, "typing:start")
    business_message(user, "Done")
    fire_timeouts()
    assert states(user) == [("start", ""), ("stop", "message")]


def test_it_refuses_unknown_actions(user):
    with pytest.raises(ServiceError):
        send_typing(user, "typing:dance")
