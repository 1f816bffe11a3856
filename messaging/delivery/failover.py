"""Failover: a durable check, scheduled as a task at submit time for
`delay` seconds later (django-tasks-db keeps it across restarts).

Default rule (DESIGN.md rule 4): if the message is still unread and the
preferred channel cannot push, send it with a notification to the most
recently used push-capable client, even one that holds a silent copy.
An app's own policy (messaging.services.failover_policy) replaces it with a
chain of channel types tried in turn, `delaySeconds` apart, while unread.
A read anywhere (messaging.delivery.reads) cancels what is still pending:
the check finds the message read and records that instead.

django-tasks-db never retries a task that raised: the sweep hands such
checks to `retry_failed` (below), which runs them again later, a bounded
number of times, while the message is unread.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from messaging import events
from messaging.delivery.decisions import decision, record
from messaging.delivery.targeting import can_push, live_clients
from messaging.models import Delivery, Message, Purpose
from messaging.services import failover_policy

logger = logging.getLogger(__name__)

NOTIFIED = (Purpose.DESTINATION, Purpose.PREFERRED, Purpose.FAILOVER)
# Decisions that end a step: its check has nothing left to do.
FINAL = ("failover", "failover-cancelled", "failover-none", "failover-failed")
# A check that raised runs again at most this many times, RETRY_BACKOFF
# later, doubled each time (30 s, 1 min, 2 min): a passing database or
# platform hiccup heals, a bug does not loop forever.
RETRIES = 3
RETRY_BACKOFF = timedelta(seconds=30)


def schedule_at_submit(message, preferred, clients: list) -> dict:
    """Decide at submit time whether a failover check is needed; enqueue it
    on commit. `clients`: the user's live clients. Returns the decision to
    record."""
    from messaging import tasks

    app = message.app
    policy = failover_policy.get_policy(app)
    if policy is None:
        if can_push(preferred):
            return decision("no-failover", preferred, reason="the preferred channel is push-capable")
        if not any(can_push(c) for c in clients if c.id != preferred.id):
            return decision("no-failover", reason="no push-capable client")
    delay = failover_policy.delay_seconds(app)
    due = timezone.now() + timedelta(seconds=delay)
    tasks.enqueue_on_commit(tasks.check_failover, message.id, 0, run_after=due)
    return decision("failover-scheduled", dueAt=due.isoformat(), step=0,
                    policy="chain" if policy else "default")


def _locked_message(message_id: str):
    """The message with its app and user, locked for this transaction (None if gone)."""
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("app", "app_user")
        .filter(id=message_id)
        .first()
    )


def check(message_id: str, step: int = 0) -> str:
    """Run one failover step; idempotent (a repeated run finds its decision)."""
    from messaging import tasks

    with transaction.atomic():
        message = _locked_message(message_id)
        if message is None:
            return "gone"
        done = [d for d in message.decisions or [] if d.get("step") == step and d.get("rule") in FINAL]
        if done:
            return "done"
        if message.read_at is not None:
            record(message, decision("failover-cancelled", step=step, reason="read"))
            return "read"
        policy = failover_policy.get_policy(message.app)
        notified = set(
            Delivery.objects.filter(message=message, purpose__in=NOTIFIED).values_list("client_id", flat=True)
        )
        clients = [c for c in live_clients(message.app_user) if c.id not in notified]
        target, next_step = None, None
        if policy is None:
            target = next((c for c in clients if can_push(c)), None)
        else:
            chain = policy["chain"]
            for index in range(step, len(chain)):
                target = next((c for c in clients if c.platform == chain[index]), None)
                if target is not None:
                    next_step = index + 1 if index + 1 < len(chain) else None
                    break
        if target is None:
            record(message, decision("failover-none", step=step, reason="no client left to notify"))
            return "none"
        delivery, _ = Delivery.objects.get_or_create(
            message=message, client=target, purpose=Purpose.FAILOVER, defaults={"notify": True}
        )
        record(message, decision("failover", target, step=step))
        events.emit(
            "failover",
            app=message.app,
            app_user=message.app_user,
            summary=f"Unread: failing over to {target.platform}",
            detail={"messageId": message.id, "clientId": target.id, "platform": target.platform,
                    "deliveryId": delivery.id, "step": step},
        )
        tasks.enqueue_on_commit(tasks.send_deliveries)
        if next_step is not None:
            due = timezone.now() + timedelta(seconds=failover_policy.delay_seconds(message.app))
            record(message, decision("failover-scheduled", dueAt=due.isoformat(), step=next_step,
                                     policy="chain"))
            tasks.enqueue_on_commit(tasks.check_failover, message.id, next_step, run_after=due)
        return "sent"


def retry_failed(failures: dict) -> dict:
    """`failures`: {(message_id, step): how many times its check raised}
    (the sweep counts FAILED check_failover tasks). Each still-unread
    message whose step is not done gets its check again: recorded as a
    `failover-retry` decision with `attempt` = that count, so a repeated
    sweep does nothing more until the retry fails too. After RETRIES
    retries the step is given up (`failover-failed`, logged). Returns
    {(message_id, step): outcome}."""
    rows = Message.objects.filter(id__in={m for m, _ in failures}).only("id", "read_at", "decisions")
    todo = {m.id: m for m in rows}
    outcomes = {}
    for (message_id, step), count in failures.items():
        message = todo.get(message_id)
        # Most failures were handled by an earlier sweep: skip them unlocked.
        outcome = _retry_outcome(message, step, count)
        if outcome is None:
            outcome = _retry(message_id, step, count)
        outcomes[(message_id, step)] = outcome
    return outcomes


def _retry_outcome(message, step: int, count: int) -> str | None:
    """What a failed check needs, None: a retry or giving up (to do under
    the row lock)."""
    if message is None:
        return "gone"
    if message.read_at is not None:
        return "read"
    mine = [d for d in message.decisions or [] if d.get("step") == step]
    if any(d.get("rule") in FINAL for d in mine):
        return "done"
    if any(d.get("rule") == "failover-retry" and d.get("attempt") == count for d in mine):
        return "waiting"  # already re-run after this failure
    return None


def _retry(message_id: str, step: int, count: int) -> str:
    from messaging import tasks

    with transaction.atomic():
        message = _locked_message(message_id)
        outcome = _retry_outcome(message, step, count)
        if outcome is not None:
            return outcome
        if count > RETRIES:
            record(message, decision("failover-failed", step=step,
                                     reason=f"the failover check failed {count} times"))
            logger.error("failover check gave up: app=%s message=%s step=%s failures=%s",
                         message.app_id, message.id, step, count)
            events.emit(
                "failover",
                app=message.app,
                app_user=message.app_user,
                summary=f"Failover check failed {count} times: gave up",
                detail={"messageId": message.id, "step": step, "failed": True},
            )
            return "gave-up"
        due = timezone.now() + RETRY_BACKOFF * 2 ** (count - 1)
        record(message, decision("failover-retry", step=step, attempt=count, dueAt=due.isoformat()))
        tasks.enqueue_on_commit(tasks.check_failover, message.id, step, run_after=due)
        logger.warning("failover check failed, retrying: app=%s message=%s step=%s attempt=%s",
                       message.app_id, message.id, step, count)
        return "retry"
