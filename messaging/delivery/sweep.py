"""The periodic sweep (run by the worker's scheduler thread, never as a
task): claims whose lease ended are released, tasks left RUNNING by a killed
worker go back to READY, due work with no task in sight gets one, and
failover checks that raised (django-tasks-db marks them FAILED and never
retries) are run again while their message is unread, a bounded number of
times. Idempotent and safe from several workers at once (conditional
updates, decisions recorded under the message's row lock)."""

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging import periodic

logger = logging.getLogger(__name__)

STALE_DUE = timedelta(seconds=2)
# Failed failover checks older than this are left alone (their retries,
# 30 s to 2 min apart, are long over; finished task rows go after a day).
FAILOVER_RETRY_WINDOW = timedelta(hours=1)


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
    report["failovers_retried"] = retry_failed_failovers(now)
    if any(v for v in report.values()):
        logger.info("sweep: %s", report)
    return report


def retry_failed_failovers(now) -> int:
    """Count the recent FAILED check_failover tasks per (message, step) and
    let the failover module retry or give up. Returns how many were
    re-enqueued."""
    from django_tasks_db.models import DBTaskResult

    from messaging import tasks
    from messaging.delivery import failover

    failed = (
        DBTaskResult.objects.failed()
        .filter(task_path=tasks.check_failover.module_path, finished_at__gte=now - FAILOVER_RETRY_WINDOW)
        .values_list("args_kwargs", flat=True)
    )
    failures = Counter(key for key in map(_failover_args, failed) if key is not None)
    if not failures:
        return 0
    outcomes = failover.retry_failed(dict(failures))
    return sum(1 for outcome in outcomes.values() if outcome == "retry")


def _failover_args(args_kwargs) -> tuple[str, int] | None:
    """(message_id, step) of a check_failover task's arguments."""
    args = list((args_kwargs or {}).get("args") or [])
    kwargs = (args_kwargs or {}).get("kwargs") or {}
    message_id = args[0] if args else kwargs.get("message_id")
    step = args[1] if len(args) > 1 else kwargs.get("step", 0)
    if not isinstance(message_id, str) or not isinstance(step, int):
        return None
    return message_id, step


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
