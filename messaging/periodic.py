"""Periodic work owned by the worker process, not by tasks.

A task stuck RUNNING in a killed worker could take a scheduling task down
with it, so the worker's scheduler thread (messaging.worker) runs these jobs
on their intervals. The job list is explicit (default_jobs). Each job is
idempotent and safe to run from several workers at once (claimed rows,
conditional updates, deletes by age). django-crontask was evaluated: it
needs its own scheduler process plus a lock, which the single-process
`make run` lacks.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections

from messaging.delivery import sweep, timers
from messaging.services import inbound, logs

logger = logging.getLogger(__name__)

# How often each worker looks for due timers: the lateness target is p99
# <= 1 s, and an idle look is one indexed query.
TIMER_TICK_SECONDS = 0.2


@dataclass
class Job:
    name: str
    every: float  # seconds
    run: Callable[[], object]
    next_at: float = field(default=0.0)


def prune_task_results() -> None:
    """Finished task rows older than a day go, with django-tasks-db's own
    command (the delivery, webhook and timer rows keep what matters)."""
    call_command("prune_db_task_results", "--min-age-days=1", "--queue-name=*", verbosity=0)


def prune_logs() -> int:
    return sum(logs.prune_logs().values())


def default_jobs() -> list[Job]:
    return [
        Job("timers", TIMER_TICK_SECONDS, timers.run_due),
        Job("sweep", settings.PARLEY_SWEEP_SECONDS, sweep.sweep),
        Job("prune_webhook_events", 3600, sweep.prune_webhook_events),
        Job("prune_platform_events", 3600, inbound.prune),
        Job("prune_task_results", 3600, prune_task_results),
        Job("prunelogs", 24 * 3600, prune_logs),
    ]


class Scheduler:
    def __init__(self, jobs: list[Job]):
        self.jobs = jobs

    def run_due(self) -> float:
        """Run the jobs that are due; returns the seconds until the next one is."""
        for job in self.jobs:
            now = time.monotonic()
            if now < job.next_at:
                continue
            # From the start of the run: a long run is followed at once.
            job.next_at = now + job.every
            try:
                job.run()
            except Exception:
                logger.exception("periodic job %s failed", job.name)
            finally:
                close_old_connections()
        return max(0.0, min(job.next_at for job in self.jobs) - time.monotonic())
