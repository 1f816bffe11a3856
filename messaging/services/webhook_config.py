"""Webhooks of an app, one service for the API (POST/GET/PUT/DELETE
/v1/webhooks and Parley's events, redeliver and test calls) and the
dashboard: where and what is sent, the secrets and their rotation, and
re-sending what a receiver missed. Sending is messaging.webhooks.sender's
work."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from messaging import background, events
from messaging.ids import new_token
from messaging.models import App, Membership, Webhook, WebhookEvent, WebhookEventState
from messaging.models.apps import new_signing_secret
from messaging.services import apps, audit
from messaging.services.audit import AuditAction
from messaging.services.errors import NotFound

# How long the previous signing secret keeps signing after a rotation, so
# receivers can switch to the new one without dropping a request.
ROTATION_OVERLAP = timedelta(hours=24)
TEST_TRIGGER = "webhook:test"


def check_acting(membership: Membership | None, app: App) -> None:
    """A dashboard member (membership given) must be an owner or admin of
    the app's team; API callers were authorised by their key's scope."""
    apps.check_acting(membership, app.team_id)


def webhooks_of(app: App):
    return Webhook.objects.filter(app=app).order_by("created_at", "id")


def needing_attention(app: App):
    """The app's webhooks that keep failing (every attempt since
    `failing_since` failed) or are disabled, oldest trouble first (the
    dashboard's overview flags them)."""
    return (webhooks_of(app).filter(Q(failing_since__isnull=False) | Q(enabled=False))
            .order_by(F("failing_since").asc(nulls_last=True), "created_at", "id"))


def get_webhook(app: App, webhook_id: str) -> Webhook:
    webhook = Webhook.objects.filter(app=app, id=webhook_id).first()
    if webhook is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return webhook


def _record(actor, action: str, webhook: Webhook, details: dict | None = None) -> None:
    """The webhook by id and target (without credentials a URL may carry),
    never its secrets."""
    audit.record(actor, team_id=webhook.app.team_id, action=action, target_kind="webhook", target_id=webhook.id,
                 target_label=audit.safe_url(webhook.target), app_id=webhook.app_id, details=details)


@transaction.atomic
def create_webhook(app: App, *, target: str, triggers: list[str], actor: audit.Actor = audit.SYSTEM) -> Webhook:
    """A new webhook with a generated secret (sent as X-API-Key)."""
    webhook = Webhook.objects.create(app=app, target=target, triggers=triggers)
    _record(actor, AuditAction.WEBHOOK_CREATE, webhook, {"triggers": list(triggers)})
    return webhook


@transaction.atomic
def update_webhook(webhook: Webhook, fields: dict, *, actor: audit.Actor = audit.SYSTEM) -> Webhook:
    """`fields` from validate_webhook; `enabled: True` enables a webhook a
    410 disabled (its waiting events go out again)."""
    fields = dict(fields)
    if fields.get("enabled") is True:
        fields["disabled_reason"] = ""
        background.enqueue_on_commit("send_webhooks")
    for key, value in fields.items():
        setattr(webhook, key, value)
    if fields:
        webhook.save(update_fields=list(fields))
        details = {"changed": sorted(fields)}
        if "enabled" in fields:
            details["enabled"] = bool(fields["enabled"])
        _record(actor, AuditAction.WEBHOOK_UPDATE, webhook, details)
    return webhook


@transaction.atomic
def rotate_secret(webhook: Webhook, *, actor: audit.Actor = audit.SYSTEM) -> Webhook:
    """A new X-API-Key secret, at once (Smooch has no overlap for it)."""
    webhook.secret = new_token()
    webhook.save(update_fields=["secret"])
    _record(actor, AuditAction.WEBHOOK_ROTATE_SECRET, webhook, {"secret": "apiKey"})
    return webhook


@transaction.atomic
def rotate_signing_secret(webhook: Webhook, *, actor: audit.Actor = audit.SYSTEM) -> Webhook:
    """A new signing secret; the old one signs too for ROTATION_OVERLAP
    (`webhook-signature` then carries both signatures)."""
    webhook.previous_signing_secret = webhook.signing_secret
    webhook.previous_signing_until = timezone.now() + ROTATION_OVERLAP
    webhook.signing_secret = new_signing_secret()
    webhook.save(update_fields=["signing_secret", "previous_signing_secret", "previous_signing_until"])
    _record(actor, AuditAction.WEBHOOK_ROTATE_SECRET, webhook, {"secret": "signing"})
    return webhook


def events_of(webhook: Webhook, *, state: str | None = None, since: datetime | None = None):
    """The webhook's recorded events, newest first."""
    rows = WebhookEvent.objects.filter(webhook=webhook).order_by("-created_at", "-id")
    if state:
        rows = rows.filter(state=state)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    return rows


def get_event(webhook: Webhook, event_id) -> WebhookEvent:
    """One of the webhook's events by id: NotFound for another webhook's, or
    for anything but a number a 64-bit id can hold."""
    text = str(event_id)
    valid = text.isascii() and text.isdigit() and len(text) <= 19 and int(text) < 2**63
    event = WebhookEvent.objects.filter(webhook=webhook, pk=int(text)).first() if valid else None
    if event is None:
        raise NotFound(f"Event {event_id} not found.")
    return event


def _send_again(rows) -> int:
    """Back to pending, due now, with a fresh retry schedule (the attempts
    already made stay recorded and numbering goes on; `webhook-id` stays
    the event's)."""
    count = rows.update(state=WebhookEventState.PENDING, next_attempt_at=timezone.now(), retry_base=F("attempts"),
                        claimed_until=None, claimed_by="")
    if count:
        background.enqueue_on_commit("send_webhooks")
    return count


@transaction.atomic
def redeliver(event: WebhookEvent) -> WebhookEvent:
    """Send one recorded event again (delivered or failed)."""
    _send_again(WebhookEvent.objects.filter(pk=event.pk))
    events.emit("webhook:redeliver", app=event.app, summary=f"Re-delivering {event.trigger} (event {event.pk})",
                detail={"webhookId": event.webhook_id, "eventIds": [event.pk]})
    event.refresh_from_db()
    return event


@transaction.atomic
def redeliver_failed_since(webhook: Webhook, since: datetime) -> int:
    """Send again every failed event of the webhook created since `since`
    (a receiver that was down catches up). Returns how many."""
    rows = WebhookEvent.objects.filter(webhook=webhook, state=WebhookEventState.FAILED, created_at__gte=since)
    ids = list(rows.values_list("id", flat=True))
    count = _send_again(WebhookEvent.objects.filter(pk__in=ids))
    events.emit("webhook:redeliver", app=webhook.app,
                summary=f"Re-delivering {count} failed event(s) since {since:%Y-%m-%d %H:%M} UTC",
                detail={"webhookId": webhook.id, "eventIds": ids[:1000], "count": count})
    return count


@transaction.atomic
def send_test_event(webhook: Webhook) -> WebhookEvent:
    """A `webhook:test` event to this webhook only, sent and recorded like
    any other (its attempts show on the webhook's page)."""
    now = timezone.now()
    event = WebhookEvent.objects.create(app=webhook.app, webhook=webhook, trigger=TEST_TRIGGER, payload={
        "trigger": TEST_TRIGGER, "app": {"_id": webhook.app_id}, "version": "v1.1",
        "webhook": {"_id": webhook.id}, "timestamp": round(now.timestamp(), 3),
    })
    background.enqueue_on_commit("send_webhooks")
    return event


@transaction.atomic
def delete_webhook(webhook: Webhook, *, actor: audit.Actor = audit.SYSTEM) -> None:
    with transaction.atomic():
        # The events are locked before the cascade: a worker recording an
        # attempt at one of them (messaging.webhooks.sender.record, which
        # locks them too) finishes first, or finds them gone. Without it an
        # attempt written between the cascade's two DELETEs broke the
        # event's foreign key (a 500, found by the fuzzer).
        list(WebhookEvent.objects.filter(webhook=webhook).select_for_update().values_list("id", flat=True))
        _record(actor, AuditAction.WEBHOOK_DELETE, webhook)
        webhook.delete()
