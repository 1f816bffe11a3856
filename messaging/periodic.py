"""Periodic work owned by the worker process, not by tasks.

A task stuck RUNNING in a killed worker could take a scheduling task down
with it, so the worker loop itself runs these jobs on their intervals. Each
job is idempotent and safe to run from several workers at once (conditional
updates, deletes by age). django-crontask was evaluated: it needs its own
scheduler process plus a lock, which the single-process `make run` lacks.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float  # seconds
    run: Callable[[], object]
    next_at: float = field(default=0.0)


def prune_task_results() -> int:
    """Delete finished task rows older than a day (the delivery rows keep
    what matters)."""
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted


def default_jobs() -> list[Job]:
    jobs = [Job("prune_task_results", 3600, prune_task_results)]
    for name, every, func in REGISTERED:
        jobs.append(Job(name, every, func))
    return jobs


# Other modules add their jobs here at import time: (name, seconds, callable).
REGISTERED: list[tuple[str, float, Callable[[], object]]] = []


def register(name: str, every: float):
    def decorator(func):
        REGISTERED.append((name, every, func))
        return func

    return decorator


class Scheduler:
    def __init__(self, jobs: list[Job]):
        self.jobs = jobs

    def run_due(self) -> None:
        now = time.monotonic()
        for job in self.jobs:
            if now < job.next_at:
                continue
            job.next_at = now + job.every
            try:
                job.run()
            except Exception:
                logger.exception("periodic job %s failed", job.name)
            finally:
                close_old_connections()
