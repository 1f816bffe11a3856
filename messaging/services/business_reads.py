"""The business side of "read": a member opened (or is watching) a
conversation. Drives the dashboard's unread markers: a user's messages
received after `AppUser.app_maker_last_read` are unread for the business.

When that read covers user messages the business had not read yet, the
user's SDK clients are told (`conversation:read:appMaker`, a `read` frame
with role appMaker: the widget marks the user's messages "Read"). It is not
Smooch's `conversation:read` webhook, which is about the app user reading.
Re-reading an already-read conversation (every dashboard refetch does)
tells nobody."""

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

import logging

from messaging import background, events
from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.wire import unix
from messaging.models import AppUser, Client, Message

logger = logging.getLogger(__name__)


def mark_read_by_business(app_user: AppUser) -> bool:
    """Move the business's read marker to now when the user has messages
    after it. Returns True when it did (the read was news), which fans out
    to the user's clients."""
    now = timezone.now()
    user_messages = Message.objects.filter(app_user=OuterRef("pk"), role="appUser")
    unread = Q(Exists(user_messages.filter(received__gt=OuterRef("app_maker_last_read")))) | Q(
        Q(app_maker_last_read__isnull=True) & Q(Exists(user_messages))
    )
    with transaction.atomic():
        # One conditional update: the request that moves the marker past
        # unread messages wins; concurrent or repeated reads match nothing
        # (and write nothing).
        news = AppUser.objects.filter(unread, pk=app_user.pk).update(app_maker_last_read=now)
        if news:
            app_user.app_maker_last_read = now
            events.emit(
                "conversation:read:appMaker",
                app=app_user.app,
                app_user=app_user,
                summary="The business read the conversation",
                detail={"role": "appMaker", "at": unix(now)},
            )
            if any(registry.integration_class(platform).marks_read for platform in
                   Client.objects.filter(app_user=app_user, active=True, pending=False)
                   .values_list("platform", flat=True).distinct()):
                background.enqueue_on_commit("send_platform_read", app_user.id)
    return bool(news)


def send_to_platforms(app_user_id: str) -> None:
    """The business read: tell the platforms that show it (Messenger's
    mark_seen, WhatsApp's read mark), on each of the user's clients there
    the user has written from. A failure is logged: a read mark is not
    worth a retry."""
    clients = (Client.objects.select_related("integration")
               .filter(app_user_id=app_user_id, active=True, pending=False, last_inbound_at__isnull=False))
    for client in clients:
        channel = registry.for_client(client)
        if not channel.marks_read or client.integration is None:
            continue
        try:
            channel.send_read(client)
        except PlatformError as error:
            logger.info("read mark to client %s failed: %s", client.id, error.message)


def with_business_unread(app_users):
    """Annotate `business_unread`: the user's messages the business has not
    read yet (one correlated count per listed user, over message_history)."""
    unread = (
        Message.objects.filter(app_user=OuterRef("pk"), role="appUser")
        .filter(Q(received__gt=OuterRef("app_maker_last_read")) | Q(app_user__app_maker_last_read__isnull=True))
        .order_by()
        .values("app_user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return app_users.annotate(business_unread=Coalesce(Subquery(unread), 0))
