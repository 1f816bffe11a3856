"""The webhook outbox: one row per event and webhook, sent by a task.

The rows are the source of truth (django-tasks-db never retries): a task
claims due pending rows, POSTs them, and schedules its own retries with
backoff; the periodic sweep re-queues rows whose claim expired.
"""

from django.db import models
from django.utils import timezone

from messaging.models.apps import App, Webhook


class WebhookEventState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_events")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="events")
    trigger = models.CharField(max_length=40)
    # Smooch's webhook body: {trigger, app: {_id}, appUser, messages, ...}.
    payload = models.JSONField()
    state = models.CharField(
        max_length=10, choices=WebhookEventState.choices, default=WebhookEventState.PENDING
    )
    # Attempts made in all; the retry schedule counts those since
    # `retry_base` (a re-delivery starts a fresh schedule, numbering goes on).
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_base = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    @property
    def message_id(self) -> str:
        """Standard Webhooks' `webhook-id`: the same for every attempt and
        re-delivery of this event (the receiver's idempotency key)."""
        return f"msg_{self.app_id}_{self.pk}"

    class Meta:
        indexes = [
            # The sender claims due pending rows (SKIP LOCKED batches).
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhook_event_due",
            ),
            # A webhook's events, newest first (the dashboard, GET .../events).
            models.Index(fields=["webhook", "-created_at"], name="webhook_event_recent"),
        ]

    def __str__(self):
        return f"{self.trigger} -> {self.webhook_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One POST of an event to its webhook's target, as it went."""

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()  # 1 for the first attempt
    at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no answer
    latency_ms = models.PositiveIntegerField(default=0)
    response = models.CharField(max_length=500, blank=True)  # the first bytes of the answer
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["event", "number"], name="webhook_attempt_event")]

    def __str__(self):
        return f"{self.event_id} #{self.number}: {self.status or self.error}"
