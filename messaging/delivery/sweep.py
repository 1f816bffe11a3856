"""The periodic sweep (run by the worker's scheduler thread, never as a
task): claims whose lease ended are released, and due work nobody has
claimed for a while gets a fresh task. It reads Parley's own rows only,
never the task backend's: a task a killed worker left RUNNING is simply
replaced (a duplicate task is a cheap no-op claim). Timers need no sweep:
the scheduler claims due timers itself, expired leases included.
Idempotent and safe from several workers at once (conditional updates)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging import background
from messaging.delivery import claims
from messaging.models import (
    Delivery,
    DeliveryState,
    PlatformEvent,
    PlatformEventState,
    WebhookEvent,
    WebhookEventState,
)

logger = logging.getLogger(__name__)

# Due work unclaimed for this long has no task coming (a task starts within
# the worker's poll interval of its enqueue).
STALE_DUE = timedelta(seconds=2)


def sweep() -> dict:
    now = timezone.now()
    queued = {"state": DeliveryState.QUEUED}
    # A disabled webhook's events wait for it to be enabled again.
    pending = {"state": WebhookEventState.PENDING, "webhook__enabled": True}
    inbound = {"state": PlatformEventState.PENDING}
    report = {
        "deliveries_released": claims.release_expired(Delivery, pending_filter=queued),
        "webhooks_released": claims.release_expired(WebhookEvent, pending_filter=pending),
        "inbound_released": claims.release_expired(PlatformEvent, pending_filter=inbound),
    }
    unclaimed = {"claimed_until__isnull": True, "next_attempt_at__lte": now - STALE_DUE}
    for model, filters, name in (
        (Delivery, queued, "send_deliveries"),
        (WebhookEvent, pending, "send_webhooks"),
        (PlatformEvent, inbound, "process_inbound"),
    ):
        if model.objects.filter(**filters, **unclaimed).exists():
            background.enqueue(name)
            report[f"{model._meta.model_name}_enqueued"] = True
    if any(v for v in report.values()):
        logger.info("sweep: %s", report)
    return report


def prune_webhook_events() -> int:
    """Finished webhook events older than the log retention go (the log
    keeps their webhook:attempt entries for as long)."""
    cutoff = timezone.now() - timedelta(days=settings.PARLEY_LOG_RETENTION_DAYS)
    deleted, _ = WebhookEvent.objects.filter(
        state__in=[WebhookEventState.DELIVERED, WebhookEventState.FAILED], created_at__lt=cutoff
    ).delete()
    return deleted
