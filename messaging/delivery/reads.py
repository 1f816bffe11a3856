"""What clients report back: shown (`delivered`) and read.

A read anywhere marks the conversation read: every unread business message
gets `read_at` and its pending failover timers are dropped (recorded as
`failover-cancelled`), the unread count resets, and the reading client's
deliveries move to `read`."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from messaging import events
from messaging.delivery import failover, sending
from messaging.wire import source_json, unix
from messaging.models import AppUser, Client, Delivery, DeliveryState, Message, MessageRole

SHOWN = (DeliveryState.QUEUED, DeliveryState.SENT)


def _delivery_detail(delivery, state) -> dict:
    return {"deliveryId": delivery.id, "messageId": delivery.message_id, "clientId": delivery.client_id,
            "platform": delivery.client.platform, "purpose": delivery.purpose, "state": state}


def mark_delivered(client, message_id: str) -> int:
    """The client showed the message to the user."""
    return _delivered(Delivery.objects.filter(message_id=message_id, client=client))


def _delivered(rows) -> int:
    """queued/sent -> delivered for `rows`, each with delivery:delivered."""
    now = timezone.now()
    deliveries = list(rows.select_related("message__app", "message__app_user", "client").filter(state__in=SHOWN))
    count = 0
    with transaction.atomic():
        for delivery in deliveries:
            if Delivery.objects.filter(id=delivery.id, state__in=SHOWN).update(
                state=DeliveryState.DELIVERED, delivered_at=now, sent_at=delivery.sent_at or now,
                claimed_until=None, claimed_by="",
            ):
                count += 1
                events.emit("delivery:delivered", app=delivery.message.app,
                            app_user=delivery.message.app_user,
                            summary=f"Delivered on {delivery.client.platform}",
                            detail=_delivery_detail(delivery, "delivered"))
    return count


def platform_receipt(integration, platform_message_id: str, state: str, error: dict | None = None) -> int:
    """A platform reported on a message it took (`platform_message_id`):
    "delivered" moves its deliveries on, "failed" fails them (a carrier's
    late refusal: rule 5's failover applies), "read" reads the
    conversation, "sent" says nothing new. Returns how many deliveries
    changed."""
    rows = Delivery.objects.filter(client__integration=integration, platform_message_id=platform_message_id)
    if state == "delivered":
        return _delivered(rows)
    if state == "read":
        delivery = rows.select_related("message__app_user__app", "client").first()
        if delivery is None:
            return 0
        conversation_read(delivery.message.app_user, delivery.client)
        return 1
    if state != "failed":
        return 0
    changed = 0
    error = {"permanent": True, "code": "platform_error", **(error or {})}
    late = (DeliveryState.QUEUED, DeliveryState.SENT, DeliveryState.DELIVERED)
    with transaction.atomic():
        for delivery in rows.select_related("message__app", "message__app_user", "client__integration"):
            changed += sending.fail(delivery, error, rows=Delivery.objects.filter(id=delivery.id, state__in=late))
    return changed


# A platform's watermark is its own time for the last message covered,
# taken when it accepted the message; Parley records `sent_at` when the
# platform's answer arrives, a round trip later. Deliveries sent up to this
# long after a watermark count as covered by it.
WATERMARK_SLACK = timedelta(seconds=5)


def platform_watermark(integration, external_id: str, state: str, watermark) -> int:
    """A platform reported that everything sent to one of its users up to
    `watermark` (an aware datetime) was "delivered" or "read" (Messenger's
    receipts name no message). Returns how many deliveries changed."""
    until = watermark + WATERMARK_SLACK
    clients = list(Client.objects.select_related("app_user__app")
                   .filter(integration=integration, external_id=external_id, pending=False))
    if state == "delivered":
        return _delivered(Delivery.objects.filter(client__in=clients, state=DeliveryState.SENT,
                                                  sent_at__lte=until))
    if state != "read":
        return 0
    changed = 0
    for client in clients:
        changed += conversation_read(client.app_user, client, until=until)["deliveries"]
    return changed


def conversation_read(app_user, client=None, until=None) -> dict:
    """The user read the conversation (on `client` when known): all of it,
    or what was sent up to `until` (a platform's read watermark; nothing is
    reported when that reads nothing new)."""
    now = timezone.now()
    with transaction.atomic():
        unread = Message.objects.filter(app_user=app_user, role=MessageRole.APP_MAKER, read_at__isnull=True)
        if until is not None:
            unread = unread.filter(received__lte=until)
        # Before the messages' UPDATE: timers are locked before messages.
        failover.cancel_for_read(unread.values("id"))
        message_count = unread.update(read_at=now)
        left = 0
        if until is not None:
            left = Message.objects.filter(app_user=app_user, role=MessageRole.APP_MAKER,
                                          read_at__isnull=True).count()
        AppUser.objects.filter(pk=app_user.pk).update(unread_count=left, app_user_last_read=now)
        app_user.unread_count, app_user.app_user_last_read = left, now
        read_states = [DeliveryState.SENT, DeliveryState.DELIVERED]
        if client is not None and client.platform == "web":
            # The widget shows the whole history: a queued copy is on screen too.
            read_states.append(DeliveryState.QUEUED)
        deliveries = []
        if client is not None:
            rows = Delivery.objects.filter(client=client, message__app_user=app_user, state__in=read_states)
            if until is not None:
                rows = rows.filter(sent_at__lte=until)
            deliveries = list(rows.select_related("client"))
        if until is not None and not message_count and not deliveries:
            return {"messages": 0, "deliveries": 0}
        if deliveries:
            Delivery.objects.filter(id__in=[d.id for d in deliveries], state__in=read_states).update(
                state=DeliveryState.READ, read_at=now, claimed_until=None, claimed_by=""
            )
        for delivery in deliveries:
            events.emit("delivery:read", app=app_user.app, app_user=app_user,
                        summary=f"Read on {client.platform}", detail=_delivery_detail(delivery, "read"))
        events.emit(
            "conversation:read",
            app=app_user.app,
            app_user=app_user,
            summary="The user read the conversation",
            detail={"role": "appUser", "at": unix(now), "clientId": client.id if client else None,
                    "messages": message_count},
            webhook={"timestamp": unix(now), "source": _source(client)},
        )
    return {"messages": message_count, "deliveries": len(deliveries)}


def _source(client) -> dict:
    """Where the user read: the client (as a message's `source` names it),
    or `api` for a read reported through the REST API."""
    return {"type": "api"} if client is None else source_json(client)
