"""Background tasks (django.tasks on django-tasks-db). Arguments are ids;
each task reloads its rows and returns early when the work is already done.

The delivery and webhook-event rows are the source of truth: a task only
claims due rows and works them (messaging.delivery.claims), so a lost or
repeated task costs nothing but a no-op. Retries are scheduled by the code
(django-tasks-db never retries), delays use `.using(run_after=...)`.
"""

import logging
from datetime import datetime
from functools import partial

from django.db import transaction
from django.tasks import task

logger = logging.getLogger(__name__)


@task
def send_deliveries() -> int:
    """Send every due queued delivery (in claimed batches)."""
    from messaging.delivery.sending import run_due

    return run_due()


@task
def check_failover(message_id: str, step: int = 0) -> str:
    from messaging.delivery.failover import check

    return check(message_id, step)


@task
def send_platform_typing(client_id: str, state: str, name: str = "", avatar_url: str = "") -> None:
    from messaging.delivery.typing import send_to_platform

    send_to_platform(client_id, state, name, avatar_url)


@task
def typing_timeout(app_user_id: str, until: str) -> bool:
    from messaging.delivery.typing import stop_if_still_typing

    return stop_if_still_typing(app_user_id, until)


@task
def send_webhooks() -> int:
    """POST every due webhook event (in claimed batches)."""
    from messaging.webhooks.sender import run_due

    return run_due()


def enqueue_on_commit(task_, *args, run_after: datetime | None = None) -> None:
    """Enqueue once the current transaction commits (at once outside one)."""
    chosen = task_.using(run_after=run_after) if run_after is not None else task_
    transaction.on_commit(partial(_enqueue, chosen, args))


def _enqueue(task_, args) -> None:
    try:
        task_.enqueue(*args)
    except Exception:
        # The rows are durable; the sweep re-enqueues due work.
        logger.exception("could not enqueue %s", task_.name)


# The periodic sweep registers itself with the worker's scheduler.
from messaging.delivery import sweep as _sweep  # noqa: E402,F401

# The daily log pruning (manage.py prunelogs) registers itself too.
from messaging.services import logs as _logs  # noqa: E402,F401
