from django.core.management.base import BaseCommand

from messaging.worker import make_worker, start_scheduler_thread


class Command(BaseCommand):
    help = "Run a Parley task worker (tasks + periodic jobs). Run as many as you like."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="poll interval in seconds")
        parser.add_argument("--worker-id", default=None)

    def handle(self, interval=None, worker_id=None, **options):
        worker = make_worker(interval, worker_id)
        worker.configure_signals()
        start_scheduler_thread()
        self.stdout.write(f"worker {worker.worker_id} running")
        worker.run()
