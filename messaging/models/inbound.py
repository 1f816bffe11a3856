"""Inbound platform events, stored as they arrive and worked by the worker.

The inbound endpoint verifies a webhook, stores one row per platform event
and answers at once (platforms retry slow webhooks); the worker claims
pending rows with a lease (messaging.delivery.claims) and turns each into
messages, postbacks and delivery states (messaging.services.inbound). The
row's (integration, key) is unique: a platform event delivered twice (the
same Telegram update_id, Twilio MessageSid) is stored once. Rows are kept
PARLEY_INBOUND_KEEP_DAYS after they are worked, for that check and for
inspection, then pruned.
"""

from django.db import models
from django.utils import timezone

from messaging.models.apps import Integration


class PlatformEventState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PlatformEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="platform_events")
    # The platform's id for the event (RawEvent.key).
    key = models.CharField(max_length=200)
    payload = models.JSONField()
    state = models.CharField(max_length=8, choices=PlatformEventState.choices,
                             default=PlatformEventState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)
    error = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "key"], name="platform_event_once"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(state="pending"),
                         name="platform_event_due"),
            models.Index(fields=["received_at"], name="platform_event_age"),
        ]

    def __str__(self):
        return f"{self.integration_id}:{self.key} ({self.state})"
