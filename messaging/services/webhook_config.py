"""Webhook configuration through the API (POST/GET/PUT/DELETE /v1/webhooks).
Sending is messaging.webhooks' work; this only stores where and what."""

from django.db import transaction

from messaging.models import App, Webhook
from messaging.services.errors import NotFound


def webhooks_of(app: App):
    return Webhook.objects.filter(app=app).order_by("created_at", "id")


def get_webhook(app: App, webhook_id: str) -> Webhook:
    webhook = Webhook.objects.filter(app=app, id=webhook_id).first()
    if webhook is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return webhook


@transaction.atomic
def create_webhook(app: App, *, target: str, triggers: list[str]) -> Webhook:
    """A new webhook with a generated secret (sent as X-API-Key)."""
    return Webhook.objects.create(app=app, target=target, triggers=triggers)


@transaction.atomic
def update_webhook(webhook: Webhook, fields: dict) -> Webhook:
    for key, value in fields.items():
        setattr(webhook, key, value)
    if fields:
        webhook.save(update_fields=list(fields))
    return webhook


@transaction.atomic
def delete_webhook(webhook: Webhook) -> None:
    webhook.delete()
