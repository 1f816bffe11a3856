"""Sending the webhook outbox (messaging.webhooks.outbox): due rows are
claimed in batches and POSTed, after their events' transaction committed.

Each call is `POST target` with the Smooch webhook body, `X-API-Key: <the
webhook secret>`, a 10 s timeout. Failures are retried with exponential
backoff up to PARLEY_WEBHOOK_MAX_ATTEMPTS. The call goes through
messaging.outbound: targets on loopback/private addresses are refused
unless PARLEY_WEBHOOK_ALLOW_PRIVATE, and so is any address outside
PARLEY_OUTBOUND_ALLOW when it is set (a permanent failure). Every attempt
is logged (webhook:attempt), a final failure too (webhook:failure).
"""

import logging
from functools import partial
from urllib.parse import urlparse

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messaging import background, events, outbound
from messaging.delivery import claims
from messaging.models import WebhookEvent, WebhookEventState

logger = logging.getLogger(__name__)

TIMEOUT = 10
BATCH = 10
RUN_BUDGET_SECONDS = 20
PENDING = {"state": WebhookEventState.PENDING}


def run_due(budget: float = RUN_BUDGET_SECONDS) -> int:
    """Send due webhook events until none is left or the budget is spent."""
    return claims.drain(
        WebhookEvent, pending_filter=PENDING, limit=BATCH, budget=budget,
        work_batch=lambda ids, token: sum(1 for event_id in ids if send_one(event_id, token)),
        requeue=partial(background.enqueue, "send_webhooks"),
    )


def send_one(event_id: int, token: str) -> bool:

    if not claims.renew(WebhookEvent, event_id, pending_filter=PENDING, token=token,
                        attempts=F("attempts") + 1):
        return False
    row = WebhookEvent.objects.select_related("webhook", "app").get(id=event_id)
    webhook = row.webhook
    status, error, permanent = None, "", False
    try:
        response = outbound.post(
            webhook.target,
            json=row.payload,
            headers={"X-API-Key": webhook.secret, "Content-Type": "application/json",
                     "User-Agent": "Parley-Webhooks/1"},
            timeout=TIMEOUT,
            allow_private=settings.PARLEY_WEBHOOK_ALLOW_PRIVATE,
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"the target answered {status}"
    except outbound.Refused as refused:
        error, permanent = f"refused: {refused}", True
    except requests.Timeout:
        error = f"timed out after {TIMEOUT}s"
    except requests.RequestException as exc:
        error = f"could not reach the target: {type(exc).__name__}"
    now = timezone.now()
    summary = f"{row.trigger} to {urlparse(webhook.target).netloc}: " + (error or f"{status}")
    detail = {"webhookId": webhook.id, "eventId": row.id, "trigger": row.trigger,
              "attempt": row.attempts, "status": status, "error": error or None}
    with transaction.atomic():
        mine = WebhookEvent.objects.filter(id=row.id, claimed_by=token, **PENDING)
        if not error:
            mine.update(state=WebhookEventState.DELIVERED, delivered_at=now, last_status=status,
                        last_error="", claimed_until=None, claimed_by="")
            events.emit("webhook:attempt", app=row.app, summary=summary, detail=detail)
            return True
        logger.warning("webhook %s (app %s) event %s: %s", webhook.id, row.app_id, row.id, error)
        if permanent or row.attempts >= settings.PARLEY_WEBHOOK_MAX_ATTEMPTS:
            mine.update(state=WebhookEventState.FAILED, last_status=status, last_error=error,
                        claimed_until=None, claimed_by="")
            events.emit("webhook:attempt", app=row.app, summary=summary, detail=detail)
            events.emit("webhook:failure", app=row.app,
                        summary=f"Gave up on {row.trigger} to {urlparse(webhook.target).netloc}: {error}",
                        detail=detail)
        else:
            next_at = now + claims.backoff(row.attempts)
            mine.update(next_attempt_at=next_at, last_status=status, last_error=error,
                        claimed_until=None, claimed_by="")
            events.emit("webhook:attempt", app=row.app, summary=summary,
                        detail={**detail, "nextAttemptAt": next_at.isoformat()})
            background.enqueue_on_commit("send_webhooks", run_after=next_at)
    return True
