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
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from queue import Empty, SimpleQueue
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

from messaging import background, events, metrics, outbound
from messaging.delivery import claims
from messaging.models import Webhook, WebhookAttempt, WebhookEvent, WebhookEventState

logger = logging.getLogger(__name__)

# The waits after attempts 1 to 5 (the reference's schedule); the sixth
# attempt is the last.
RETRY_DELAYS = (5, 30, 120, 600, 3600)
MAX_RETRY_AFTER = 3600
CLAIM = 100
# Claimed rows waiting for a lane, per run, at most.
MAX_WAITING = 4 * CLAIM
# A webhook whose last attempt succeeded faster than this may hold CLAIM rows.
HEALTHY_MS = 1000
FULL_LOOK_SECONDS = 1.0
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
    # For the metrics: delivered, answered_error, refused, unresolvable,
    # timeout, unreachable or internal_error.
    kind: str = "delivered"

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


def _snippet(response) -> str:
    """The answer's first characters, in the charset it names, else UTF-8
    (requests' `text` would guess one, which costs more than the request)."""
    data = response.content[:RESPONSE_SNIPPET * 4]
    try:
        return data.decode(response.encoding or "utf-8", errors="replace")[:RESPONSE_SNIPPET]
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", errors="replace")[:RESPONSE_SNIPPET]


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
        outcome.response = _snippet(response)
        if not 200 <= response.status_code < 300:
            outcome.kind = "answered_error"
            outcome.error = f"the target answered {response.status_code}"
            outcome.retry_after = _retry_after(response)
            outcome.permanent = response.status_code == 410
    except outbound.Refused as refused:
        outcome.kind, outcome.error, outcome.permanent = "refused", f"refused: {refused}", True
    except outbound.Unresolvable as error:
        outcome.kind, outcome.error = "unresolvable", f"could not resolve the target: {error}"
    except requests.Timeout:
        outcome.kind, outcome.error = "timeout", f"timed out after {settings.PARLEY_WEBHOOK_TIMEOUT_SECONDS:g}s"
    except requests.RequestException as error:
        outcome.kind, outcome.error = "unreachable", f"could not reach the target: {type(error).__name__}"
    except Exception as error:  # a bug: recorded as a failed attempt, retried
        logger.exception("webhook event %s: unexpected error", event.pk)
        outcome.kind, outcome.error = "internal_error", f"internal error: {type(error).__name__}"
    outcome.latency_ms = int((time.monotonic() - started) * 1000)
    metrics.WEBHOOK_ATTEMPTS.labels(outcome.kind).inc()
    return outcome


# The dispatcher.

class Dispatcher:
    """One run: this thread claims due rows and records outcomes; lanes
    post. A lane is a pool thread posting one webhook's claimed events one
    after another, in order, handing each outcome back; a webhook has at
    most PARLEY_WEBHOOK_IN_FLIGHT lanes, the pool PARLEY_WEBHOOK_CONCURRENCY
    threads. Lanes keep posting while a round is recorded, so one round
    records whatever finished meanwhile. A 410 stops its webhook's lanes at
    once; what the run claimed for it is given back unsent.

    A webhook holds at most its share of claimed rows (in flight and
    waiting): 2 x PARLEY_WEBHOOK_IN_FLIGHT until one of its attempts in this
    run succeeded within HEALTHY_MS, then CLAIM (until one fails or is slow),
    so a dead or slow target keeps a few rows and lanes while a fast one is
    not held back by claims; webhooks holding their share are left out of
    a claim. While lanes run, this thread looks for rows stored since it
    last looked every quarter of PARLEY_WORKER_INTERVAL (an idle worker
    looks for tasks every interval, so a slow target's requests do not make
    another webhook's new events wait longer), claims again at once for a
    webhook that had more due rows than its share when it runs low, and
    looks for every due row (retries fall due too) every FULL_LOOK_SECONDS.

    When the budget is spent the run gives back the rows it claimed and did
    not send, and ends once its lanes have; until then it goes on serving
    the healthy webhooks (see _serving), so a request hanging until its
    timeout delays nobody else's events.
    """

    def __init__(self, budget: float):
        self.deadline = time.monotonic() + budget
        self.token = claims.new_token()
        self.concurrency = settings.PARLEY_WEBHOOK_CONCURRENCY
        self.per_webhook = settings.PARLEY_WEBHOOK_IN_FLIGHT
        self.poll = settings.PARLEY_WORKER_INTERVAL / 4
        self.lock = threading.Lock()  # ready and lanes, shared with the lanes
        self.ready: dict[str, deque] = defaultdict(deque)  # claimed, not sent yet, per webhook
        self.lanes: dict[str, int] = defaultdict(int)
        self.sending: set[int] = set()  # the events the lanes are posting
        self.done: SimpleQueue = SimpleQueue()  # outcomes from the lanes
        self.healthy: set[str] = set()
        self.gone: set[str] = set()  # webhooks that answered 410 in this run: their lanes stop
        self.backlog: set[str] = set()  # webhooks that had more due rows than their share
        self.claim_at = 0.0  # the next look for every due row (monotonic)
        self.check_at = 0.0  # the next look for rows stored since `seen`
        self.seen = 0  # the newest row id when this run last looked
        self.attempts = 0
        self.renewed_at = time.monotonic()

    def run(self) -> int:
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="parley-webhook") as pool:
            while True:
                serving = self._serving()
                if serving is not None:  # the budget is spent
                    self._hand_over(keep=serving)
                if serving != set():
                    if self._idle() or self._wants_claim():
                        self._claim(only=serving)
                    self._open_lanes(pool)
                self._keep_claims()
                if self._idle() and self.done.empty():
                    break
                outcomes = self._collect(taking=serving != set())
                if outcomes:
                    for outcome in outcomes:
                        healthy = outcome.ok and outcome.latency_ms < HEALTHY_MS
                        (self.healthy.add if healthy else self.healthy.discard)(outcome.event.webhook_id)
                    record(outcomes, token=self.token)
                    self.attempts += len(outcomes)
                    # A 410 disabled its webhook: what this run claimed for
                    # it waits, unsent, until the webhook is enabled.
                    self._give_back({o.event.webhook_id for o in outcomes if o.status == 410})
        left = self._hand_over()
        if left or time.monotonic() >= self.deadline:
            background.enqueue("send_webhooks")
        return self.attempts

    def _serving(self) -> set[str] | None:
        """Which webhooks this run still takes work for: every one (None)
        within the budget; then, while requests to a webhook that is not
        healthy hold the run's end (for PARLEY_WEBHOOK_TIMEOUT_SECONDS at
        most), the healthy ones, so those requests delay no other webhook's
        events; then none."""
        now = time.monotonic()
        if now < self.deadline:
            return None
        with self.lock:
            slow = any(n for w, n in self.lanes.items() if w not in self.healthy)
        if slow and now < self.deadline + settings.PARLEY_WEBHOOK_TIMEOUT_SECONDS:
            return set(self.healthy)
        return set()

    def _idle(self) -> bool:
        with self.lock:
            return not any(self.lanes.values()) and not any(self.ready.values())

    def _collect(self, taking: bool) -> list[Outcome]:
        """The outcomes the lanes handed back: waits for the first until
        the next look is due, then takes every other one there is."""
        timeout = self.poll
        if taking and self._waiting() < MAX_WAITING:  # else no claim is coming: no reason to wake early
            timeout = min(timeout, max(0.0, min(self.claim_at, self.check_at) - time.monotonic()))
        try:
            outcomes = [self.done.get(timeout=timeout)]
        except Empty:
            return []
        while True:
            try:
                outcomes.append(self.done.get_nowait())
            except Empty:
                return outcomes

    def _hand_over(self, keep: set[str] = frozenset()) -> int:
        """Give back the rows claimed but not sent, except those of the
        webhooks in `keep` (the budget ran out: another run takes them);
        returns how many."""
        return self._give_back([w for w in list(self.ready) if w not in keep])

    def _give_back(self, webhook_ids) -> int:
        """Release the claims on these webhooks' rows that wait unsent;
        returns how many."""
        left = []
        with self.lock:
            for webhook_id in webhook_ids:
                queue = self.ready.get(webhook_id)
                if queue:
                    left += [event.pk for event in queue]
                    queue.clear()
        if left:
            WebhookEvent.objects.filter(pk__in=left, claimed_by=self.token).update(claimed_until=None, claimed_by="")
        return len(left)

    def _share(self, webhook_id: str) -> int:
        return CLAIM if webhook_id in self.healthy else 2 * self.per_webhook

    def _held(self, webhook_id: str) -> int:
        return self.lanes[webhook_id] + len(self.ready[webhook_id])

    def _waiting(self) -> int:
        return sum(len(queue) for queue in self.ready.values())

    def _wants_claim(self) -> bool:
        if self._waiting() >= MAX_WAITING:
            return False
        now = time.monotonic()
        if now >= self.claim_at:
            return True
        if any(self._held(w) <= self._share(w) // 2 for w in self.backlog):
            return True
        if now >= self.check_at:
            self.check_at = now + self.poll
            newest = WebhookEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            if newest > self.seen:
                self.seen = newest
                return True
        return False

    def _claim(self, only: set[str] | None = None) -> None:
        """Claim due rows, in order, each webhook up to its share (of the
        webhooks in `only`, when given)."""
        limit = min(MAX_WAITING - self._waiting(), CLAIM)
        if limit <= 0:
            return
        with self.lock:
            if not any(self.lanes.values()) and not any(self.ready.values()):
                self.renewed_at = time.monotonic()  # every claim this run holds is new
            held = {w: self._held(w) for w in set(self.ready) | set(self.lanes)}
        full = {w for w, n in held.items() if n >= self._share(w)}
        now = timezone.now()
        taken, backlog = [], self.backlog & full
        with transaction.atomic():
            due = (WebhookEvent.objects.filter(**PENDING, next_attempt_at__lte=now, webhook__enabled=True)
                   .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                   .exclude(webhook_id__in=full).order_by("next_attempt_at", "id"))
            if only is not None:
                due = due.filter(webhook_id__in=only)
            rows = list(claims.locked(due)[:limit])
            for event in rows:
                if held.get(event.webhook_id, 0) < self._share(event.webhook_id):
                    taken.append(event)
                    held[event.webhook_id] = held.get(event.webhook_id, 0) + 1
                else:
                    backlog.add(event.webhook_id)
            if taken:
                WebhookEvent.objects.filter(id__in=[e.pk for e in taken]).update(
                    claimed_until=now + claims.lease(), claimed_by=self.token)
        self.backlog = backlog
        # A full batch that every webhook could take may have more behind it.
        more = len(rows) == limit and len(taken) == limit
        self.claim_at = time.monotonic() + (0 if more else FULL_LOOK_SECONDS)
        # Each webhook (its secrets decrypted) and its app are loaded once.
        webhooks = Webhook.objects.select_related("app").in_bulk({e.webhook_id for e in taken})
        with self.lock:
            for event in sorted(taken, key=lambda e: e.pk):
                event.webhook = webhooks[event.webhook_id]
                event.app = event.webhook.app
                self.ready[event.webhook_id].append(event)

    def _open_lanes(self, pool) -> None:
        with self.lock:
            running = sum(self.lanes.values())
            for webhook_id, queue in self.ready.items():
                if webhook_id in self.gone:
                    continue
                while running < self.concurrency and self.lanes[webhook_id] < min(self.per_webhook, len(queue)):
                    self.lanes[webhook_id] += 1
                    running += 1
                    pool.submit(self._lane, webhook_id)

    def _keep_claims(self) -> None:
        """Renew the leases of the rows this run holds (waiting or in
        flight) before half of one has passed: behind a slow target they may
        wait a while, and another worker must not take them meanwhile."""
        if time.monotonic() - self.renewed_at < claims.lease().total_seconds() / 2:
            return
        with self.lock:
            held = [event.pk for queue in self.ready.values() for event in queue] + list(self.sending)
        if held:
            claims.renew_many(WebhookEvent, held, pending_filter=PENDING, token=self.token)
        self.renewed_at = time.monotonic()

    def _lane(self, webhook_id: str) -> None:
        queue = self.ready[webhook_id]
        try:
            while True:
                with self.lock:
                    if not queue or webhook_id in self.gone:
                        self.lanes[webhook_id] -= 1
                        return
                    event = queue.popleft()
                    self.sending.add(event.pk)
                outcome = post(event)
                with self.lock:
                    self.sending.discard(event.pk)
                    if outcome.status == 410:  # Gone: the webhook is being disabled, nothing more goes
                        self.gone.add(webhook_id)
                self.done.put(outcome)
        except BaseException:  # post() never raises: a bug, but the run must still end
            with self.lock:
                self.lanes[webhook_id] -= 1
            raise
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
    claim; events with the same changes share one UPDATE), the webhooks'
    failure flags, and one log line per attempt."""
    with transaction.atomic(), events.batch():
        mine = WebhookEvent.objects.filter(id__in=[o.event.pk for o in outcomes], **PENDING)
        if token is not None:
            mine = mine.filter(claimed_by=token)
        # Locked: a webhook deleted meanwhile (webhook_config.delete_webhook
        # locks its events first) either waits for this round's rows or
        # leaves no event here to record against.
        held = set(mine.select_for_update().values_list("id", flat=True))
        kept = [o for o in outcomes if o.event.pk in held]
        if not kept:
            return
        WebhookAttempt.objects.bulk_create([
            WebhookAttempt(event=o.event, number=o.event.attempts + 1, at=o.at, status=o.status,
                           latency_ms=o.latency_ms, response=o.response, error=o.error[:500]) for o in kept])
        updates: dict[tuple, list[int]] = defaultdict(list)
        flags: dict[str, tuple[bool, datetime | None]] = {}  # webhook -> (cleared, failing since)
        wake = set()
        for outcome in kept:
            changes = _settle(outcome)
            updates[tuple(sorted(changes.items()))].append(outcome.event.pk)
            cleared, since = flags.get(outcome.event.webhook_id, (False, None))
            flags[outcome.event.webhook_id] = (True, None) if outcome.ok else (cleared, since or outcome.at)
            if changes.get("next_attempt_at"):
                wake.add(changes["next_attempt_at"])
        for changes, ids in updates.items():
            WebhookEvent.objects.filter(pk__in=ids).update(**dict(changes))
        for webhook_id, (cleared, since) in flags.items():
            # As if the round's outcomes were applied one by one: a success
            # clears the flag, the first failure after it sets it.
            rows = Webhook.objects.filter(pk=webhook_id)
            if since is None:
                rows.filter(failing_since__isnull=False).update(failing_since=None)
            elif cleared:
                rows.update(failing_since=since)
            else:
                rows.filter(failing_since__isnull=True).update(failing_since=since)
        for next_at in sorted(wake):
            background.enqueue_on_commit("send_webhooks", run_after=next_at)


def _settle(outcome: Outcome) -> dict:
    """What one attempt changes on its event (returned, for record() to
    store), with its log lines and, on 410, the webhook disabled."""
    event, webhook = outcome.event, outcome.event.webhook
    attempt = event.attempts + 1
    target = urlparse(webhook.target).netloc
    detail = {"webhookId": webhook.id, "eventId": event.pk, "trigger": event.trigger, "attempt": attempt,
              "status": outcome.status, "latencyMs": outcome.latency_ms, "error": outcome.error or None}
    summary = f"{event.trigger} to {target}: " + (outcome.error or f"{outcome.status}")
    released = {"claimed_until": None, "claimed_by": "", "attempts": attempt, "last_status": outcome.status,
                "last_error": outcome.error}
    if outcome.ok:
        events.emit("webhook:attempt", app=event.app, summary=summary, detail=detail)
        return {"state": WebhookEventState.DELIVERED, "delivered_at": outcome.at, **released}
    logger.warning("webhook %s (app %s) event %s: %s", webhook.id, event.app_id, event.pk, outcome.error)
    if outcome.status == 410:
        reason = f"the target answered 410 Gone on {outcome.at:%Y-%m-%d %H:%M} UTC"
        Webhook.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason=reason)
        events.emit("webhook:disabled", app=event.app, summary=f"Webhook to {target} disabled: {reason}",
                    detail={"webhookId": webhook.id, "reason": reason})
    tries = attempt - event.retry_base  # this schedule's attempts (a re-delivery starts another)
    if outcome.permanent or tries >= max_attempts():
        events.emit("webhook:attempt", app=event.app, summary=summary, detail=detail)
        events.emit("webhook:failure", app=event.app,
                    summary=f"Gave up on {event.trigger} to {target} after {tries} attempts: {outcome.error}",
                    detail=detail)
        return {"state": WebhookEventState.FAILED, **released}
    next_at = outcome.at + next_attempt_delay(tries, outcome.retry_after)
    events.emit("webhook:attempt", app=event.app, summary=summary,
                detail={**detail, "nextAttemptAt": next_at.isoformat()})
    return {"next_attempt_at": next_at, **released}
