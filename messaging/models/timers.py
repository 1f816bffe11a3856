"""Due timers: work that must happen at a time (a failover check, a typing
auto-stop), durable in the database rather than a delayed task.

One row per pending timer; the worker's scheduler claims due rows with a
lease (messaging.delivery.timers runs them) and deletes each in the
transaction of the work it did, so the table holds only what is still to
come. What a kind does lives with its handler, not here.
"""

from django.db import models
from django.utils import timezone


class Timer(models.Model):
    id = models.BigAutoField(primary_key=True)
    # What to do: a handler registered under this name ("failover", "typing").
    kind = models.CharField(max_length=32)
    # The id it is about (a message id, an app user id).
    subject = models.CharField(max_length=64)
    # Tells apart several pending timers of one subject (a failover chain's
    # step); "" when a subject has one timer of its kind.
    key = models.CharField(max_length=32, blank=True, default="")
    # Small JSON-able arguments for the handler (a step, a typing `until`).
    data = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField()
    # A worker's claim: held until claimed_until (a lease), by claimed_by
    # (its run's token). A killed worker's timers are due again once the
    # lease ends.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)
    # How many times its handler raised (retries back off, a bounded number).
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One pending timer per (kind, subject, key): scheduling again
            # moves it (an upsert) instead of adding a second one. Also the
            # lookup of a subject's timers (cancel, a read's failovers).
            models.UniqueConstraint(fields=["kind", "subject", "key"], name="timer_once"),
        ]
        indexes = [
            # The scheduler's due-claim query, several times a second per
            # worker: due_at <= now, unclaimed or lease over, oldest first
            # (SKIP LOCKED batches). No partial condition: a timer that has
            # fired is deleted, so every row is pending; the claim test runs
            # on the few due rows the range finds, and when nothing is due
            # the query reads one index page.
            models.Index(fields=["due_at", "id"], name="timer_due"),
        ]

    def __str__(self):
        return f"{self.kind} {self.subject} {self.key} at {self.due_at:%Y-%m-%d %H:%M:%S}"
