"""The wire shapes of Parley's objects: message, app user, client,
conversation, delivery, webhook, as the Smooch v1 API shows them. The REST
API, the webhook payloads and the SDK socket all send these, so the engine
owns them (messaging.api depends on this module, never the reverse).

Keys with no value are left out (generated Smooch clients reject `null` in
fields they treat as required)."""

import json
from datetime import datetime

from messaging.models import Membership


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def unix(value: datetime) -> float:
    return round(value.timestamp(), 3)


def compact(data: dict) -> dict:
    """Drop keys whose value is None (and empty strings for optional text)."""
    return {k: v for k, v in data.items() if v is not None and v != ""}


def message_json(message) -> dict:
    data = {
        "_id": message.id,
        # A user message's author is its user; a business message's is
        # the opaque id of the key or member that sent it (services/authors.py).
        "authorId": message.app_user_id if message.role == "appUser" else message.author or message.app_id,
        "role": message.role,
        "type": message.type,
        "name": message.name,
        "email": message.email,
        "avatarUrl": message.avatar_url,
        "text": message.text,
        "mediaUrl": message.media_url,
        "mediaType": message.media_type,
        "actions": message.actions or None,
        "items": message.items or None,
        "coordinates": message.coordinates,
        "metadata": message.metadata,
        "payload": message.payload,
        "source": message.source or None,
        "destination": message.destination,
        "received": unix(message.received),
    }
    return compact(data)


def source_json(client) -> dict:
    """Where a client's event came from (a message's `source`, a
    conversation's start or read): the channel, the client's `_id` and, for
    a platform's client, its integration."""
    return compact({"type": client.platform, "id": client.id, "integrationId": client.integration_id})


def conversation_json(app_user, *, inbox: bool = False) -> dict:
    """Smooch's conversation object. With `inbox` (for the business's own
    credentials, never an end user's: the assignee is a team member's
    email), also Parley's inbox fields: `status`, `snoozedUntil` (Unix
    seconds, only while snoozed) and `assigneeEmail` (only when assigned)."""
    data = {"_id": app_user.id, "unreadCount": app_user.unread_count}
    if inbox:
        data["status"] = app_user.status
        if app_user.status == "snoozed" and app_user.snoozed_until is not None:
            data["snoozedUntil"] = unix(app_user.snoozed_until)
        email = assignee_email(app_user)
        if email:
            data["assigneeEmail"] = email
    return data


def assignee_email(app_user) -> str | None:
    """The email of the member a conversation is assigned to: from the
    loaded assignee when the caller joined it, else one query."""
    if app_user.assignee_id is None:
        return None
    if app_user._meta.get_field("assignee").is_cached(app_user):
        return app_user.assignee.user.email
    return Membership.objects.filter(pk=app_user.assignee_id).values_list("user__email", flat=True).first()


def client_json(client) -> dict:
    return compact(
        {
            "id": client.external_id if client.platform in ("web", "ios", "android", "other") else client.id,
            "_id": client.id,
            "platform": client.platform,
            "integrationId": client.integration_id,
            "displayName": client.display_name,
            "active": client.active,
            "lastSeen": iso(client.last_seen),
            "linkedAt": iso(client.linked_at),
            "appVersion": client.app_version,
            "pushNotificationToken": client.push_token,
            "info": client.info or None,
            # Parley extension: the user's id there was not proven (email
            # from an address alone); left out when it was.
            "unverified": client.unverified or None,
        }
    )


def app_user_json(app_user, *, with_clients=True) -> dict:
    data = compact(
        {
            "_id": app_user.id,
            "userId": app_user.user_id,
            "givenName": app_user.given_name,
            "surname": app_user.surname,
            "email": app_user.email,
            "signedUpAt": iso(app_user.signed_up_at),
        }
    )
    data["properties"] = app_user.properties or {}
    data["conversationStarted"] = app_user.conversation_started
    data["credentialRequired"] = app_user.credential_required
    if with_clients:
        clients = list(app_user.clients.all())
        data["clients"] = [client_json(c) for c in clients if not c.pending]
        data["pendingClients"] = [client_json(c) for c in clients if c.pending]
    return data


def webhook_json(webhook) -> dict:
    """Smooch's webhook (`_id`, `triggers`, `secret`, `target`) plus
    Parley's Standard Webhooks `signingSecret`, `enabled`, and, when they
    apply, `disabledReason` and `failingSince`."""
    data = {
        "_id": webhook.id,
        "triggers": list(webhook.triggers or []),
        "secret": webhook.secret,
        "target": webhook.target,
        "signingSecret": webhook.signing_secret,
        "enabled": webhook.enabled,
    }
    if not webhook.enabled:
        data["disabledReason"] = webhook.disabled_reason
    data["failingSince"] = iso(webhook.failing_since)
    return compact(data)


def webhook_attempt_json(attempt) -> dict:
    return compact({
        "number": attempt.number,
        "at": iso(attempt.at),
        "status": attempt.status,
        "latencyMs": attempt.latency_ms,
        "response": attempt.response,
        "error": attempt.error,
    })


def webhook_event_json(event, attempts) -> dict:
    """A recorded webhook event (Parley extension): its state, every
    attempt made (oldest first, as given), the body sent, and `webhookId`,
    the Standard Webhooks `webhook-id` header every attempt carried."""
    return compact({
        "_id": str(event.pk),
        "trigger": event.trigger,
        "state": event.state,
        "createdAt": iso(event.created_at),
        "deliveredAt": iso(event.delivered_at),
        "nextAttemptAt": iso(event.next_attempt_at) if event.state == "pending" else None,
        "attempts": [webhook_attempt_json(attempt) for attempt in attempts],
        "payload": event.payload,
        "webhookId": event.message_id,
    })


def integration_json(integration) -> dict:
    """An integration as the integrations API returns it: Smooch's `_id`,
    `type`, `status` and `displayName`, the public properties and what the
    platform told (a bot's username, a phone number), never a secret; plus
    Parley's `inboundUrl`, the last error and the last inbound event."""
    return compact({
        **(integration.details or {}),
        "_id": integration.id,
        "type": integration.type,
        "status": integration.status,
        "displayName": integration.display_name,
        "inboundUrl": integration.inbound_url,
        "error": integration.error,
        "errorAt": iso(integration.error_at),
        "lastInboundAt": iso(integration.last_inbound_at),
        "createdAt": iso(integration.created_at),
    })


def delivery_json(delivery) -> dict:
    """A Parley extension (resend): one delivery of a message to a client."""
    return compact(
        {
            "_id": str(delivery.pk),
            "messageId": delivery.message_id,
            "clientId": delivery.client_id,
            "purpose": delivery.purpose,
            "state": delivery.state,
            "attempts": delivery.attempts,
        }
    )


def init_app_json(app, menu: dict | None = None) -> dict:
    """The `app` of POST /v1/init: Smooch's push metadata, plus (Parley
    extras for the widget) the branding of app.settings["widget"] and the
    app's persistent menu (`menu`, as GET /v1/menu shows it) when it has one."""
    widget = (app.settings or {}).get("widget") or {}
    data = {
        "_id": app.id,
        "name": widget.get("name") or app.name,
        "hasIcon": bool(widget.get("iconUrl")),
        "apnEnabled": False,
    }
    for key in ("iconUrl", "accentColor", "greeting"):
        value = widget.get(key)
        if isinstance(value, str) and value:
            data[key] = value
    if menu and menu.get("items"):
        data["menu"] = menu
    return data


# What a message frame drops first when it is too large for a socket
# (PARLEY_MAX_SOCKET_MESSAGE_BYTES), in this order; the text is cut last.
OVERSIZE_PARTS = ("metadata", "items", "actions", "payload", "avatarUrl", "name", "email")


def frame_size(frame: dict) -> int:
    """Bytes of `frame` as a socket sends it (json.dumps' defaults: ASCII)."""
    return len(json.dumps(frame))


def fit_frame(frame: dict, limit: int) -> dict | None:
    """`frame` as it may go on a socket of at most `limit` bytes a frame.

    A row stored before the input limits (or imported) may be larger than a
    socket takes (daphne and browsers close the socket on a frame over their
    limit: 1 MB in daphne), and a socket must never break on one message: a
    message (`message` of a message or ack frame) loses its oversize parts,
    named in `truncated`, the text cut last; a `ready` frame loses the
    user's `properties`. None when nothing can make it fit (the caller sends
    an error frame instead)."""
    if frame_size(frame) <= limit:
        return frame
    if isinstance(frame.get("message"), dict):
        message = dict(frame["message"])
        message["truncated"] = []
        fitted = {**frame, "message": message}
        for key in OVERSIZE_PARTS:
            if key in message:
                del message[key]
                message["truncated"].append(key)
                if frame_size(fitted) <= limit:
                    return fitted
        text = message.get("text")
        if isinstance(text, str):
            message["text"] = ""
            message["truncated"].append("text")
            room = limit - frame_size(fitted)
            # At most 12 bytes a code point as ASCII JSON (an astral
            # character is two \\uXXXX escapes), so this cut always fits.
            message["text"] = text[: max(0, room // 12)]
        return fitted if frame_size(fitted) <= limit else None
    if isinstance(frame.get("appUser"), dict) and "properties" in frame["appUser"]:
        fitted = {**frame, "appUser": {**frame["appUser"], "properties": {}, "truncated": ["properties"]}}
        return fitted if frame_size(fitted) <= limit else None
    return None
