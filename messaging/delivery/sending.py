"""Sending deliveries: claim due rows, call the integration, record the
outcome. queued -> sent (the platform accepted it: delivery:success), or
failed (delivery:failure, with the platform's error). Transient errors
(timeouts, 5xx, 429 + Retry-After) are retried with exponential backoff up
to PARLEY_DELIVERY_MAX_ATTEMPTS; permanent ones (4xx, no integration) fail
at once."""

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messaging import background, events
from messaging.delivery import claims
from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.models import Delivery, DeliveryState
from messaging.wire import message_json

logger = logging.getLogger(__name__)

QUEUED = {"state": DeliveryState.QUEUED}
BATCH = 10
RUN_BUDGET_SECONDS = 20


def run_due(budget: float = RUN_BUDGET_SECONDS) -> int:
    """Work due deliveries until none is left or the budget is spent."""
    return claims.drain(Delivery, pending_filter=QUEUED, limit=BATCH, budget=budget,
                        work_batch=_send_batch, requeue=partial(background.enqueue, "send_deliveries"))


def _send_batch(ids: list[int], token: str) -> int:
    # The batch in one query, with each delivery's message, app, user,
    # client and integration.
    loaded = Delivery.objects.select_related(
        "message__app", "message__app_user", "client__integration"
    ).in_bulk(ids)
    return sum(1 for delivery_id in ids if send_one(delivery_id, token, loaded.get(delivery_id)))


def send_one(delivery_id: int, token: str, delivery: Delivery | None = None) -> bool:
    """Send one claimed delivery; False when the claim was lost. `delivery`:
    the row as loaded right after the claim (with its message, app, user,
    client and integration), to spare a query per row."""
    if not claims.renew(Delivery, delivery_id, pending_filter=QUEUED, token=token,
                        attempts=F("attempts") + 1):
        return False
    if delivery is None:
        delivery = Delivery.objects.select_related(
            "message__app", "message__app_user", "client__integration"
        ).get(id=delivery_id)
    else:
        delivery.attempts += 1  # what renew() just wrote
    integration = registry.for_client(delivery.client)
    try:
        platform_id = integration.send(delivery)
    except PlatformError as error:
        logger.warning(
            "delivery %s to %s (app %s) failed: %s", delivery.id, delivery.client.platform,
            delivery.message.app_id, error.message,
        )
        if error.permanent or delivery.attempts >= settings.PARLEY_DELIVERY_MAX_ATTEMPTS:
            if not error.permanent:
                error.message = f"{error.message} (gave up after {delivery.attempts} attempts)"
            fail(delivery, error.as_json(), token=token)
        else:
            retry_later(delivery, error, token=token)
        return True
    except Exception as error:  # a bug or an unexpected answer: retry, bounded
        logger.exception("delivery %s: unexpected error", delivery.id)
        retry_later(delivery, PlatformError(f"internal error: {type(error).__name__}",
                                            permanent=False, code="internal"), token=token)
        return True
    mark_sent(delivery, platform_id, token=token)
    return True


def _event_detail(delivery, **extra) -> dict:
    return {
        "deliveryId": delivery.id,
        "messageId": delivery.message_id,
        "clientId": delivery.client_id,
        "platform": delivery.client.platform,
        "purpose": delivery.purpose,
        "notify": delivery.notify,
        "attempts": delivery.attempts,
        **extra,
    }


def _webhook_extra(delivery, **extra) -> dict:
    destination = {"type": delivery.client.platform}
    if delivery.client.integration_id:
        destination["integrationId"] = delivery.client.integration_id
    return {
        "destination": destination,
        "messages": [message_json(delivery.message)],
        "timestamp": round(timezone.now().timestamp(), 3),
        **extra,
    }


def _still_queued(delivery, token: str | None):
    """The delivery's row while it is queued (and, with a token, still
    claimed by this worker): updating it is how one caller wins."""
    rows = Delivery.objects.filter(id=delivery.id, state=DeliveryState.QUEUED)
    return rows if token is None else rows.filter(claimed_by=token)


def mark_sent(delivery, platform_id: str, *, token: str | None = None) -> bool:
    """queued -> sent (conditional: only one caller wins) + delivery:success."""
    now = timezone.now()
    rows = _still_queued(delivery, token)
    with transaction.atomic():
        if not rows.update(state=DeliveryState.SENT, sent_at=now, platform_message_id=platform_id or "",
                           claimed_until=None, claimed_by="", error=None):
            return False
        delivery.state, delivery.sent_at = DeliveryState.SENT, now
        announce_sent(delivery)
    return True


def announce_sent(delivery) -> None:
    """delivery:success for a delivery just stored as sent (in its transaction)."""
    events.emit(
        "delivery:success",
        app=delivery.message.app,
        app_user=delivery.message.app_user,
        summary=f"Sent to {delivery.client.platform} ({delivery.purpose})",
        detail=_event_detail(delivery, state="sent"),
        webhook=_webhook_extra(delivery, isFinalEvent=False),
    )


def fail(delivery, error: dict, *, token: str | None = None) -> bool:
    now = timezone.now()
    rows = _still_queued(delivery, token)
    with transaction.atomic():
        if not rows.update(state=DeliveryState.FAILED, failed_at=now, error=error,
                           claimed_until=None, claimed_by=""):
            return False
        delivery.state, delivery.error = DeliveryState.FAILED, error
        events.emit(
            "delivery:failure",
            app=delivery.message.app,
            app_user=delivery.message.app_user,
            summary=f"Failed on {delivery.client.platform}: {error.get('message', '')}"[:500],
            detail=_event_detail(delivery, state="failed", error=error),
            webhook=_webhook_extra(
                delivery,
                isFinalEvent=True,
                error={"code": error.get("code", "platform_error"), "underlyingError": error},
            ),
        )
    return True


def retry_later(delivery, error: PlatformError, *, token: str) -> None:
    next_at = timezone.now() + claims.backoff(delivery.attempts, error.retry_after)
    with transaction.atomic():
        updated = Delivery.objects.filter(
            id=delivery.id, state=DeliveryState.QUEUED, claimed_by=token
        ).update(next_attempt_at=next_at, claimed_until=None, claimed_by="", error=error.as_json())
        if not updated:
            return
        events.emit(
            "delivery:retry",
            app=delivery.message.app,
            app_user=delivery.message.app_user,
            summary=f"Retrying {delivery.client.platform} after: {error.message}"[:500],
            detail=_event_detail(delivery, error=error.as_json(), nextAttemptAt=next_at.isoformat()),
        )
        background.enqueue_on_commit("send_deliveries", run_after=next_at)


def resend(delivery) -> Delivery:
    """Send a delivery again through its integration, as a new attempt on the
    same row (a failed one, or one the user says never arrived)."""
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(id=delivery.id).update(
            state=DeliveryState.QUEUED, next_attempt_at=now, claimed_until=None, claimed_by="",
            error=None, failed_at=None,
        )
        background.enqueue_on_commit("send_deliveries")
    delivery.refresh_from_db()
    return delivery
