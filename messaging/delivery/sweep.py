"""The periodic sweep (run by the worker's scheduler thread, never as a
task): claims whose lease ended are released, tasks left RUNNING by a killed
worker go back to READY, and due work with no task in sight gets one.
Idempotent and safe from several workers at once (conditional updates)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging import periodic

logger = logging.getLogger(__name__)

STALE_DUE = timedelta(seconds=2)


@periodic.register("sweep", settings.PARLEY_SWEEP_SECONDS)
def sweep() -> dict:
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from messaging import tasks
    from messaging.delivery import claims
    from messaging.models import Delivery, DeliveryState, WebhookEvent, WebhookEventState

    now = timezone.now()
    queued = {"state": DeliveryState.QUEUED}
    pending = {"state": WebhookEventState.PENDING}
    report = {
        "deliveries_released": claims.release_expired(Delivery, pending_filter=queued),
        "webhooks_released": claims.release_expired(WebhookEvent, pending_filter=pending),
    }
    cutoff = now - timedelta(seconds=settings.PARLEY_TASK_STUCK_SECONDS)
    report["tasks_requeued"] = DBTaskResult.objects.running().filter(started_at__lt=cutoff).update(
        status=TaskResultStatus.READY, started_at=None
    )
    unclaimed = {"claimed_until__isnull": True, "next_attempt_at__lte": now - STALE_DUE}
    waiting = set(
        DBTaskResult.objects.ready()
        .filter(task_path__in=[tasks.send_deliveries.module_path, tasks.send_webhooks.module_path])
        .values_list("task_path", flat=True)
        .distinct()
    )
    for model, filters, task_ in (
        (Delivery, queued, tasks.send_deliveries),
        (WebhookEvent, pending, tasks.send_webhooks),
    ):
        # Due work nobody claimed and no task ready to take it: a lost task.
        if task_.module_path not in waiting and model.objects.filter(**filters, **unclaimed).exists():
            task_.enqueue()
            report[f"{model._meta.model_name}_enqueued"] = True
    if any(v for v in report.values()):
        logger.info("sweep: %s", report)
    return report


@periodic.register("prune_webhook_events", 3600)
def prune_webhook_events() -> int:
    """Finished webhook events older than the log retention go (the log
    keeps their webhook:attempt entries for as long)."""
    from messaging.models import WebhookEvent, WebhookEventState

    cutoff = timezone.now() - timedelta(days=settings.PARLEY_LOG_RETENTION_DAYS)
    deleted, _ = WebhookEvent.objects.filter(
        state__in=[WebhookEventState.DELIVERED, WebhookEventState.FAILED], created_at__lt=cutoff
    ).delete()
    return deleted
