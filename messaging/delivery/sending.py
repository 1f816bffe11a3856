"""Sending deliveries: claim due rows, call the integration, record the
outcome. queued -> sent (the platform accepted it: delivery:success), or
failed (delivery:failure, with the platform's error). Transient errors
(timeouts, 5xx, 429 + Retry-After) are retried with exponential backoff up
to PARLEY_DELIVERY_MAX_ATTEMPTS; permanent ones (4xx, no integration) fail
at once. A claimed batch is worked as one: one renewal, one load, a platform
call per row, and its outcomes recorded together (BatchRecorder)."""

import logging
import time
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, F, Value, When
from django.utils import timezone

from messaging import background, events
from messaging.delivery import claims, failover
from messaging.integrations import registry
from messaging.integrations.base import UNREACHABLE_CODES, PlatformError
from messaging.models import Client, Delivery, DeliveryState, Purpose
from messaging.services import integrations
from messaging.wire import message_json

logger = logging.getLogger(__name__)

QUEUED = {"state": DeliveryState.QUEUED}
# Rows claimed at once: a batch's claim, load and record cost about as much
# for 25 rows as for 10 (bench/failover.py: 2.6 against 3.9 ms of worker CPU
# per delivery), and several workers still share a burst batch by batch.
BATCH = 25
RUN_BUDGET_SECONDS = 20
# How long sent rows may wait unrecorded while the batch makes more calls
# (see BatchRecorder).
RECORD_WITHIN_SECONDS = 0.1


def run_due(budget: float = RUN_BUDGET_SECONDS) -> int:
    """Work due deliveries until none is left or the budget is spent."""
    return claims.drain(Delivery, pending_filter=QUEUED, limit=BATCH, budget=budget,
                        work_batch=_send_batch, requeue=partial(background.enqueue, "send_deliveries"))


def _send_batch(ids: list[int], token: str) -> int:
    """Work one claimed batch: renew its claims (counting the attempt) with
    one UPDATE, load what is still ours with one query, call the platform
    for each row, and record the outcomes together (BatchRecorder)."""
    claims.renew_many(Delivery, ids, pending_filter=QUEUED, token=token, attempts=F("attempts") + 1)
    renewed_at = time.monotonic()
    # The rows still ours in one query, with each one's message, app, user,
    # client and integration, and its attempts as renewed just now.
    loaded = Delivery.objects.select_related(
        "message__app", "message__app_user", "client__integration"
    ).filter(claimed_by=token, **QUEUED).in_bulk(ids)
    held = set(loaded)
    recorder = BatchRecorder(token)
    done = 0
    for index, delivery_id in enumerate(ids):
        if delivery_id not in held:
            continue  # the claim was lost (before the batch, or before a renewal)
        if time.monotonic() - renewed_at > claims.lease().total_seconds() / 2:
            # A slow batch: keep the rest of it before the lease runs out.
            recorder.flush()
            claims.renew_many(Delivery, ids[index:], pending_filter=QUEUED, token=token)
            renewed_at = time.monotonic()
            held = set(Delivery.objects.filter(id__in=ids[index:], claimed_by=token, **QUEUED)
                       .values_list("id", flat=True))
            if delivery_id not in held:
                continue
        recorder.before_call()
        delivery = loaded[delivery_id]
        recorder.add(delivery, *_call_platform(delivery))
        done += 1
    recorder.flush()
    return done


UNREACHABLE_REASONS = {
    "blocked": "the user blocked the bot",
    "opted_out": "the user opted out of messages (STOP); nothing is sent until they send START",
}


def _call_platform(delivery) -> tuple[str | None, PlatformError | None]:
    """The platform's id for the sent message, or the error (nothing is
    recorded here). A client the user made unreachable (blocked, opted out)
    fails without a platform call."""
    reason = delivery.client.unreachable
    if reason:
        return None, PlatformError(UNREACHABLE_REASONS.get(reason, reason), permanent=True, code=reason)
    integration = registry.for_client(delivery.client)
    try:
        return integration.send(delivery), None
    except PlatformError as error:
        logger.warning(
            "delivery %s to %s (app %s) failed: %s", delivery.id, delivery.client.platform,
            delivery.message.app_id, error.message,
        )
        return None, error
    except Exception as error:  # a bug or an unexpected answer: retry, bounded
        logger.exception("delivery %s: unexpected error", delivery.id)
        return None, PlatformError(f"internal error: {type(error).__name__}", permanent=False, code="internal")


class BatchRecorder:
    """The outcomes of a run's platform calls, recorded together: one
    transaction and one events.batch() (one log INSERT, one broadcast per
    group, the webhook events in one INSERT) for the sent rows, the
    failures and the retries. Until recorded, a sent row stays queued and
    claimed: if the run dies first its lease expires and it is sent again
    (at least once, as with a record per row). To bound what such a crash
    sends twice, what waits is recorded before the next platform call once
    RECORD_WITHIN_SECONDS have passed since the first waiting call began
    (with a slow platform: after every call)."""

    def __init__(self, token: str):
        self.token = token
        self.sent: list[tuple[Delivery, str]] = []
        self.errors: list[tuple[Delivery, PlatformError]] = []
        self.first_call_at: float | None = None

    def before_call(self) -> None:
        now = time.monotonic()
        if self.first_call_at is not None and now - self.first_call_at > RECORD_WITHIN_SECONDS:
            self.flush()
        if self.first_call_at is None:
            self.first_call_at = now

    def add(self, delivery, platform_id: str | None, error: PlatformError | None) -> None:
        if error is None:
            self.sent.append((delivery, platform_id))
        else:
            self.errors.append((delivery, error))

    def flush(self) -> None:
        sent, errors = self.sent, self.errors
        self.sent, self.errors, self.first_call_at = [], [], None
        if not sent and not errors:
            return
        with transaction.atomic(), events.batch():
            if sent:
                mark_sent_many(sent, token=self.token)
            for delivery, error in errors:
                if error.permanent or delivery.attempts >= settings.PARLEY_DELIVERY_MAX_ATTEMPTS:
                    if not error.permanent:
                        error.message = f"{error.message} (gave up after {delivery.attempts} attempts)"
                    fail(delivery, error.as_json(), token=self.token)
                else:
                    retry_later(delivery, error, token=self.token)


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


def mark_sent_many(sent: list[tuple[Delivery, str]], *, token: str | None = None) -> list[Delivery]:
    """queued -> sent for (delivery, platform id) pairs, each only while it
    is still queued (and, with a token, claimed by this run: a row another
    run took over is never marked twice), with one delivery:success each
    (in one events.batch()). Returns the deliveries marked."""
    now = timezone.now()
    by_id = {delivery.id: (delivery, platform_id) for delivery, platform_id in sent}
    # No savepoint: inside a run's recording transaction nothing is caught.
    with transaction.atomic(savepoint=False), events.batch():
        # Lock the rows this caller may still mark, then mark them with one
        # UPDATE (SQLite's IMMEDIATE transactions hold the write lock from
        # the start, so the read cannot go stale either).
        mine = Delivery.objects.filter(id__in=by_id, state=DeliveryState.QUEUED)
        if token is not None:
            mine = mine.filter(claimed_by=token)
        won = sorted(mine.select_for_update().values_list("id", flat=True))
        if not won:
            return []
        platform_ids = Case(*[When(id=i, then=Value(by_id[i][1] or "")) for i in won], output_field=CharField())
        Delivery.objects.filter(id__in=won).update(
            state=DeliveryState.SENT, sent_at=now, platform_message_id=platform_ids,
            claimed_until=None, claimed_by="", error=None)
        marked = []
        for i in won:
            delivery = by_id[i][0]
            delivery.state, delivery.sent_at = DeliveryState.SENT, now
            delivery.platform_message_id, delivery.error = by_id[i][1] or "", None
            announce_sent(delivery)
            marked.append(delivery)
    return marked


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


def fail(delivery, error: dict, *, token: str | None = None, rows=None) -> bool:
    """queued -> failed (or `rows`: the states a platform's late failure
    report may end), with delivery:failure. What the error says about the
    client or the integration is recorded too, and a preferred delivery's
    failure (permanent, or transient past its last retry) starts its
    failover at once (DESIGN.md rule 5)."""
    now = timezone.now()
    rows = _still_queued(delivery, token) if rows is None else rows
    with transaction.atomic(savepoint=False):
        if not rows.update(state=DeliveryState.FAILED, failed_at=now, error=error,
                           claimed_until=None, claimed_by=""):
            return False
        delivery.state, delivery.error = DeliveryState.FAILED, error
        _learn_from(delivery, error)
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


        if delivery.purpose == Purpose.PREFERRED:
            failover.check_many([(delivery.message_id, 0)],
                                reason=f"the preferred delivery failed: {error.get('message', '')}"[:300])
    return True


def _learn_from(delivery, error: dict) -> None:
    """A blocked bot or an opt-out marks the client unreachable; refused
    credentials put the integration in error."""
    code = error.get("code")
    client = delivery.client
    if code in UNREACHABLE_CODES and client.unreachable != code:
        Client.objects.filter(pk=client.pk).update(unreachable=code)
        client.unreachable = code
        events.emit("client:unreachable", app=delivery.message.app, app_user=delivery.message.app_user,
                    summary=f"{client.platform}: {UNREACHABLE_REASONS[code]}",
                    detail={"clientId": client.id, "platform": client.platform, "reason": code})
    elif code == "bad_credentials" and client.integration is not None:
        integrations.record_error(client.integration, PlatformError(error.get("message", ""), permanent=True,
                                                                    code=code))


def retry_later(delivery, error: PlatformError, *, token: str) -> None:
    next_at = timezone.now() + claims.backoff(delivery.attempts, error.retry_after)
    with transaction.atomic(savepoint=False):
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
