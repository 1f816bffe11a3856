"""Deliveries as the dashboard and the API see them: a message's deliveries
and decisions, and resending one (scoped to an app, typed errors out)."""

from messaging.api.serializers import iso
from messaging.delivery import resend as engine_resend
from messaging.models import Delivery, DeliveryState
from messaging.services.errors import NotFound, ServiceError


def for_message(message) -> list[Delivery]:
    return list(
        Delivery.objects.filter(message=message).select_related("client").order_by("created_at", "id")
    )


def delivery_json(delivery) -> dict:
    data = {
        "id": delivery.id,
        "messageId": delivery.message_id,
        "clientId": delivery.client_id,
        "platform": delivery.client.platform,
        "purpose": delivery.purpose,
        "notify": delivery.notify,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "sentAt": iso(delivery.sent_at),
        "deliveredAt": iso(delivery.delivered_at),
        "readAt": iso(delivery.read_at),
        "failedAt": iso(delivery.failed_at),
        "error": delivery.error,
    }
    return {k: v for k, v in data.items() if v is not None}


def resend(app, delivery_id: int) -> Delivery:
    """Re-send one of `app`'s deliveries through its integration (a new
    attempt on the same row). Only failed or sent ones: a queued one is on
    its way already."""
    delivery = (
        Delivery.objects.select_related("client", "message").filter(id=delivery_id, message__app=app).first()
    )
    if delivery is None:
        raise NotFound("No such delivery.")
    if delivery.state == DeliveryState.QUEUED:
        raise ServiceError("This delivery is queued already.", code="conflict", status=409)
    return engine_resend(delivery)
