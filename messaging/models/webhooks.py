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
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sender claims due pending rows (SKIP LOCKED batches).
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhook_event_due",
            ),
        ]

    def __str__(self):
        return f"{self.trigger} -> {self.webhook_id} ({self.state})"
