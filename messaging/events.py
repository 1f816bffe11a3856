"""The one fan-out point for every event of an app.

Every event (message stored, delivery state changed, typing, read, failover,
link...) goes through `emit()`, which
  (a) is stored: it writes the app's log entry (the Log tab) in the caller's
      transaction,
  (b) is published after commit on the channel layer to the app's group
      `app.<appId>` (dashboard) and the user's group `appuser.<appUserId>`
      (SDK clients), except the TEAM_ONLY kinds, which go to the app's
      group alone,
  (c) becomes webhook events for the triggers it maps to.
Integrations and services never publish on their own.

Two rules beyond Smooch's trigger list:
- OPT_IN_TRIGGERS (the inbox's conversation:status and
  conversation:assigned) reach only webhooks that name them: "*" means
  Smooch's triggers, so existing Smooch receivers see nothing new.
- TEAM_ONLY kinds (a private note, the inbox's status and assignee) are
  the team's business: never published on the user's group (their SDK
  sockets). note:created has no trigger either, so a note is never a
  webhook event: it reaches the app's group and log only.
"""

import threading
from contextlib import contextmanager
from functools import partial

from django.db import transaction

from messaging import metrics, publisher
from messaging.models import LogEntry
from messaging.webhooks import outbox

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
    # The inbox (messaging.services.inbox): opt-in triggers, team only.
    "conversation:status": ("Conversation status", "conversation:status"),
    "conversation:assigned": ("Conversation assigned", "conversation:assigned"),
    "note:created": ("Private note", None),
    "appUser:created": ("User created", None),
    "appUser:updated": ("User updated", None),
    "appUser:deleted": ("User deleted", None),
    "client:unreachable": ("Client unreachable", None),
    "client:reachable": ("Client reachable again", None),
    "link:requested": ("Link requested", None),
    "link:confirmation-sent": ("Link confirmation sent", None),
    "link:failed": ("Link confirmation failed", None),
    "link:confirmed": ("Channel linked", None),
    "link:removed": ("Channel unlinked", None),
    "merge:appUser": ("Users merged", "merge:appUser"),
    "auth:failure": ("API auth failure", None),
    "webhook:attempt": ("Webhook attempt", None),
    "webhook:failure": ("Webhook failure", None),
    "webhook:disabled": ("Webhook disabled", None),
    "webhook:redeliver": ("Webhook re-delivery", None),
    "integration:created": ("Integration connected", None),
    "integration:updated": ("Integration updated", None),
    "integration:deleted": ("Integration removed", None),
    "integration:error": ("Integration error", None),
    # Never logged: tells a user's open SDK sockets to re-check their
    # credential (the user was secured or deleted).
    "access:changed": ("Access changed", None),
}

WEBHOOK_TRIGGERS = sorted({t for _, t in KINDS.values() if t})

# Triggers sent only to webhooks whose triggers name them, never through
# "*": Parley's own, which Smooch receivers subscribed to "*" do not
# expect. Part of the matching rule, so kept beside it (outbox.OPT_IN).
OPT_IN_TRIGGERS = outbox.OPT_IN

# Kinds published to the app's group (the team's dashboards) and logged,
# but never published to the user's group `appuser.<id>`: what the team
# says or decides about a conversation is not the user's to see.
TEAM_ONLY = frozenset({"note:created", "conversation:status", "conversation:assigned"})

if not OPT_IN_TRIGGERS <= set(WEBHOOK_TRIGGERS):
    raise ImportError(f"opt-in triggers no kind fires: {sorted(OPT_IN_TRIGGERS - set(WEBHOOK_TRIGGERS))}")

# What a webhook may subscribe to (Smooch's triggers): the emitted triggers,
# the aliases, "*" (all), and payment:success, which is accepted because the
# reference lists it and existing receivers subscribe to it, but never
# emitted: Parley takes no payments.
# (The aliases are part of Smooch's matching rule: messaging.webhooks.outbox.)
SUBSCRIBABLE_TRIGGERS = (*outbox.ALIASES, *WEBHOOK_TRIGGERS, "payment:success", "*")


def app_group(app_id: str) -> str:
    return f"app.{app_id}"


def appuser_group(app_user_id: str) -> str:
    return f"appuser.{app_user_id}"


def key_group(key_id: str) -> str:
    """The SDK sockets authenticated with a JWT signed by this API key."""
    return f"key.{key_id}"


def sdk_app_group(app_id: str) -> str:
    """Every SDK socket of an app (told when the app is deleted)."""
    return f"sdkapp.{app_id}"


def member_group(user_id) -> str:
    """The dashboard sockets of one team member (a User)."""
    return f"member.{user_id}"


def access_changed(groups: list[str], reason: str) -> None:
    """Tell the sockets in `groups` that a credential they rely on changed
    (a key revoked, a member removed...): each re-checks its access at once
    and closes when it is gone. Published after the caller's transaction
    commits, like every broadcast; never logged (the change itself is the
    record) and a socket that misses it still re-checks periodically."""
    message = {"type": "parley.access", "reason": reason}
    transaction.on_commit(partial(publisher.send, [(group, message) for group in groups]))


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
    log entry and webhook events are written when the batch ends (the
    entry's id is set then)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    detail = detail or {}
    entry = None
    if log:
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
    trigger = KINDS[kind][1]
    hook = (app, trigger, event, app_user, webhook) if trigger else None
    current = getattr(_local, "batch", None)
    if current is None:
        _store_and_publish([(entry, event)])
        if hook:
            outbox.queue([hook])
    else:
        current.held.append((entry, event))
        if hook:
            current.hooks.append(hook)
    return entry


class Batch:
    """What one change's events hold back until its batch ends."""

    def __init__(self):
        self.held: list[tuple] = []  # (log entry or None, event)
        self.hooks: list[tuple] = []  # (app, trigger, event, app_user, extra)
        self.has_webhooks: dict[str, bool] = {}

    def app_has_webhooks(self, app_id: str, has: bool) -> None:
        """Tell the batch whether an app has webhooks, as read by a
        statement of this change's own transaction (not a cached answer):
        its webhook events then skip that lookup."""
        self.has_webhooks[app_id] = bool(has)


_local = threading.local()


@contextmanager
def batch():
    """Group the events of one change (a message and its deliveries): inside,
    emit() holds back its log entry, its broadcast and its webhook events;
    when the block ends the entries are written with one INSERT, the
    webhook events with one more (after one lookup of the app's webhooks)
    and, after commit, the events go out together (one channel-layer
    message per group). Use it inside the change's transaction; a nested
    batch joins the outer one (it yields the outer Batch), and an exception
    drops what was held (the transaction rolls back anyway). What is held
    is written when the batch ends: an inner savepoint that rolls back does
    not take its events with it, so don't swallow errors inside a batch."""
    current = getattr(_local, "batch", None)
    if current is not None:
        yield current
        return
    current = _local.batch = Batch()
    try:
        yield current
    finally:
        _local.batch = None
    if current.held:
        _store_and_publish(current.held)
    if current.hooks:
        outbox.queue(current.hooks, has_webhooks=current.has_webhooks)


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
    and their apps' groups, one channel-layer message per group, without
    making the caller wait (messaging.publisher). Called after commit, so
    the metrics count only what was kept."""
    metrics.record_events(batch_)
    publisher.send(_group_messages(batch_))


def _group_messages(batch_: list[dict]) -> list[tuple[str, dict]]:
    by_group: dict[str, list] = {}
    for event in batch_:
        if event.get("appUserId") and event.get("kind") not in TEAM_ONLY:
            by_group.setdefault(appuser_group(event["appUserId"]), []).append(event)
    for event in batch_:
        by_group.setdefault(app_group(event["appId"]), []).append(event)
    return [
        (group, events[0] if len(events) == 1 else {"type": "parley.events", "events": events})
        for group, events in by_group.items()
    ]
