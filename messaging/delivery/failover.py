"""Failover: a durable check at `delay` seconds after the send, held as a
"failover" timer (messaging.delivery.timers: subject the message id, key
the step) scheduled in the send's own transaction.

Default rule (DESIGN.md rule 4): if the message is still unread and the
preferred channel cannot push, send it with a notification to the most
recently used push-capable client, even one that holds a silent copy.
An app's own policy (messaging.services.failover_policy) replaces it with a
chain of channel types tried in turn, `delaySeconds` apart, while unread.
A read anywhere cancels what is still pending: the read drops the user's
failover timers (cancel_for_read, recording `failover-cancelled`), and a
check that finds the message read records that instead.

A check that raises keeps its timer, which runs again later, a bounded
number of times (RETRIES, RETRY_BACKOFF doubled), each failure recorded as
`failover-retry`; then the step is given up (`failover-failed`, logged).
"""

import logging
from collections import defaultdict
from contextlib import nullcontext
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from messaging import background, events
from messaging.delivery import timers
from messaging.delivery.decisions import decision, record
from messaging.delivery.targeting import can_push, live_clients_of
from messaging.models import Delivery, Message, Purpose
from messaging.services import failover_policy

logger = logging.getLogger(__name__)

KIND = "failover"
NOTIFIED = (Purpose.DESTINATION, Purpose.PREFERRED, Purpose.FAILOVER)
# Decisions that end a step: its check has nothing left to do.
FINAL = ("failover", "failover-cancelled", "failover-none", "failover-failed")
# A check that raised runs again at most this many times, RETRY_BACKOFF
# later, doubled each time (30 s, 1 min, 2 min): a passing database or
# platform hiccup heals, a bug does not loop forever.
RETRIES = 3
RETRY_BACKOFF = timedelta(seconds=30)


def schedule_at_submit(message, preferred, clients: list) -> dict:
    """Decide at submit time whether a failover check is needed; schedule
    its timer in the send's transaction. `clients`: the user's live
    clients. Returns the decision to record."""
    app = message.app
    policy = failover_policy.get_policy(app)
    if policy is None:
        if can_push(preferred):
            return decision("no-failover", preferred, reason="the preferred channel is push-capable")
        if not any(can_push(c) for c in clients if c.id != preferred.id):
            return decision("no-failover", reason="no push-capable client")
    delay = failover_policy.delay_seconds(app)
    due = timezone.now() + timedelta(seconds=delay)
    _schedule(message.id, 0, due)
    return decision("failover-scheduled", dueAt=due.isoformat(), step=0,
                    policy="chain" if policy else "default")


def _schedule(message_id: str, step: int, due) -> None:
    timers.schedule(KIND, message_id, due, data={"step": step}, key=str(step))


def _locked_messages(message_ids) -> dict:
    """The messages with their apps and users, locked for this transaction
    (in id order, so batches never wait on each other in a cycle); the
    gone ones are missing."""
    return {m.id: m for m in Message.objects.select_for_update(of=("self",))
            .select_related("app", "app_user").filter(id__in=list(message_ids)).order_by("id")}


def _step_done(message, step: int) -> bool:
    return any(d.get("step") == step and d.get("rule") in FINAL for d in message.decisions or [])


def check(message_id: str, step: int = 0) -> str:
    """Run one failover step; idempotent: a repeated run finds its decision."""
    return check_many([(message_id, step)])[message_id, step]


def check_many(steps: list[tuple[str, int]], *, reason: str | None = None) -> dict[tuple[str, int], str]:
    """Run failover steps, each (message id, step), in one transaction (the
    timers' handler gets a batch): a fixed number of statements for the
    batch (the messages locked, their notified clients and their users'
    live clients read, the new deliveries stored, the decisions written,
    the events logged: one each), so a burst of deadlines costs little per
    timer. Returns each step's outcome: "sent", "none", "read", "done" or
    "gone". `reason`: why the step runs before its time (rule 5: the
    preferred delivery failed); a step run early is done, so its timer,
    when it fires, finds nothing left to do."""
    # Usually the timers' transaction: no savepoint round trips then.
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic(), events.batch():
        messages = _locked_messages({message_id for message_id, _ in steps})
        outcomes, todo = {}, []
        for message_id, step in steps:
            outcome = _settled(messages.get(message_id), step)
            if outcome is None:
                todo.append((messages[message_id], step))
            else:
                outcomes[message_id, step] = outcome
        if not todo:
            return outcomes
        notified = defaultdict(set)
        for message_id, client_id in Delivery.objects.filter(
            message_id__in={message.id for message, _ in todo}, purpose__in=NOTIFIED
        ).values_list("message_id", "client_id"):
            notified[message_id].add(client_id)
        clients = live_clients_of({message.app_user_id for message, _ in todo})
        sends = []
        for message, step in todo:
            target, next_step = _target(message, step, clients[message.app_user_id], notified[message.id])
            if target is None:
                record(message, decision("failover-none", step=step, reason="no client left to notify",
                                         trigger=reason))
                outcomes[message.id, step] = "none"
            else:
                sends.append((message, step, target, next_step))
                notified[message.id].add(target.id)
                outcomes[message.id, step] = "sent"
        if not sends:
            return outcomes
        # New for certain: `notified` holds every client with a failover
        # delivery of these messages, read under their locks.
        deliveries = Delivery.objects.bulk_create(
            [Delivery(message=message, client=target, purpose=Purpose.FAILOVER, notify=True)
             for message, _, target, _ in sends])
        for (message, step, target, next_step), delivery in zip(sends, deliveries):
            entries = [decision("failover", target, step=step, trigger=reason)]
            events.emit(
                "failover",
                app=message.app,
                app_user=message.app_user,
                summary=(f"Preferred delivery failed: failing over to {target.platform}" if reason
                         else f"Unread: failing over to {target.platform}"),
                detail={"messageId": message.id, "clientId": target.id, "platform": target.platform,
                        "deliveryId": delivery.id, "step": step},
            )
            if next_step is not None:
                due = timezone.now() + timedelta(seconds=failover_policy.delay_seconds(message.app))
                entries.append(decision("failover-scheduled", dueAt=due.isoformat(), step=next_step,
                                        policy="chain"))
                _schedule(message.id, next_step, due)
            message.decisions = list(message.decisions or []) + entries
        # decisions.record() for the batch: the rows are locked above.
        Message.objects.bulk_update({message.id: message for message, *_ in sends}.values(), ["decisions"])
        background.enqueue_on_commit("send_deliveries")
    return outcomes


def _settled(message, step: int) -> str | None:
    """What ends a step of a locked message without a look at its clients
    (recorded), or None."""
    if message is None:
        return "gone"
    done = _step_done(message, step)
    if message.read_at is not None:
        if not done:  # a read that did not drop this step's timer
            record(message, decision("failover-cancelled", step=step, reason="read"))
        return "read"
    return "done" if done else None


def _target(message, step: int, clients: list, notified: set) -> tuple[object, int | None]:
    """The client to fail over to at this step (None: none left) and the
    chain's next step (None: none)."""
    # Never a client the user made unreachable (blocked, opted out).
    clients = [c for c in clients if c.id not in notified and not c.unreachable]
    policy = failover_policy.get_policy(message.app)
    if policy is None:
        return next((c for c in clients if can_push(c)), None), None
    chain = policy["chain"]
    for index in range(step, len(chain)):
        target = next((c for c in clients if c.platform == chain[index]), None)
        if target is not None:
            return target, index + 1 if index + 1 < len(chain) else None
    return None, None


def cancel_for_read(unread_ids) -> int:
    """A read: drop the pending failover timers of the messages in
    `unread_ids` (a queryset of the user's unread message ids, before they
    are marked read) and record `failover-cancelled` on each. Call in the
    read's transaction before it updates the messages: timers are locked
    before messages, as their handlers lock them. Returns how many."""
    dropped = timers.cancel(KIND, unread_ids)
    if not dropped:
        return 0
    messages = (Message.objects.select_for_update(of=("self",)).filter(id__in={t.subject for t in dropped})
                .only("id", "decisions").in_bulk())
    for message_id, message in messages.items():
        steps = sorted(int(t.data.get("step", 0)) for t in dropped if t.subject == message_id)
        record(message, *[decision("failover-cancelled", step=step, reason="read") for step in steps])
    return len(dropped)


def _fire(batch: list) -> None:
    check_many([(timer.subject, int(timer.data.get("step", 0))) for timer in batch])


def _failed(timer, attempts: int, retry_at) -> None:
    """A check raised (`attempts` times so far): record the retry, or, with
    `retry_at` None, that the step was given up."""
    step = int(timer.data.get("step", 0))
    message = _locked_messages([timer.subject]).get(timer.subject)
    if message is None or message.read_at is not None or _step_done(message, step):
        return
    if retry_at is None:
        record(message, decision("failover-failed", step=step,
                                 reason=f"the failover check failed {attempts} times"))
        logger.error("failover check gave up: app=%s message=%s step=%s failures=%s",
                     message.app_id, message.id, step, attempts)
        events.emit(
            "failover",
            app=message.app,
            app_user=message.app_user,
            summary=f"Failover check failed {attempts} times: gave up",
            detail={"messageId": message.id, "step": step, "failed": True},
        )
        return
    record(message, decision("failover-retry", step=step, attempt=attempts, dueAt=retry_at.isoformat()))
    logger.warning("failover check failed, retrying: app=%s message=%s step=%s attempt=%s",
                   message.app_id, message.id, step, attempts)


timers.register(KIND, _fire, retries=RETRIES, backoff=RETRY_BACKOFF, failed=_failed)
