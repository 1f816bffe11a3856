"""Writing a conversation: messages from either side, deletions, typing and
reads. Called by the REST API and by the SDK websocket consumer with
instances and validated values (see messaging.validators).

`post_message(app_user, *, role, fields, source=None, author=None)` is the
one way a message is stored: keep its signature stable.
"""

import logging
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from messaging import delivery, events
from messaging.models import (
    AppUser,
    Client,
    Delivery,
    DeliveryState,
    Integration,
    IntegrationStatus,
    Message,
    Webhook,
)
from messaging.services import authors, inbox
from messaging.services.errors import Conflict, NotFound, ServiceError
from messaging.validators import validate_message
from messaging.wire import message_json, unix

logger = logging.getLogger(__name__)

MESSAGE_FIELDS = frozenset(
    {
        "type", "text", "media_url", "media_type", "actions", "items", "coordinates",
        "metadata", "payload", "name", "email", "avatar_url", "destination", "override",
    }
)


def to_millis(value: datetime) -> datetime:
    """Message times are kept to the millisecond, the precision of the API's
    `received` (so `before`/`after` paging is exact)."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@transaction.atomic
def post_message(app_user: AppUser, *, role: str, fields: dict, source: dict | None = None,
                 author: authors.Author | None = None) -> Message:
    """Store a message of `app_user`'s conversation and fan it out.

    `fields` come from `validate_message` (model field names). `author`
    says who sent a business message (services/authors.py: an API key, a
    member); without one the app itself is its author. The first
    message starts the conversation (`conversation:start`); a business
    message counts as unread for the user and is handed to the delivery
    engine in this same transaction (its work starts after commit). The
    events of the message and its deliveries are logged with one INSERT and
    published together (events.batch)."""
    unknown = set(fields) - MESSAGE_FIELDS
    if unknown:
        raise ValueError(f"unknown message fields: {sorted(unknown)}")
    _check_payments(app_user, fields.get("actions") or [])
    now = to_millis(timezone.now())
    message = Message(
        app_id=app_user.app_id,
        app_user=app_user,
        role=role,
        source=source or {"type": "api"},
        received=now,
        **_authored(app_user, role, author),
        **{k: v for k, v in fields.items() if v is not None or k in ("metadata", "destination", "coordinates", "override")},
    )
    targets = None
    if role == "appMaker":
        # Targeted before the INSERT, which then carries the decisions; a
        # destination without a client fails here, before any write.
        targets = delivery.prepare(message)
    with events.batch() as batch:
        message.save(force_insert=True)
        started, has_webhooks, status = _touch_conversation(app_user, now, unread=1 if role == "appMaker" else 0)
        batch.app_has_webhooks(app_user.app_id, has_webhooks)

        who = events.user_ref(app_user)
        if started:
            events.emit(
                "conversation:start",
                app=app_user.app,
                app_user=app_user,
                summary=f"Conversation started with {app_user.display_name}",
                detail={"appUser": who, "source": message.source},
                webhook={"source": message.source, "timestamp": unix(now)},
            )
        side = "Business message to" if role == "appMaker" else "User message from"
        events.emit(
            f"message:{role}",
            app=app_user.app,
            app_user=app_user,
            summary=f"{side} {app_user.display_name} ({message.type})",
            detail={"message": message_json(message), "appUser": who},
        )
        if role == "appMaker":
            delivery.submit(message, targets)
        else:
            # A user writing again reopens a resolved or snoozed conversation.
            inbox.reopened_by_message(app_user, status, now=now)
    return message


def _authored(app_user: AppUser, role: str, author: authors.Author | None) -> dict:
    """The author fields of a new message: none on a user's own message
    (its author is the app user), else `author` or the app."""
    if role != "appMaker":
        return {}
    author = author or authors.for_app(app_user.app)
    return {"author": author.id, "author_name": author.name}


def _check_payments(app_user: AppUser, actions: list) -> None:
    """A `buy` action needs an active stripe integration on the app (400
    before anything is written). Asked here, not by the validator, so that
    validating a body never reads the database."""
    buy = next((i for i, action in enumerate(actions) if action.get("type") == "buy"), None)
    if buy is None:
        return
    if not Integration.objects.filter(app_id=app_user.app_id, type="stripe",
                                      status=IntegrationStatus.ACTIVE).exists():
        raise ServiceError(f"actions[{buy}]: buy actions need an active stripe integration on this app.")


def _touch_conversation(app_user: AppUser, now: datetime, *, unread: int) -> tuple[bool, bool, str]:
    """One UPDATE ... RETURNING: last activity, unread count (+1 for a
    business message) and conversation start, and whether the app has
    webhooks (read in this transaction, so the message's webhook events
    need no lookup of their own when it has none). Returns (whether this
    call started the conversation, whether the app has webhooks, the
    conversation's inbox status). The returned count is exact under
    concurrent posts (the row update is atomic), and the status is the
    row's latest: the UPDATE holds the row from here to commit, so a
    reopen decided on it cannot race an agent's change."""
    started = False
    if not app_user.conversation_started:
        started = bool(
            AppUser.objects.filter(pk=app_user.pk, conversation_started=False).update(
                conversation_started=True
            )
        )
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(AppUser._meta.db_table)} SET last_activity_at = %s,"
            " unread_count = unread_count + %s WHERE id = %s RETURNING unread_count,"
            f" EXISTS (SELECT 1 FROM {quote(Webhook._meta.db_table)} WHERE app_id = %s), status",
            [connection.ops.adapt_datetimefield_value(now), unread, app_user.pk, app_user.app_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"App user {app_user.pk} not found.")
    app_user.unread_count = row[0]
    app_user.last_activity_at = now
    app_user.conversation_started = True
    app_user.status = row[2]
    return started, bool(row[1]), row[2]


def messages_page(app_user: AppUser, *, before: datetime | None = None, after: datetime | None = None,
                  limit: int = 100):
    """Up to `limit` messages, oldest first: the latest ones, those strictly
    before `before`, or those strictly after `after`. Returns
    (messages, has_older, has_newer)."""
    qs = Message.objects.filter(app_user=app_user)
    if after is not None:
        rows = list(qs.filter(received__gt=after).order_by("received", "id")[: limit + 1])
        has_newer = len(rows) > limit
        rows = rows[:limit]
        has_older = bool(rows) and qs.filter(received__lt=rows[0].received).exists()
        if not rows:
            has_older = qs.filter(received__lte=after).exists()
        return rows, has_older, has_newer
    if before is not None:
        qs_range = qs.filter(received__lt=before)
    else:
        qs_range = qs
    rows = list(qs_range.order_by("-received", "-id")[: limit + 1])
    has_older = len(rows) > limit
    rows = rows[:limit][::-1]
    has_newer = before is not None and qs.filter(received__gte=before).exists()
    return rows, has_older, has_newer


@transaction.atomic
def delete_message(app_user: AppUser, message_id: str) -> None:
    deleted, _ = Message.objects.filter(app_user=app_user, id=message_id).delete()
    if not deleted:
        raise NotFound(f"Message {message_id} not found.")


@transaction.atomic
def delete_all_messages(app_user: AppUser) -> int:
    deleted, _ = Message.objects.filter(app_user=app_user).delete()
    AppUser.objects.filter(pk=app_user.pk).update(unread_count=0)
    app_user.unread_count = 0
    return deleted


@transaction.atomic
def mark_read(app_user: AppUser) -> None:
    """The user read the conversation (Smooch's "reset unread count"): the
    engine resets the count, marks deliveries read and cancels failovers."""
    delivery.conversation_read(app_user)


PING_TEXT = "This is a test message from {app}: this channel is linked."


def ping_channel(app_user: AppUser, channel: str, *, author=None) -> Message:
    """A test message from the business to the user on one channel (an
    integration type such as "telegram", or an integration's `_id`), sent
    as any business message is (stored, a `destination` delivery through
    the delivery engine). NotFound when the user has no live client there."""
    live = Client.objects.filter(app_user=app_user, active=True, pending=False)
    if live.filter(integration_id=channel).exists():
        destination = {"integrationId": channel}
    elif live.filter(platform=channel).exists():
        destination = {"integrationType": channel}
    else:
        raise NotFound(f"This user has no {channel} channel to ping.")
    body = {"role": "appMaker", "type": "text", "text": PING_TEXT.format(app=app_user.app.name),
            "destination": destination}
    return post_message(app_user, role="appMaker", fields=validate_message(body, role="appMaker", app_user=app_user),
                        author=author)


@transaction.atomic
def typing(app_user: AppUser, action: str, *, name: str = "", avatar_url: str = "") -> None:
    """typing:start / typing:stop from the business, to the preferred client
    (a ServiceError for any other action)."""
    delivery.send_typing(app_user, action, name=name, avatar_url=avatar_url)


@transaction.atomic
def resend(app_user: AppUser, delivery_id, *, message_id: str | None = None) -> Delivery:
    """Send a failed delivery of `app_user`'s conversation again, as a new
    attempt on the same row (the API's Parley extension and the dashboard's
    re-send button). NotFound unless the delivery is this user's (and of
    `message_id` when given); Conflict unless it failed."""
    try:
        pk = int(delivery_id)
    except (TypeError, ValueError):
        raise NotFound(f"Delivery {delivery_id} not found.")
    rows = Delivery.objects.select_for_update().filter(pk=pk, message__app_user=app_user)
    if message_id is not None:
        rows = rows.filter(message_id=message_id)
    row = rows.first()
    if row is None:
        of = f" of message {message_id}" if message_id is not None else ""
        raise NotFound(f"Delivery {delivery_id}{of} not found.")
    if row.state != DeliveryState.FAILED:
        raise Conflict(f"Only a failed delivery can be resent; this one is {row.state}.")
    return delivery.resend(row)
