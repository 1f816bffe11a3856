"""The one fan-out point for every event of an app.

Every event (message stored, delivery state changed, typing, read, failover,
link...) goes through `emit()`, which
  (a) is stored: it writes the app's log entry (the Log tab) in the caller's
      transaction,
  (b) is published after commit on the channel layer to the app's group
      `app.<appId>` (dashboard) and the user's group `appuser.<appUserId>`
      (SDK clients),
  (c) becomes webhook events for the triggers it maps to.
Integrations and services never publish on their own.
"""

import asyncio
import logging
import threading
from functools import partial

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from messaging.models import LogEntry

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 10  # seconds a publish may take before it counts as lost

# Every kind of event, with a label for the Log tab and the webhook trigger
# it fires (None: not sent to webhooks).
KINDS = {
    "message:appUser": ("User message", "message:appUser"),
    "message:appMaker": ("Business message", "message:appMaker"),
    "postback": ("Postback", "postback"),
    "delivery:queued": ("Delivery queued", None),
    "delivery:success": ("Delivery sent", "delivery:success"),
    "delivery:delivered": ("Delivered", None),
    "delivery:read": ("Delivery read", None),
    "delivery:failure": ("Delivery failed", "delivery:failure"),
    "delivery:retry": ("Delivery retry", None),
    "failover": ("Failover", None),
    "typing:appUser": ("User typing", None),
    "typing:appMaker": ("Business typing", None),
    "conversation:read": ("Conversation read", "conversation:read"),
    "conversation:read:appMaker": ("Read by the business", None),
    "conversation:start": ("Conversation started", "conversation:start"),
    "appUser:created": ("User created", None),
    "appUser:updated": ("User updated", None),
    "appUser:deleted": ("User deleted", None),
    "link:requested": ("Link requested", None),
    "link:confirmed": ("Channel linked", None),
    "link:removed": ("Channel unlinked", None),
    "merge:appUser": ("Users merged", "merge:appUser"),
    "auth:failure": ("API auth failure", None),
    "webhook:attempt": ("Webhook attempt", None),
    "webhook:failure": ("Webhook failure", None),
    "integration:error": ("Integration error", None),
}

# Kinds too frequent to keep in the log (still published live).
UNLOGGED_KINDS = frozenset()

WEBHOOK_TRIGGERS = sorted({t for _, t in KINDS.values() if t})


def app_group(app_id: str) -> str:
    return f"app.{app_id}"


def appuser_group(app_user_id: str) -> str:
    return f"appuser.{app_user_id}"


def emit(
    kind: str,
    *,
    app,
    summary: str,
    app_user=None,
    detail: dict | None = None,
    log=True,
    webhook: dict | None = None,
):
    """Record and fan out one event. Call inside the transaction that made
    the change: publishing and webhooks happen only once it commits.

    `detail` is what the log keeps and the groups receive (small, JSON-able;
    `detail["message"]` is the Smooch message JSON for message events).
    `webhook` adds keys to the Smooch webhook body (`messages`,
    `destination`, `error`...) of this event's trigger."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    detail = detail or {}
    entry = None
    if log and kind not in UNLOGGED_KINDS:
        entry = LogEntry.objects.create(
            app=app, kind=kind, app_user=app_user, summary=summary[:500], detail=detail
        )
    event = {
        "type": "parley.event",
        "kind": kind,
        "appId": app.id,
        "appUserId": app_user.id if app_user else None,
        "logId": entry.id if entry else None,
        "summary": summary[:500],
        "detail": detail,
    }
    transaction.on_commit(partial(publish, event))
    trigger = KINDS[kind][1]
    if trigger:
        from messaging.webhooks import dispatch

        dispatch.on_event(app, trigger, event, app_user=app_user, extra=webhook)
    return entry


def publish(event: dict) -> None:
    """Send an event to the user's group (first: SDK sockets wait on it) and
    the app's group. Never raises: the change is already committed and
    durable paths (tasks, catch-up on reconnect) cover a lost broadcast."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if _has_main_loop() or isinstance(layer, InMemoryChannelLayer):
            # A request thread under daphne: async_to_sync runs on daphne's
            # loop, whose Redis connection stays open.
            async_to_sync(_publish)(layer, event)
        else:
            _publisher_loop().run(_publish(layer, event))
    except Exception:
        logger.exception("publish failed for app=%s kind=%s", event["appId"], event["kind"])


def _has_main_loop() -> bool:
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None


class _PublisherLoop:
    """One long-lived event loop thread per process for publishing from
    threads that have no event loop of their own (the task worker).
    async_to_sync would start a new loop per call there, and the Redis
    layers keep their connections per loop: a new Redis connection (and
    handshake) for every event. Measured in bench/api_send.py: the worker
    spent about a quarter of its CPU opening those connections."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="parley-publish", daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = PUBLISH_TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


_publisher = None
_publisher_lock = threading.Lock()


def _publisher_loop() -> _PublisherLoop:
    global _publisher
    with _publisher_lock:
        if _publisher is None or not _publisher.thread.is_alive():
            _publisher = _PublisherLoop()
        return _publisher


async def _publish(layer, event: dict) -> None:
    if event.get("appUserId"):
        await layer.group_send(appuser_group(event["appUserId"]), event)
    await layer.group_send(app_group(event["appId"]), event)
