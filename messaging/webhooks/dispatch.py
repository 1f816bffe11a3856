"""Turning events into webhook calls: an outbox row per matching webhook
(created in the event's transaction), sent by a task after commit.

Trigger matching follows Smooch: a webhook's triggers list exact triggers,
"message" (both message:appUser and message:appMaker) or "*" (all).
Each call is `POST target` with the Smooch webhook body, `X-API-Key: <the
webhook secret>`, a 10 s timeout. Failures are retried with exponential
backoff up to PARLEY_WEBHOOK_MAX_ATTEMPTS; targets on loopback/private
addresses are refused unless PARLEY_WEBHOOK_ALLOW_PRIVATE. Every attempt
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

from messaging import background
from messaging.delivery import claims
from messaging.webhooks import pinned
from messaging.models import Webhook, WebhookEvent, WebhookEventState

logger = logging.getLogger(__name__)

TIMEOUT = 10
BATCH = 10
RUN_BUDGET_SECONDS = 20
PENDING = {"state": WebhookEventState.PENDING}
ALIASES = {"message": {"message:appUser", "message:appMaker"}}


def matches(triggers, trigger: str) -> bool:
    for wanted in triggers or []:
        if wanted == "*" or wanted == trigger or trigger in ALIASES.get(wanted, ()):
            return True
    return False


def build_payload(app, trigger: str, event: dict, app_user=None, extra: dict | None = None) -> dict:
    from messaging.api.serializers import app_user_json

    payload = {"trigger": trigger, "app": {"_id": app.id}, "version": "v1.1"}
    if app_user is not None:
        payload["appUser"] = app_user_json(app_user)
    detail = event.get("detail") or {}
    if detail.get("message") and not (extra or {}).get("messages"):
        payload["messages"] = [detail["message"]]
    payload.update(extra or {})
    return payload


def on_event(app, trigger: str, event: dict, app_user=None, extra: dict | None = None) -> list:
    """Queue `event` for every webhook of `app` subscribed to `trigger`
    (inside the event's transaction; sending starts after commit)."""
    if getattr(app_user, "app_has_webhooks", None) is False:
        # Known from the query that loaded the user for this call (the API
        # annotates it): no webhook to look up.
        return []
    webhooks = [w for w in Webhook.objects.filter(app=app) if matches(w.triggers, trigger)]
    if not webhooks:
        return []
    payload = build_payload(app, trigger, event, app_user, extra)
    rows = WebhookEvent.objects.bulk_create(
        [WebhookEvent(app=app, webhook=w, trigger=trigger, payload=payload) for w in webhooks]
    )
    background.enqueue_on_commit("send_webhooks")
    return rows


def run_due(budget: float = RUN_BUDGET_SECONDS) -> int:
    """Send due webhook events until none is left or the budget is spent."""
    return claims.drain(
        WebhookEvent, pending_filter=PENDING, limit=BATCH, budget=budget,
        work_batch=lambda ids, token: sum(1 for event_id in ids if send_one(event_id, token)),
        requeue=partial(background.enqueue, "send_webhooks"),
    )


def send_one(event_id: int, token: str) -> bool:
    from messaging import events

    if not claims.renew(WebhookEvent, event_id, pending_filter=PENDING, token=token,
                        attempts=F("attempts") + 1):
        return False
    row = WebhookEvent.objects.select_related("webhook", "app").get(id=event_id)
    webhook = row.webhook
    status, error, permanent = None, "", False
    try:
        response = pinned.post(
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
    except pinned.Refused as refused:
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
