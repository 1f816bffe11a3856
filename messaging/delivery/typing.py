"""Typing from the business, routed to the preferred client when its
channel shows typing. `typing:start` ends on its own after
PARLEY_TYPING_TIMEOUT_SECONDS (a delayed task, not a sleep) and when the
business sends a message."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging import events
from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.models import AppUser, Client, LogEntry
from messaging.services.errors import ServiceError

logger = logging.getLogger(__name__)

ACTIONS = {"typing:start": "start", "typing:stop": "stop"}


def send_typing(app_user, action: str, name: str = "", avatar_url: str = "", *, reason: str = "") -> dict:
    from messaging import tasks
    from messaging.delivery.targeting import live_clients

    if action not in ACTIONS:
        raise ServiceError("Typing type must be typing:start or typing:stop.")
    state = ACTIONS[action]
    preferred = live_clients(app_user).first()
    shown = bool(preferred and registry.capabilities(preferred.platform).typing)
    detail = {"role": "appMaker", "state": state, "name": name, "avatarUrl": avatar_url,
              "clientId": preferred.id if shown else None,
              "platform": preferred.platform if shown else None, "shown": shown}
    if reason:
        detail["reason"] = reason
    entry = events.emit(
        "typing:appMaker",
        app=app_user.app,
        app_user=app_user,
        summary=f"Business typing {state}" + (f" ({reason})" if reason else ""),
        detail=detail,
    )
    if shown and preferred.platform != "web":
        # The widget gets the event through the user's group; platforms need a call.
        tasks.enqueue_on_commit(tasks.send_platform_typing, preferred.id, state, name, avatar_url)
    if state == "start" and entry is not None:
        due = timezone.now() + timedelta(seconds=settings.PARLEY_TYPING_TIMEOUT_SECONDS)
        tasks.enqueue_on_commit(tasks.typing_timeout, app_user.id, entry.id, run_after=due)
    return detail


def _latest_typing(app_user):
    return (
        LogEntry.objects.filter(app_user=app_user, kind="typing:appMaker").order_by("-id").first()
    )


def stop_if_still_typing(app_user_id: str, log_id: int) -> bool:
    """The timeout of one typing:start: stop unless typing changed since."""
    app_user = AppUser.objects.select_related("app").filter(id=app_user_id).first()
    if app_user is None:
        return False
    later = LogEntry.objects.filter(
        app_user=app_user, kind__in=("typing:appMaker", "message:appMaker"), id__gt=log_id
    ).exists()
    if later:
        return False
    send_typing(app_user, "typing:stop", reason="timeout")
    return True


def end_on_message(app_user) -> None:
    """A new business message ends typing (when it is still on)."""
    latest = _latest_typing(app_user)
    if latest is None or latest.detail.get("state") != "start":
        return
    if timezone.now() - latest.created_at > timedelta(seconds=settings.PARLEY_TYPING_TIMEOUT_SECONDS):
        return
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
