"""Due timers: schedule work for a time, durably, and run it when due.

A timer is a row (messaging.models.Timer): kind, subject, key, small JSON
data, due time and a claim lease. Each kind has a handler, registered here
by the module that owns it (failover checks, typing auto-stops; later a
channel's repeated typing action or a snoozed conversation waking reuse
it with a new kind). `schedule()` runs in the caller's transaction, so a
timer exists exactly when the change that wants it committed.

The worker's scheduler thread calls `run_due()` a few times a second. It
claims due timers in batches (`SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL, through messaging.delivery.claims: several workers take
different rows) and hands each kind its share of a batch in one
transaction that deletes the timers still claimed on this run's token:
the handlers' work and the timers' end commit together, so a timer fires
once. A killed worker's claimed timers are due again when their lease
(PARLEY_CLAIM_SECONDS) ends. The kinds register when messaging.delivery
is imported (its package imports the engine, which imports them).

A handler that raises leaves its timer in place: `attempts` grows and it is
due again after the kind's backoff (doubled each time), at most `retries`
times; then the timer is dropped and logged. The kind's `failed` hook sees
each failure (to record it where users look).

Lock order: a timer row before the rows its handler touches (a message, an
app user). Callers that take both (a read cancelling failovers) lock the
timers first too.
"""

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from django.db import transaction
from django.utils import timezone

from messaging import background
from messaging.delivery import claims
from messaging.models import Timer

logger = logging.getLogger(__name__)

# Timers claimed per round trip. A batch's enqueues (send_deliveries...)
# go out when it ends, so a small batch keeps what it wakes prompt.
BATCH = 50
# One run_due() stops after this long so the scheduler's other jobs run;
# the next tick goes on.
RUN_BUDGET_SECONDS = 5.0


@dataclass(frozen=True)
class Kind:
    name: str
    handle: Callable[[list[Timer]], object]
    retries: int
    backoff: timedelta
    # failed(timer, attempts, retry_at): called in the transaction that
    # records a failure; retry_at None means given up (the timer is gone).
    failed: Callable[[Timer, int, datetime | None], None] | None


KINDS: dict[str, Kind] = {}


def register(name: str, handle: Callable[[list[Timer]], object], *, retries: int = 3,
             backoff: timedelta = timedelta(seconds=30),
             failed: Callable[[Timer, int, datetime | None], None] | None = None) -> None:
    """Say what timers of kind `name` do when due: `handle(timers)` gets
    the due timers of a claimed batch (one or more) and runs in the
    transaction that deletes them."""
    KINDS[name] = Kind(name, handle, retries, backoff, failed)


def schedule(kind: str, subject: str, due_at: datetime, *, data: dict | None = None, key: str = "") -> None:
    """Make (kind, subject, key) due at `due_at`, in the caller's
    transaction. Scheduling it again moves it (new due time and data, a
    fresh retry count): one statement, idempotent."""
    if kind not in KINDS:
        raise LookupError(f"no timer kind {kind!r}")
    Timer.objects.bulk_create(
        [Timer(kind=kind, subject=subject, key=key, data=data or {}, due_at=due_at)],
        update_conflicts=True,
        unique_fields=["kind", "subject", "key"],
        update_fields=["data", "due_at", "claimed_until", "claimed_by", "attempts"],
    )


def cancel(kind: str, subject) -> list[Timer]:
    """Drop the pending timers of `kind` about `subject` (an id, or a
    queryset of ids) and return them, locked first: a timer whose handler
    is running is waited for and, once it fired, is not returned."""
    rows = Timer.objects.filter(kind=kind)
    rows = rows.filter(subject=subject) if isinstance(subject, str) else rows.filter(subject__in=subject)
    # Usually inside the caller's transaction: no savepoint round trips then.
    in_transaction = transaction.get_connection().in_atomic_block
    with nullcontext() if in_transaction else transaction.atomic():
        # In id order, as fire() locks a batch: two lockers never wait in a cycle.
        found = list(rows.select_for_update(of=("self",)).order_by("id"))
        if found:
            Timer.objects.filter(id__in=[t.id for t in found]).delete()
    return found


def run_due(limit: int = BATCH, budget: float = RUN_BUDGET_SECONDS) -> int:
    """Fire due timers in claimed batches until a batch is not full (all
    that was due is fired) or `budget` seconds are spent. Returns how many
    fired. Timers that fall due while a batch fires wait for the
    scheduler's next tick (messaging.periodic), to fire together: claimed as
    they trickle in, one or two a batch, deadlines spread at 67 a second
    (bench/failover.py --quick's rate) cost 10 ms of worker CPU each,
    against 3 ms when each tick fires what is due in one batch."""
    if not Timer.objects.filter(due_at__lte=timezone.now()).exists():
        return 0  # the common case: one indexed query
    token = claims.new_token()
    deadline = time.monotonic() + budget
    fired = 0
    while True:
        ids = claims.claim_batch(Timer, pending_filter={}, token=token, limit=limit, due_field="due_at")
        if not ids:
            return fired
        with background.coalesced():
            fired += fire(ids, token)
        if len(ids) < limit or time.monotonic() > deadline:
            return fired


def fire(ids: list[int], token: str) -> int:
    """Run the handlers of claimed timers, each kind's batch in one call,
    all in one transaction that deletes the timers still claimed on
    `token` (the others were cancelled, moved or taken over meanwhile):
    their work and their end commit together. A batch that raises is run
    again one timer at a time, so only the failing timer counts a failure.
    Returns how many fired."""
    try:
        with transaction.atomic():
            held = list(Timer.objects.select_for_update().filter(id__in=ids, claimed_by=token).order_by("id"))
            if not held:
                return 0
            Timer.objects.filter(id__in=[t.id for t in held]).delete()
            for name in sorted({t.kind for t in held}):
                kind = KINDS.get(name)
                if kind is None:
                    raise LookupError(f"no timer kind {name!r}")
                kind.handle([t for t in held if t.kind == name])
        return len(held)
    except Exception:
        if len(ids) > 1:
            logger.warning("a batch of %s timers failed: firing them one by one", len(ids), exc_info=True)
            return sum(fire([timer_id], token) for timer_id in ids)
        logger.exception("timer %s failed", ids[0])
        _failed(ids[0], token)
        return 0


def _failed(timer_id: int, token: str) -> None:
    """Count a failure: due again after a backoff, or dropped past the
    kind's retries (an unknown kind, a bug or a deploy mismatch, is
    retried like any failure and then dropped)."""
    with transaction.atomic():
        held = next(iter(Timer.objects.select_for_update().filter(id=timer_id, claimed_by=token)), None)
        if held is None:
            return
        kind = KINDS.get(held.kind)
        retries = kind.retries if kind else 3
        backoff = kind.backoff if kind else timedelta(seconds=30)
        held.attempts += 1
        if held.attempts > retries:
            Timer.objects.filter(id=held.id).delete()
            retry_at = None
            logger.error("timer %s (%s %s %s) gave up after %s failures",
                         held.id, held.kind, held.subject, held.key, held.attempts)
        else:
            retry_at = timezone.now() + backoff * 2 ** (held.attempts - 1)
            Timer.objects.filter(id=held.id).update(attempts=held.attempts, due_at=retry_at,
                                                    claimed_until=None, claimed_by="")
        if kind is not None and kind.failed is not None:
            try:
                with transaction.atomic():
                    kind.failed(held, held.attempts, retry_at)
            except Exception:
                # The count above stands: the retry (or the drop) still happens.
                logger.exception("timer %s: its failure hook failed", held.id)
