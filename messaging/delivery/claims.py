"""Claiming due rows (deliveries, webhook events, timers) for one worker run.

The rows are the source of truth. A run claims a small batch of due rows
(`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers take
different rows; SQLite serialises writers anyway) by stamping a lease
(`claimed_until`) and its token (`claimed_by`). Before acting on each row it
renews the lease with a conditional update on its token: if the lease
expired and another run took the row over, the update touches nothing and
the first run leaves it alone, so a row is never worked twice by runs that
are both alive. A run may renew a batch at once (renew_many), as long as it
renews again before half the lease has passed. A killed run's rows come back when their lease ends (the
sweep clears expired claims and re-enqueues).
"""

import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string


# Set when this process is asked to stop (a worker's SIGTERM): a run ends
# after the batch it works, handing the rest to a fresh task for another
# worker, so that stopping takes one batch, not a whole run's budget.
STOPPING = threading.Event()


def new_token() -> str:
    return get_random_string(24)


def lease() -> timedelta:
    return timedelta(seconds=settings.PARLEY_CLAIM_SECONDS)


def claim_batch(model, *, pending_filter: dict, token: str, limit: int,
                due_field: str = "next_attempt_at") -> list[int]:
    """Claim up to `limit` due rows of `model` that are unclaimed or whose
    lease ended; returns their ids. `due_field`: the row's due time."""
    now = timezone.now()
    with transaction.atomic():
        due = (
            model.objects.filter(**pending_filter, **{f"{due_field}__lte": now})
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by(due_field, "id")
        )
        ids = lock_due(due, limit)
        if ids:
            model.objects.filter(id__in=ids).update(claimed_until=now + lease(), claimed_by=token)
    return ids


def locked(due):
    """The queryset `due` locking its rows for the caller's transaction; on
    PostgreSQL rows another worker is claiming are skipped (SKIP LOCKED)."""
    if connection.vendor == "postgresql":
        return due.select_for_update(skip_locked=True, of=("self",))
    return due


def lock_due(due, limit: int) -> list[int]:
    """The ids of up to `limit` rows of the queryset `due` (due, unclaimed
    rows in order), locked (see locked())."""
    return list(locked(due).values_list("id", flat=True)[:limit])


def drain(model, *, pending_filter: dict, limit: int, budget: float, work_batch, requeue) -> int:
    """Claim due rows in batches and hand each batch to `work_batch(ids,
    token)` (which returns how many it finished) until none is due; past
    `budget` seconds (or once the process is STOPPING), `requeue()` hands
    over to a fresh task so one run never holds a worker for long. Returns
    how many rows were finished."""
    token = new_token()
    deadline = time.monotonic() + budget
    done = 0
    while True:
        ids = claim_batch(model, pending_filter=pending_filter, token=token, limit=limit)
        if not ids:
            return done
        done += work_batch(ids, token)
        if time.monotonic() > deadline or STOPPING.is_set():
            requeue()
            return done


def renew(model, row_id: int, *, pending_filter: dict, token: str, **changes) -> bool:
    """Keep the claim on one row for one more lease (and apply `changes`),
    only if this run still holds it and it is still pending."""
    updated = model.objects.filter(id=row_id, claimed_by=token, **pending_filter).update(
        claimed_until=timezone.now() + lease(), **changes
    )
    return updated == 1


def renew_many(model, row_ids, *, pending_filter: dict, token: str, **changes) -> int:
    """renew() for many rows with one conditional UPDATE; returns how many
    were renewed (read which with the same filter: a claim just renewed
    cannot be taken over before it expires)."""
    return model.objects.filter(id__in=list(row_ids), claimed_by=token, **pending_filter).update(
        claimed_until=timezone.now() + lease(), **changes
    )


def release_expired(model, *, pending_filter: dict) -> int:
    """Clear claims whose lease ended (their run died or stalled)."""
    return model.objects.filter(**pending_filter, claimed_until__lt=timezone.now()).update(
        claimed_until=None, claimed_by=""
    )


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff after the `attempts`-th failed try (1, 2, ...),
    never sooner than the platform's Retry-After, at most an hour."""
    seconds = settings.PARLEY_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    if retry_after:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=min(seconds, 3600))

