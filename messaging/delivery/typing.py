"""Typing from the business, routed to the preferred client when its
channel shows typing. `typing:start` ends on its own after
PARLEY_TYPING_TIMEOUT_SECONDS (a "typing" timer, not a sleep) and when the
business sends a message. `AppUser.app_maker_typing_until` holds the state:
the auto-stop timer (one per app user: a new start moves it) carries the
value it was scheduled for and stops only if it is unchanged (a
conditional update: one stop, whoever runs it). A stop or a message leaves
the timer to find typing changed: cancelling it there would lock the timer
after the app user, the reverse of the timer's handler.

A platform that shows one typing call for a few seconds only (its
integration's `typing_lasts`: Telegram's chat action lasts 5 s) gets the
call again every 90% of that while typing lasts: a "typing_repeat" timer
(one per app user, moved by each start) carries the `until` of the start
that armed it and repeats only while it is unchanged, so a stop, a
message or the auto-stop ends the repeats (the timer fires once more and
finds typing changed). The last repeat falls before `until`: such a
platform may show typing up to `typing_lasts` past the end, as it has no
call to hide it."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from messaging import background, events
from messaging.delivery import timers
from messaging.delivery.targeting import live_clients
from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.models import AppUser, Client
from messaging.services.errors import ServiceError

logger = logging.getLogger(__name__)

KIND = "typing"
REPEAT_KIND = "typing_repeat"
# A repeat comes this share of `typing_lasts` after the call before it, so
# the indicator does not lapse between two calls.
REPEAT_SHARE = 0.9
ACTIONS = {"typing:start": "start", "typing:stop": "stop"}


def send_typing(app_user, action: str, name: str = "", avatar_url: str = "", *, reason: str = "") -> dict:
    if action not in ACTIONS:
        raise ServiceError("Typing type must be typing:start or typing:stop.")
    state = ACTIONS[action]
    preferred = next(iter(live_clients(app_user)), None)
    shown = bool(preferred and registry.capabilities(preferred.platform).typing)
    detail = {"role": "appMaker", "state": state, "name": name, "avatarUrl": avatar_url,
              "clientId": preferred.id if shown else None,
              "platform": preferred.platform if shown else None, "shown": shown}
    if reason:
        detail["reason"] = reason
    until = None
    if state == "start":
        until = timezone.now() + timedelta(seconds=settings.PARLEY_TYPING_TIMEOUT_SECONDS)
        # The timers before the app user's row: the order their handlers lock them in.
        timers.schedule(KIND, app_user.id, until, data={"until": until.isoformat()})
        lasts = registry.integration_class(preferred.platform).typing_lasts if shown else 0
        every = lasts * REPEAT_SHARE
        if lasts and timezone.now() + timedelta(seconds=every) < until:
            timers.schedule(REPEAT_KIND, app_user.id, timezone.now() + timedelta(seconds=every), data={
                "until": until.isoformat(), "every": every, "clientId": preferred.id,
                "name": name, "avatarUrl": avatar_url})
    AppUser.objects.filter(pk=app_user.pk).update(app_maker_typing_until=until)
    app_user.app_maker_typing_until = until
    events.emit(
        "typing:appMaker",
        app=app_user.app,
        app_user=app_user,
        summary=f"Business typing {state}" + (f" ({reason})" if reason else ""),
        detail=detail,
    )
    if shown and preferred.platform != "web":
        # The widget gets the event through the user's group; platforms need a call.
        background.enqueue_on_commit("send_platform_typing", preferred.id, state, name, avatar_url)
    return detail


def stop_if_still_typing(app_user_id: str, until_iso: str) -> bool:
    """The auto-stop of one typing:start: stop unless typing changed since
    (a later start, a stop or a message cleared or moved `until`)."""
    until = datetime.fromisoformat(until_iso)
    if not AppUser.objects.filter(pk=app_user_id, app_maker_typing_until=until).update(
        app_maker_typing_until=None
    ):
        return False
    app_user = AppUser.objects.select_related("app").get(pk=app_user_id)
    send_typing(app_user, "typing:stop", reason="timeout")
    return True


def end_on_message(app_user) -> None:
    """A new business message ends typing (when it is still on). When the
    caller's `app_user` (loaded for this call) shows no typing, no statement
    is spent: a typing:start racing with the message stops at its timeout."""
    until = app_user.app_maker_typing_until
    if until is None or until <= timezone.now():
        return
    if AppUser.objects.filter(pk=app_user.pk, app_maker_typing_until__gt=timezone.now()).update(
        app_maker_typing_until=None
    ):
        send_typing(app_user, "typing:stop", reason="message")


def send_to_platform(client_id: str, state: str, name: str = "", avatar_url: str = "") -> None:
    client = Client.objects.select_related("integration").filter(id=client_id).first()
    if client is None:
        return
    try:
        registry.for_client(client).send_typing(client, state, name, avatar_url)
    except PlatformError as error:
        # Typing is ephemeral: not worth a retry.
        logger.info("typing to client %s failed: %s", client_id, error.message)


def _fire(batch: list) -> None:
    for timer in batch:
        stop_if_still_typing(timer.subject, timer.data["until"])


def _repeat(batch: list) -> None:
    """Typing calls again for the starts still on (`until` unchanged), each
    next repeat scheduled while it falls before `until`."""
    typing_until = dict(AppUser.objects.filter(pk__in={t.subject for t in batch})
                        .values_list("pk", "app_maker_typing_until"))
    for timer in batch:
        until = datetime.fromisoformat(timer.data["until"])
        if typing_until.get(timer.subject) != until:
            continue  # stopped, ended by a message or the timeout, or restarted
        background.enqueue_on_commit("send_platform_typing", timer.data["clientId"], "start",
                                     timer.data.get("name", ""), timer.data.get("avatarUrl", ""))
        next_at = timezone.now() + timedelta(seconds=timer.data["every"])
        if next_at < until:
            timers.schedule(REPEAT_KIND, timer.subject, next_at, data=timer.data)


# A stop that fails is worth a short retry or two, not more: typing is ephemeral.
timers.register(KIND, _fire, retries=2, backoff=timedelta(seconds=5))
# A repeat that fails is dropped, not retried (typing is ephemeral): the
# indicator lapses until the business's next typing:start.
timers.register(REPEAT_KIND, _repeat, retries=0)
