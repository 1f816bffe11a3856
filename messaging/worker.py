"""The task worker: django-tasks-db's worker loop plus Parley's periodic jobs.

`manage.py worker` runs it as its own process (scale-out); `manage.py serve`
runs it in threads inside daphne (embedded defaults), so the in-memory
channel layer reaches every socket. The periodic jobs, due timers among
them, run in a thread of the worker process, never as tasks (see
messaging.periodic).
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from messaging import outages, periodic

logger = logging.getLogger(__name__)


def make_worker(interval: float | None = None, worker_id: str | None = None) -> Worker:
    return Worker(
        queue_names=["*"],
        interval=settings.PARLEY_WORKER_INTERVAL if interval is None else interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id or get_random_string(32),
        excluded_queue_names=[],
    )


def run_scheduler(stop: threading.Event) -> None:
    """Run the periodic jobs (due timers every TIMER_TICK_SECONDS) until `stop`."""
    scheduler = periodic.Scheduler(periodic.default_jobs())
    try:
        while not stop.is_set():
            stop.wait(scheduler.run_due())
    finally:
        close_old_connections()


def start_scheduler_thread() -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run_scheduler, args=(stop,), name="parley-scheduler", daemon=True)
    thread.start()
    return thread, stop


# How long the worker loop waits before it looks again when the database
# (or Redis) was unavailable.
OUTAGE_PAUSE_SECONDS = 1.0


def run_through_outages(worker: Worker) -> None:
    """worker.run() until the worker is asked to stop, outlasting database
    and Redis outages: django-tasks-db's loop raises on a connection error
    (claiming a task, or recording one that failed on it), which would end
    the process; instead wait and run again. The task that was running
    stays RUNNING in the backend; its rows come back when their lease
    ends (delivery/sweep.py)."""
    while True:
        try:
            worker.run()
            return
        except outages.UNAVAILABLE:
            logger.warning("worker %s: database or Redis unavailable, trying again", worker.worker_id,
                           exc_info=True)
            try:
                close_old_connections()
            except outages.UNAVAILABLE:
                pass  # the broken connection is dropped all the same
            if not worker.running:
                return
            time.sleep(OUTAGE_PAUSE_SECONDS)


def _run_worker(worker: Worker) -> None:
    try:
        run_through_outages(worker)
    finally:
        close_old_connections()


def start_in_threads(interval: float | None = None) -> Worker:
    """The embedded setup: worker loop and scheduler as daemon threads."""
    worker = make_worker(interval)
    threading.Thread(target=_run_worker, args=(worker,), name="parley-worker", daemon=True).start()
    start_scheduler_thread()
    logger.info("in-process worker %s started", worker.worker_id)
    return worker
