import signal
from functools import partial

from django.core.management.base import BaseCommand

from messaging.delivery import claims
from messaging.worker import make_worker, run_through_outages, start_scheduler_thread

# On SIGTERM the periodic job that runs (due timers, the sweep...) finishes
# before the process exits, within this bound.
SCHEDULER_STOP_SECONDS = 30


class Command(BaseCommand):
    help = "Run a Parley task worker (tasks + periodic jobs). Run as many as you like."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="poll interval in seconds")
        parser.add_argument("--worker-id", default=None)

    def handle(self, interval=None, worker_id=None, **options):
        worker = make_worker(interval, worker_id)
        # SIGTERM / SIGINT: django-tasks' worker finishes the task it runs
        # (a batch of deliveries sends or gives back each of its rows), then
        # leaves run(); a second signal ends the process at once.
        worker.configure_signals()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, partial(self.stopping, worker))
        thread, stop = start_scheduler_thread()
        self.stdout.write(f"worker {worker.worker_id} running")
        self.stdout.flush()
        try:
            run_through_outages(worker)
        finally:
            # The scheduler is a daemon thread: without this, exiting would
            # cut its job short and leave its claimed rows to their lease.
            stop.set()
            thread.join(SCHEDULER_STOP_SECONDS)
            self.stdout.write(f"worker {worker.worker_id} stopped")
            self.stdout.flush()

    @staticmethod
    def stopping(worker, signum, frame):
        # Batches end early (claims.STOPPING), then django-tasks' handler.
        claims.STOPPING.set()
        worker.shutdown(signum, frame)
