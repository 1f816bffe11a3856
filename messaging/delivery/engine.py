"""Handing business messages to the engine, and catching up new clients."""

from contextlib import nullcontext

from django.db import transaction
from django.db.models import Exists, OuterRef

from messaging.delivery import failover, typing
from messaging.delivery.decisions import decision, record
from messaging.delivery.targeting import live_clients, plan
from messaging.models import AppUser, Delivery, Message, MessageRole, Purpose

CATCH_UP_LIMIT = 100


def submit(message) -> list[Delivery]:
    """Target a stored appMaker message and queue its deliveries. Call in the
    transaction that stored it: a `destination` the user has no client on
    raises NoClientForDestination (400) so that nothing is stored; the work
    starts once it commits."""
    from messaging import tasks

    if message.role != MessageRole.APP_MAKER:
        raise ValueError("only business messages are delivered")
    if not Message.app.is_cached(message) and AppUser.app.is_cached(message.app_user):
        message.app = message.app_user.app  # the same app, already loaded: save a query
    # Usually inside post_message's transaction: no savepoint round trips then.
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic():
        clients = list(live_clients(message.app_user))
        targets = plan(message.app_user, message.destination, clients)
        entries = []
        if not targets:
            entries.append(decision("no-client", reason="stored; delivered when a client appears"))
        deliveries = Delivery.objects.bulk_create(
            [Delivery(message=message, client=t.client, purpose=t.purpose, notify=t.notify)
             for t in targets]
        )
        for target in targets:
            entries.append(decision(target.purpose, target.client, notify=target.notify))
        preferred = next((t.client for t in targets if t.purpose == Purpose.PREFERRED), None)
        if preferred is not None:
            entries.append(failover.schedule_at_submit(message, preferred, clients))
        record(message, *entries)
        typing.end_on_message(message.app_user)
        if deliveries:
            tasks.enqueue_on_commit(tasks.send_deliveries)
    return deliveries


def client_appeared(client) -> list[Delivery]:
    """A new or re-activated client (widget connected, link confirmed): it
    gets the unread business messages that found no client when they were
    sent."""
    from messaging import tasks

    if not client.active or client.pending:
        return []
    created = []
    with transaction.atomic():
        undelivered = (
            Message.objects.select_for_update()
            .filter(app_user_id=client.app_user_id, role=MessageRole.APP_MAKER, read_at__isnull=True,
                    destination__isnull=True)
            .filter(~Exists(Delivery.objects.filter(message=OuterRef("pk"))))
            .order_by("received")[:CATCH_UP_LIMIT]
        )
        for message in undelivered:
            delivery, new = Delivery.objects.get_or_create(
                message=message, client=client, purpose=Purpose.PREFERRED, defaults={"notify": True}
            )
            if new:
                created.append(delivery)
                record(message, decision("preferred", client, notify=True, reason="client appeared"))
        if created:
            tasks.enqueue_on_commit(tasks.send_deliveries)
    return created
