"""Handing business messages to the engine, and catching up new clients."""

from contextlib import nullcontext

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from messaging import background, events
from messaging.delivery import failover, sending, typing
from messaging.delivery.decisions import decision, record
from messaging.delivery.targeting import Target, live_clients, plan
from messaging.integrations import registry
from messaging.integrations.registry import integration_class
from messaging.models import AppUser, Delivery, DeliveryState, Message, MessageRole, Purpose

CATCH_UP_LIMIT = 100


def prepare(message) -> list[Target]:
    """Target a business message before it is stored (in the transaction
    that will store it): its decisions are set on `message.decisions`, so the
    INSERT records them, and the failover check is scheduled on commit. A
    `destination` the user has no client on raises NoClientForDestination
    (400) before anything is written. Returns the targets for submit()."""
    if message.role != MessageRole.APP_MAKER:
        raise ValueError("only business messages are delivered")
    if not Message.app.is_cached(message) and AppUser.app.is_cached(message.app_user):
        message.app = message.app_user.app  # the same app, already loaded: save a query
    # The one read of the user's clients in a send: targeting, the
    # destination check and the failover schedule all use this list.
    clients = live_clients(message.app_user)
    targets = plan(message.app_user, message.destination, clients)
    entries = []
    if not targets:
        entries.append(decision("no-client", reason="stored; delivered when a client appears"))
    for target in targets:
        entries.append(decision(target.purpose, target.client, notify=target.notify))
    preferred = next((t.client for t in targets if t.purpose == Purpose.PREFERRED), None)
    if preferred is not None:
        entries.append(failover.schedule_at_submit(message, preferred, clients))
    message.decisions = list(message.decisions or []) + entries
    return targets


def submit(message, targets: list[Target] | None = None) -> list[Delivery]:
    """Create the deliveries of a stored appMaker message. Call in the
    transaction that stored it, with the targets prepare() returned before
    the INSERT; without them the message is targeted now and its decisions
    recorded with an UPDATE. Deliveries to channels Parley serves itself
    (`sends_in_process`: the web widget) are stored as sent, with their
    delivery:success; the others are queued for the worker, whose work
    starts once the transaction commits."""
    # Usually inside post_message's transaction: no savepoint round trips then.
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic(), events.batch():
        if targets is None:
            targets = prepare(message)
            type(message).objects.filter(pk=message.pk).update(decisions=message.decisions)
        now = timezone.now()
        rows = [Delivery(message=message, client=t.client, purpose=t.purpose, notify=t.notify)
                for t in targets]
        for row in rows:
            _send_if_in_process(row, now)
        deliveries = Delivery.objects.bulk_create(rows)
        for row in deliveries:
            if row.state == DeliveryState.SENT:
                sending.announce_sent(row)
        typing.end_on_message(message.app_user)
        if any(row.state == DeliveryState.QUEUED for row in deliveries):
            # One trigger per message; the run claims every due row.
            background.enqueue_on_commit("send_deliveries")
    return deliveries


def client_appeared(client) -> list[Delivery]:
    """A new or re-activated client (widget connected, link confirmed): it
    gets the unread business messages that found no client when they were
    sent."""
    if not client.active or client.pending:
        return []
    created = []
    with transaction.atomic(), events.batch():
        undelivered = (
            Message.objects.select_for_update(of=("self",))
            .select_related("app", "app_user")
            .filter(app_user_id=client.app_user_id, role=MessageRole.APP_MAKER, read_at__isnull=True,
                    destination__isnull=True)
            .filter(~Exists(Delivery.objects.filter(message=OuterRef("pk"))))
            .order_by("received")[:CATCH_UP_LIMIT]
        )
        now = timezone.now()
        for message in undelivered:
            row = Delivery(message=message, client=client, purpose=Purpose.PREFERRED, notify=True)
            _send_if_in_process(row, now)
            delivery, new = Delivery.objects.get_or_create(
                message=message, client=client, purpose=Purpose.PREFERRED,
                defaults={field: getattr(row, field)
                          for field in ("notify", "state", "sent_at", "attempts", "platform_message_id")},
            )
            if new:
                created.append(delivery)
                record(message, decision("preferred", client, notify=True, reason="client appeared"))
                if delivery.state == DeliveryState.SENT:
                    sending.announce_sent(delivery)
        if any(delivery.state == DeliveryState.QUEUED for delivery in created):
            background.enqueue_on_commit("send_deliveries")
    return created


def _send_if_in_process(row: Delivery, now) -> None:
    """A channel Parley serves itself (the web widget) needs no platform
    call: its delivery is sent as it is created."""
    if integration_class(row.client.platform).sends_in_process:
        row.platform_message_id = registry.for_client(row.client).send(row)
        row.state, row.sent_at, row.attempts = DeliveryState.SENT, now, 1
