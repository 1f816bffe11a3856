"""Sending the webhook outbox (messaging.webhooks.outbox): due rows are
claimed in batches and POSTed after their events' transaction committed.

Each attempt is `POST target` with the Smooch webhook body and
- `X-API-Key: <the webhook's secret>`, as Smooch sends it;
- Standard Webhooks' `webhook-id` (the event's, the same for every attempt
  and re-delivery: the receiver's idempotency key), `webhook-timestamp` and
  `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
  with the signing secret; during a rotation the previous secret's
  signature follows, space-separated);
with a 5-second timeout (PARLEY_WEBHOOK_TIMEOUT_SECONDS). Anything but a 2xx, or no answer, is tried again
after 5 s, 30 s, 2 min, 10 min and 1 h (six attempts in all), later when a
429 or 503 says so in `Retry-After`; 410 Gone disables the webhook. The call
goes through messaging.outbound: private targets are refused unless
PARLEY_WEBHOOK_ALLOW_PRIVATE, and the connection goes to the address that
was checked.

One run is a dispatcher: it claims due rows in batches, keeps at most
PARLEY_WEBHOOK_IN_FLIGHT requests in flight per webhook (a slow or dead
target holds its own slots, never another webhook's) on a pool of
PARLEY_WEBHOOK_CONCURRENCY threads, posts each webhook's events in the
order they were claimed (created, then due), and records the outcomes of
the requests that finished together (one transaction, one log INSERT).
Every attempt is a WebhookAttempt row and a `webhook:attempt` log line.
A killed worker loses nothing: its claimed rows come back when their lease
ends and are sent again (a receiver sees the same `webhook-id`).
"""

import json
import logging
import time
from collections import defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

import requests
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Signer

from messaging import background, events, outbound
from messaging.delivery import claims
from messaging.models import Webhook, WebhookAttempt, WebhookEvent, WebhookEventState

logger = logging.getLogger(__name__)

# The waits after attempts 1 to 5 (the reference's schedule); the sixth
# attempt is the last.
RETRY_DELAYS = (5, 30, 120, 600, 3600)
MAX_RETRY_AFTER = 3600
CLAIM = 50
RUN_BUDGET_SECONDS = 20
RESPONSE_SNIPPET = 500
PENDING = {"state": WebhookEventState.PENDING}


def max_attempts() -> int:
    return len(RETRY_DELAYS) + 1


def run_due(budget: float = RUN_BUDGET_SECONDS) -> int:
    """Send due webhook events until none is left or the budget is spent;
    returns how many attempts were made."""
    return Dispatcher(budget).run()


# What goes out.

def body_of(event: WebhookEvent) -> str:
    return json.dumps(event.payload, separators=(",", ":"))


def signature(webhook: Webhook, message_id: str, at: datetime, body: str) -> str:
    """The `webhook-signature` header: the signing secret's signature, then
    the previous secret's while a rotation runs."""
    signatures = [Signer(webhook.signing_secret).sign(message_id, at, body)]
    until = webhook.previous_signing_until
    if webhook.previous_signing_secret and until is not None and until > timezone.now():
        signatures.append(Signer(webhook.previous_signing_secret).sign(message_id, at, body))
    return " ".join(signatures)


def headers_for(event: WebhookEvent, body: str, at: datetime) -> dict:
    webhook = event.webhook
    return {
        "Content-Type": "application/json",
        "User-Agent": "Parley-Webhooks/1",
        "X-API-Key": webhook.secret,
        "webhook-id": event.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(webhook, event.message_id, at, body),
    }


@dataclass
class Outcome:
    event: WebhookEvent
    at: datetime
    status: int | None = None
    latency_ms: int = 0
    response: str = ""
    error: str = ""
    permanent: bool = False
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return not self.error


def _retry_after(response) -> float | None:
    """The wait a 429 or 503 asks for: `Retry-After` in seconds or as an
    HTTP date (RFC 9110 allows both), at most MAX_RETRY_AFTER."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - timezone.now()).total_seconds()
        except (TypeError, ValueError):  # not a date, or one without a zone
            return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def post(event: WebhookEvent) -> Outcome:
    """One attempt (in a pool thread): never raises."""
    at = timezone.now().replace(microsecond=0)
    outcome = Outcome(event=event, at=at)
    body = body_of(event)
    started = time.monotonic()
    try:
        response = outbound.post(event.webhook.target, data=body.encode(), headers=headers_for(event, body, at),
                                 timeout=settings.PARLEY_WEBHOOK_TIMEOUT_SECONDS,
                                 allow_private=settings.PARLEY_WEBHOOK_ALLOW_PRIVATE)
        outcome.status = response.status_code
        outcome.response = response.text[:RESPONSE_SNIPPET]
        if not 200 <= response.status_code < 300:
            outcome.error = f"the target answered {response.status_code}"
            outcome.retry_after = _retry_after(response)
            outcome.permanent = response.status_code == 410
    except outbound.Refused as refused:
        outcome.error, outcome.permanent = f"refused: {refused}", True
    except outbound.Unresolvable as error:
        outcome.error = f"could not resolve the target: {error}"
    except requests.Timeout:
        outcome.error = f"timed out after {settings.PARLEY_WEBHOOK_TIMEOUT_SECONDS:g}s"
    except requests.RequestException as error:
        outcome.error = f"could not reach the target: {type(error).__name__}"
    except Exception as error:  # a bug: recorded as a failed attempt, retried
        logger.exception("webhook event %s: unexpected error", event.pk)
        outcome.error = f"internal error: {type(error).__name__}"
    outcome.latency_ms = int((time.monotonic() - started) * 1000)
    return outcome


# The dispatcher.

class Dispatcher:
    def __init__(self, budget: float):
        self.deadline = time.monotonic() + budget
        self.token = claims.new_token()
        self.concurrency = settings.PARLEY_WEBHOOK_CONCURRENCY
        self.per_webhook = settings.PARLEY_WEBHOOK_IN_FLIGHT
        self.ready: dict[str, deque] = defaultdict(deque)  # claimed, not sent yet, per webhook
        self.busy: dict[str, int] = defaultdict(int)  # in flight, per webhook
        self.attempts = 0
        self.renewed_at = time.monotonic()

    def run(self) -> int:
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="parley-webhook") as pool:
            in_flight = {}
            while True:
                if time.monotonic() < self.deadline:
                    self._claim()
                self._keep_claims(in_flight)
                self._submit(pool, in_flight)
                if not in_flight:
                    break
                done, _ = wait(in_flight, timeout=1, return_when=FIRST_COMPLETED)
                outcomes = []
                for future in done:
                    event = in_flight.pop(future)
                    self.busy[event.webhook_id] -= 1
                    outcomes.append(future.result())
                if outcomes:
                    record(outcomes, token=self.token)
                    self.attempts += len(outcomes)
                    # A 410 disabled its webhook: what this run claimed for
                    # it waits, unsent, until the webhook is enabled.
                    for webhook_id in {o.event.webhook_id for o in outcomes if o.status == 410}:
                        self._release(self.ready.pop(webhook_id, ()))
        left = [event for queue in self.ready.values() for event in queue]
        self._release(left)  # the budget ran out with rows claimed: another run takes them
        if left or time.monotonic() >= self.deadline:
            background.enqueue("send_webhooks")
        return self.attempts

    def _release(self, claimed) -> None:
        ids = [event.pk for event in claimed]
        if ids:
            WebhookEvent.objects.filter(pk__in=ids, claimed_by=self.token).update(claimed_until=None, claimed_by="")

    def _waiting(self) -> int:
        return sum(len(queue) for queue in self.ready.values())

    def _claim(self) -> None:
        """Claim due rows while fewer than a pool's worth wait, leaving out
        webhooks that already hold their share (in flight or waiting)."""
        room = 2 * self.concurrency - self._waiting()
        if room <= 0:
            return
        if not self._waiting() and not any(self.busy.values()):
            self.renewed_at = time.monotonic()  # every claim this run holds is new
        full = [w for w in set(self.ready) | set(self.busy)
                if self.busy[w] + len(self.ready[w]) >= 2 * self.per_webhook]
        now = timezone.now()
        with transaction.atomic():
            due = (WebhookEvent.objects.filter(**PENDING, next_attempt_at__lte=now, webhook__enabled=True)
                   .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                   .exclude(webhook_id__in=full).order_by("next_attempt_at", "id"))
            ids = claims.lock_due(due, min(room, CLAIM))
            if not ids:
                return
            WebhookEvent.objects.filter(id__in=ids).update(claimed_until=now + claims.lease(),
                                                           claimed_by=self.token)
        for event in WebhookEvent.objects.select_related("webhook", "app").filter(id__in=ids).order_by("id"):
            self.ready[event.webhook_id].append(event)

    def _keep_claims(self, in_flight: dict) -> None:
        """Renew the leases of the rows this run holds (waiting or in
        flight) before half of one has passed: behind a slow target they may
        wait a while, and another worker must not take them meanwhile."""
        if time.monotonic() - self.renewed_at < claims.lease().total_seconds() / 2:
            return
        held = [event.pk for queue in self.ready.values() for event in queue]
        held += [event.pk for event in in_flight.values()]
        if held:
            claims.renew_many(WebhookEvent, held, pending_filter=PENDING, token=self.token)
        self.renewed_at = time.monotonic()

    def _submit(self, pool, in_flight: dict) -> None:
        for webhook_id, queue in self.ready.items():
            while queue and self.busy[webhook_id] < self.per_webhook and len(in_flight) < self.concurrency:
                event = queue.popleft()
                self.busy[webhook_id] += 1
                in_flight[pool.submit(_in_thread, event)] = event


def _in_thread(event: WebhookEvent) -> Outcome:
    try:
        return post(event)
    finally:
        close_old_connections()


# Recording.

def next_attempt_delay(attempt: int, retry_after: float | None) -> timedelta:
    """The wait after attempt number `attempt` (1-based)."""
    seconds = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
    if retry_after is not None:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def record(outcomes: list[Outcome], *, token: str | None = None) -> None:
    """Store what the attempts of one round did, together: their attempt
    rows, each event's new state (only while this run still holds its
    claim), the webhooks' failure flags, and one log line per attempt."""
    with transaction.atomic(), events.batch():
        mine = WebhookEvent.objects.filter(id__in=[o.event.pk for o in outcomes], **PENDING)
        if token is not None:
            mine = mine.filter(claimed_by=token)
        held = set(mine.values_list("id", flat=True))
        kept = [o for o in outcomes if o.event.pk in held]
        WebhookAttempt.objects.bulk_create([
            WebhookAttempt(event=o.event, number=o.event.attempts + 1, at=o.at, status=o.status,
                           latency_ms=o.latency_ms, response=o.response, error=o.error[:500]) for o in kept])
        for outcome in kept:
            _settle(outcome)


def _settle(outcome: Outcome) -> None:
    event, webhook = outcome.event, outcome.event.webhook
    attempt = event.attempts + 1
    rows = WebhookEvent.objects.filter(pk=event.pk)
    target = urlparse(webhook.target).netloc
    detail = {"webhookId": webhook.id, "eventId": event.pk, "trigger": event.trigger, "attempt": attempt,
              "status": outcome.status, "latencyMs": outcome.latency_ms, "error": outcome.error or None}
    summary = f"{event.trigger} to {target}: " + (outcome.error or f"{outcome.status}")
    released = {"claimed_until": None, "claimed_by": "", "attempts": attempt, "last_status": outcome.status,
                "last_error": outcome.error}
    if outcome.ok:
        rows.update(state=WebhookEventState.DELIVERED, delivered_at=outcome.at, **released)
        Webhook.objects.filter(pk=webhook.pk, failing_since__isnull=False).update(failing_since=None)
        events.emit("webhook:attempt", app=event.app, summary=summary, detail=detail)
        return
    logger.warning("webhook %s (app %s) event %s: %s", webhook.id, event.app_id, event.pk, outcome.error)
    Webhook.objects.filter(pk=webhook.pk, failing_since__isnull=True).update(failing_since=outcome.at)
    if outcome.status == 410:
        reason = f"the target answered 410 Gone on {outcome.at:%Y-%m-%d %H:%M} UTC"
        Webhook.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason=reason)
        events.emit("webhook:disabled", app=event.app, summary=f"Webhook to {target} disabled: {reason}",
                    detail={"webhookId": webhook.id, "reason": reason})
    tries = attempt - event.retry_base  # this schedule's attempts (a re-delivery starts another)
    if outcome.permanent or tries >= max_attempts():
        rows.update(state=WebhookEventState.FAILED, **released)
        events.emit("webhook:attempt", app=event.app, summary=summary, detail=detail)
        events.emit("webhook:failure", app=event.app,
                    summary=f"Gave up on {event.trigger} to {target} after {tries} attempts: {outcome.error}",
                    detail=detail)
        return
    next_at = outcome.at + next_attempt_delay(tries, outcome.retry_after)
    rows.update(next_attempt_at=next_at, **released)
    events.emit("webhook:attempt", app=event.app, summary=summary,
                detail={**detail, "nextAttemptAt": next_at.isoformat()})
    background.enqueue_on_commit("send_webhooks", run_after=next_at)

