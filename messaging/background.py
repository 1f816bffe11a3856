"""Handing work to the task worker by task name, without importing the tasks.

messaging.tasks imports the engine (its tasks call it); the engine asks for
background work through this module, which imports nothing of Parley, so
the dependency runs one way. Each task registers itself here under its
function name when messaging.tasks is imported, which
MessagingConfig.ready() does in every process that runs Django.

The delivery, webhook-event and timer rows are the source of truth: a task
only claims due rows and works them, so a lost enqueue costs a delay (the
sweep re-enqueues due work) and a repeated one a no-op claim.
"""

import logging
import threading
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)

_tasks: dict = {}


def register(task):
    """Make a django.tasks Task known by its function name; returns it (a
    decorator under @task)."""
    _tasks[task.name] = task
    return task


def get(name: str):
    try:
        return _tasks[name]
    except KeyError:
        raise LookupError(f"no background task {name!r} (is messaging.tasks imported?)") from None


def enqueue(name: str, *args) -> None:
    """Enqueue now (outside any transaction's fate). Raises what the backend raises."""
    get(name).enqueue(*args)


def enqueue_on_commit(name: str, *args, run_after: datetime | None = None) -> None:
    """Enqueue once the current transaction commits (at once outside one).
    An enqueue that fails is logged, not raised: the rows are durable and
    the sweep re-enqueues due work. Inside coalesced(), equal requests made
    by transactions that committed go out once when the block ends."""
    task = get(name)  # an unknown name is a bug: raise it in the caller
    key = (name, args, run_after)
    held = getattr(_coalesced, "held", None)
    if held is not None:
        transaction.on_commit(partial(held.setdefault, key, None))
        return
    transaction.on_commit(partial(_enqueue, task, args, run_after))


_coalesced = threading.local()


@contextmanager
def coalesced():
    """Within the block (one thread), enqueue_on_commit requests are held
    and sent when it ends, each distinct (name, args, run_after) once: a
    run that works many rows, each in its own transaction, wakes
    send_deliveries once rather than once per row. A request whose
    transaction rolled back is not sent (its on_commit never ran). Nested
    blocks join the outer one."""
    if getattr(_coalesced, "held", None) is not None:
        yield
        return
    _coalesced.held = held = {}
    try:
        yield
    finally:
        _coalesced.held = None
        # A block left inside a transaction (a caller's atomic) sends once
        # that commits: on_commit callbacks run in order, after the holds.
        transaction.on_commit(partial(_flush, held))


def _flush(held: dict) -> None:
    for name, args, run_after in held:
        _enqueue(get(name), args, run_after)


def _enqueue(task, args, run_after) -> None:
    try:
        (task.using(run_after=run_after) if run_after is not None else task).enqueue(*args)
    except Exception:
        # The rows are durable; the sweep re-enqueues due work.
        logger.exception("could not enqueue %s", task.name)
