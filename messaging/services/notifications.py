"""The Notification API (Smooch's first-contact call): a first message, by
SMS or as a WhatsApp template, to someone who never wrote in. The app user whose client on the
integration has that phone number gets it; when there is none, the user and
the client are created (linked, not pending: the business chose to write to
that number). The message then takes the path of every business message
(messaging.services.messages.post_message) with the integration as its
destination, all in one transaction: a refused message stores no user."""

import logging

from django.db import transaction

from messaging import delivery, events, schemas
from messaging.integrations.registry import integration_class
from messaging.models import App, AppUser, Client, Integration, Message
from messaging.services.authors import Author
from messaging.services.errors import NotFound, ServiceError
from messaging.services.messages import post_message

logger = logging.getLogger(__name__)


@transaction.atomic
def post_notification(app: App, *, integration_id: str, phone_number: str, fields: dict,
                      author: Author | None = None) -> Message:
    """`fields` and `phone_number` come from validators.validate_notification.
    `author` is who sends it (services/authors.py). Returns the message
    stored (its `_id` names the notification)."""
    # Locked: two notifications to a new number on one integration create
    # one user, not two.
    integration = Integration.objects.select_for_update().filter(app=app, id=integration_id).first()
    if integration is None:
        raise NotFound(f"Integration {integration_id} not found.")
    if integration.type not in schemas.NOTIFICATION_CHANNELS:
        raise ServiceError(
            f"Integration {integration_id} is a {integration.type} integration: notifications go to a phone "
            f"number, through a {' or '.join(schemas.NOTIFICATION_CHANNELS)} integration."
        )
    if integration.type == "whatsapp" and not (fields.get("override") or {}).get("whatsapp"):
        # WhatsApp takes a first message only as an approved template.
        raise ServiceError("A notification on WhatsApp needs a template: give message.override.whatsapp.payload, "
                           "a Cloud API message of type template.")
    client = _client_for(app, integration, integration_class(integration.type).phone_external_id(phone_number))
    message = post_message(client.app_user, role="appMaker", fields=fields, author=author)
    logger.info("notification app=%s integration=%s message=%s", app.id, integration.id, message.id)
    return message


def _client_for(app: App, integration: Integration, phone_number: str) -> Client:
    """The client on `integration` with that phone number, linked and
    active (a pending link is confirmed, an inactive client re-activated),
    or a new one, of a new app user."""
    client = (Client.objects.select_related("app_user", "app_user__app")
              .filter(integration=integration, external_id=phone_number)
              .order_by("pending", "-active", "-last_seen").first())
    if client is not None and client.active and not client.pending:
        return client
    if client is None:
        app_user = AppUser.objects.create(app=app)
        events.emit("appUser:created", app=app, app_user=app_user, summary=f"User {app_user.id} created",
                    detail={"appUser": events.user_ref(app_user), "via": "notification"})
        client = Client(app_user=app_user, platform=integration.type, integration=integration,
                        external_id=phone_number, display_name=phone_number)
    client.active, client.pending = True, False
    client.save()
    app_user = client.app_user
    events.emit(
        "link:confirmed",
        app=app,
        app_user=app_user,
        summary=f"{integration.type} linked to {app_user.display_name} (notification)",
        detail={"appUser": events.user_ref(app_user), "client": {"_id": client.id, "platform": client.platform},
                "via": "notification"},
    )
    # Unread business messages that found no client when they were sent
    # go here too (as for any client that appears).
    delivery.client_appeared(client)
    return client
