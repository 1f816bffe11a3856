from django.core.management.base import BaseCommand

from messaging.services.logs import PRUNE_BATCH, prune_logs


class Command(BaseCommand):
    help = (
        "Delete log entries older than each app's retention (app setting logRetentionDays, "
        "default PARLEY_LOG_RETENTION_DAYS), in batches. Idempotent; the worker also runs it daily."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=PRUNE_BATCH, help="rows deleted per transaction")

    def handle(self, batch, **options):
        result = prune_logs(batch=max(1, batch))
        total = sum(result.values())
        for app_id, count in sorted(result.items()):
            self.stdout.write(f"{app_id}: {count} deleted")
        self.stdout.write(f"{total} log entries deleted from {len(result)} apps.")
