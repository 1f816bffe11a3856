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
import weakref
from collections import deque
from contextlib import contextmanager
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

# What a webhook may subscribe to (Smooch's triggers): the emitted triggers,
# the aliases, "*" (all), and payment:success, which is accepted because the
# reference lists it and existing receivers subscribe to it, but never
# emitted: Parley takes no payments.
TRIGGER_ALIASES = {"message": ("message:appUser", "message:appMaker")}
SUBSCRIBABLE_TRIGGERS = (*TRIGGER_ALIASES, *WEBHOOK_TRIGGERS, "payment:success", "*")


def app_group(app_id: str) -> str:
    return f"app.{app_id}"


def appuser_group(app_user_id: str) -> str:
    return f"appuser.{app_user_id}"


def user_ref(app_user) -> dict:
    """How event details name an app user: its `_id`, and its `userId` when it has one."""
    ref = {"_id": app_user.id}
    if app_user.user_id:
        ref["userId"] = app_user.user_id
    return ref


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
    `destination`, `error`...) of this event's trigger. Inside `batch()` the
    log entry is written when the batch ends (its id is set then)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    detail = detail or {}
    entry = None
    if log and kind not in UNLOGGED_KINDS:
        entry = LogEntry(app=app, kind=kind, app_user=app_user, summary=summary[:500], detail=detail)
    event = {
        "type": "parley.event",
        "kind": kind,
        "appId": app.id,
        "appUserId": app_user.id if app_user else None,
        "logId": None,
        "summary": summary[:500],
        "detail": detail,
    }
    pending = getattr(_batch, "pending", None)
    if pending is None:
        _store_and_publish([(entry, event)])
    else:
        pending.append((entry, event))
    trigger = KINDS[kind][1]
    if trigger:
        from messaging.webhooks import dispatch

        dispatch.on_event(app, trigger, event, app_user=app_user, extra=webhook)
    return entry


_batch = threading.local()


@contextmanager
def batch():
    """Group the events of one change (a message and its deliveries): inside,
    emit() holds back its log entry and its broadcast; when the block ends
    the entries are written with one INSERT and, after commit, the events go
    out together (one channel-layer message per group). Use it inside the
    change's transaction; a nested batch joins the outer one, and an
    exception drops what was held (the transaction rolls back anyway). What
    is held is written when the batch ends: an inner savepoint that rolls
    back does not take its events with it, so don't swallow errors inside
    a batch."""
    if getattr(_batch, "pending", None) is not None:
        yield
        return
    _batch.pending = []
    try:
        yield
        held = _batch.pending
    finally:
        _batch.pending = None
    if held:
        _store_and_publish(held)


def _store_and_publish(held: list) -> None:
    entries = [entry for entry, _ in held if entry is not None]
    if len(entries) == 1:
        entries[0].save(force_insert=True)
    elif entries:
        LogEntry.objects.bulk_create(entries)
    for entry, event in held:
        if entry is not None:
            event["logId"] = entry.id
    transaction.on_commit(partial(publish, [event for _, event in held]))


def publish(batch_: list[dict]) -> None:
    """Send events to their users' groups (first: SDK sockets wait on them)
    and their apps' groups, one channel-layer message per group. Never
    raises: the change is already committed and durable paths (tasks,
    catch-up on reconnect) cover a lost broadcast.

    A request thread under daphne hands the events to daphne's event loop
    and returns at once; the worker hands them to its publishing loop. Both
    publish in the order they were handed over. (A short management command
    may exit before its broadcasts go out: its log entries stay.)"""
    layer = get_channel_layer()
    if layer is None or not batch_:
        return
    messages = _group_messages(batch_)
    try:
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        if loop is not None and not loop.is_closed():
            _submit(loop, layer, messages)
        elif isinstance(layer, InMemoryChannelLayer):
            async_to_sync(_send_all)(layer, messages)
        else:
            _submit(_publisher_loop(), layer, messages)
    except Exception:
        logger.exception("publish failed for app=%s kinds=%s", batch_[0]["appId"],
                         [event["kind"] for event in batch_])


def _group_messages(batch_: list[dict]) -> list[tuple[str, dict]]:
    by_group: dict[str, list] = {}
    for event in batch_:
        if event.get("appUserId"):
            by_group.setdefault(appuser_group(event["appUserId"]), []).append(event)
    for event in batch_:
        by_group.setdefault(app_group(event["appId"]), []).append(event)
    return [
        (group, events[0] if len(events) == 1 else {"type": "parley.events", "events": events})
        for group, events in by_group.items()
    ]


async def _send_all(layer, messages: list[tuple[str, dict]]) -> None:
    for group, message in messages:
        await layer.group_send(group, message)


class _OrderedSender:
    """Publishes on one event loop, in the order submitted, without making
    the submitting thread wait for Redis. At most MAX_BACKLOG submissions
    wait (a stalled layer must not grow memory without bound): past that
    they are dropped, and logged. It keeps no reference to its loop (the
    loop is the key of `_senders`, a weak mapping)."""

    MAX_BACKLOG = 10_000

    def __init__(self):
        self.queue = deque()
        self.drain_task = None

    def submit(self, loop, layer, messages) -> None:  # any thread
        loop.call_soon_threadsafe(self._push, layer, messages)

    def _push(self, layer, messages) -> None:  # on the loop
        if len(self.queue) >= self.MAX_BACKLOG:
            logger.error("publish backlog full (%s): dropping an event broadcast", len(self.queue))
            return
        self.queue.append((layer, messages))
        if self.drain_task is None:
            # Kept on the sender: the loop holds only a weak reference to tasks.
            self.drain_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.queue:
                layer, messages = self.queue.popleft()
                try:
                    await asyncio.wait_for(_send_all(layer, messages), PUBLISH_TIMEOUT)
                except Exception:
                    logger.exception("publish failed for groups %s", [group for group, _ in messages])
        finally:
            self.drain_task = None


_senders: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OrderedSender]" = weakref.WeakKeyDictionary()
_senders_lock = threading.Lock()


def _submit(loop, layer, messages) -> None:
    with _senders_lock:
        sender = _senders.get(loop)
        if sender is None:
            sender = _senders[loop] = _OrderedSender()
    sender.submit(loop, layer, messages)


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


_publisher = None
_publisher_lock = threading.Lock()


def _publisher_loop():
    global _publisher
    with _publisher_lock:
        if _publisher is None or not _publisher.thread.is_alive():
            _publisher = _PublisherLoop()
        return _publisher.loop
