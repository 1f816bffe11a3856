"""Failover: a durable check, scheduled as a task at submit time for
`delay` seconds later (django-tasks-db keeps it across restarts).

Default rule (DESIGN.md rule 4): if the message is still unread and the
preferred channel cannot push, send it with a notification to the most
recently used push-capable client, even one that holds a silent copy.
An app's own policy (messaging.services.failover_policy) replaces it with a
chain of channel types tried in turn, `delaySeconds` apart, while unread.
A read anywhere (messaging.delivery.reads) cancels what is still pending:
the check finds the message read and records that instead.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from messaging import events
from messaging.delivery.decisions import decision, record
from messaging.delivery.targeting import can_push, live_clients
from messaging.models import Delivery, Message, Purpose
from messaging.services import failover_policy

NOTIFIED = (Purpose.DESTINATION, Purpose.PREFERRED, Purpose.FAILOVER)


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


def check(message_id: str, step: int = 0) -> str:
    """Run one failover step; idempotent (a repeated run finds its decision)."""
    from messaging import tasks

    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("app", "app_user")
            .filter(id=message_id)
            .first()
        )
        if message is None:
            return "gone"
        done = [d for d in message.decisions or [] if d.get("step") == step
                and d.get("rule") in ("failover", "failover-cancelled", "failover-none")]
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
