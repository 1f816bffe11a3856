"""Messages of a conversation and their deliveries to clients."""

from django.db import models
from django.utils import timezone

from messaging.ids import new_id
from messaging.models.appusers import AppUser, Client
from messaging.models.apps import App


class Role(models.TextChoices):
    APP_USER = "appUser", "App user"
    APP_MAKER = "appMaker", "App maker"


class MessageType(models.TextChoices):
    TEXT = "text", "Text"
    IMAGE = "image", "Image"
    CAROUSEL = "carousel", "Carousel"
    LIST = "list", "List"
    LOCATION = "location", "Location"


class MessageQuerySet(models.QuerySet):
    def for_app(self, app):
        return self.filter(app=app)


class Message(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="messages")
    app_user = models.ForeignKey(AppUser, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    type = models.CharField(max_length=10, choices=MessageType.choices, default=MessageType.TEXT)
    text = models.TextField(blank=True)
    media_url = models.URLField(max_length=2000, blank=True)
    media_type = models.CharField(max_length=100, blank=True)
    actions = models.JSONField(default=list, blank=True)
    items = models.JSONField(default=list, blank=True)
    coordinates = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    payload = models.CharField(max_length=1000, blank=True)
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    avatar_url = models.URLField(max_length=2000, blank=True)
    # Where a user message came from: {"type": "web", "id": <client id>, ...}.
    source = models.JSONField(default=dict, blank=True)
    # The `destination` the business asked for, if any.
    destination = models.JSONField(null=True, blank=True)
    # Per channel type, a message in the platform's own format sent there
    # instead of the rendered one ({"whatsapp": {"payload": {...}}}); not
    # part of the message's JSON.
    override = models.JSONField(null=True, blank=True)
    # The targeting decisions taken for this message, in order: each a dict
    # {"rule", "clientId", "platform", "at", ...} (dashboard + log show them).
    decisions = models.JSONField(default=list, blank=True)
    received = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # The SDK frame's `ref` a user message was sent with: a re-sent frame
    # (ack lost, reconnect) finds the stored message instead of storing a
    # second one. Never part of the message JSON.
    client_ref = models.CharField(max_length=64, blank=True, default="")
    # A business message's author (services/authors.py): `author` is the
    # opaque `authorId` the wire shows, `author_name` what the dashboard
    # shows (a key's name, a member's name), both as they were when it was
    # sent. Empty on user messages, whose author is their app user.
    author = models.CharField(max_length=24, blank=True, default="")
    author_name = models.CharField(max_length=255, blank=True, default="")

    objects = MessageQuerySet.as_manager()

    class Meta:
        constraints = [
            # One message per client ref of a user; also the lookup of a
            # re-sent frame (app_user, client_ref).
            models.UniqueConstraint(
                fields=["app_user", "client_ref"],
                condition=~models.Q(client_ref=""),
                name="message_client_ref_once",
            ),
        ]
        indexes = [
            # Conversation history, paged by time (GET .../messages?before=).
            models.Index(fields=["app_user", "received"], name="message_history"),
            # Overview charts: an app's messages per day.
            models.Index(fields=["app", "received"], name="message_app_time"),
        ]

    def __str__(self):
        return f"{self.role} {self.type} {self.id}"


class Purpose(models.TextChoices):
    DESTINATION = "destination", "Destination"
    PREFERRED = "preferred", "Preferred channel"
    SILENT = "silent", "Silent copy"
    FAILOVER = "failover", "Failover"


class DeliveryState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One message to one client for one purpose, and how far it got."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="deliveries")
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED
    )
    # Silent copies are sent without a notification where the platform allows.
    notify = models.BooleanField(default=True)
    error = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a queued delivery may next be tried (backoff) and until when a
    # worker's claim on it holds (expired claims are swept and re-run).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The worker run holding the claim: a worker re-checks it (conditional
    # update) before each send, so an expired claim taken over by another
    # worker is never sent twice by the first.
    claimed_by = models.CharField(max_length=32, blank=True)
    platform_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "client", "purpose"], name="delivery_once_per_purpose"
            ),
        ]
        indexes = [
            # Workers claim due queued deliveries (SKIP LOCKED batches).
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="queued"),
                name="delivery_due",
            ),
            # Platform status callbacks find a delivery by the platform's id.
            models.Index(fields=["platform_message_id"], name="delivery_platform_id"),
        ]

    def __str__(self):
        return f"{self.message_id} -> {self.client_id} ({self.purpose}, {self.state})"
