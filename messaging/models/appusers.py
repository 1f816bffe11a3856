"""End users of an app and the clients (channels) they are reachable on."""

import zlib

from django.db import connections, models
from django.utils import timezone

from messaging.ids import new_id
from messaging.models.accounts import Membership
from messaging.models.apps import App, Integration
from messaging.models.inbox import ConversationStatus


class AppUserQuerySet(models.QuerySet):
    def for_app(self, app):
        return self.filter(app=app)

    def by_ref(self, app, ref: str) -> "AppUser | None":
        """The app user of `app` addressed by `_id` or by `userId` (Smooch
        allows both); a userId may look like an _id: the user whose _id it
        is comes first.

        Plain SQL through `raw()`: this lookup starts every API call about a
        user, and building it with the ORM cost four times the CPU (1.05 ms
        against 0.25 ms, measured in process on PostgreSQL)."""
        quote = connections[self.db].ops.quote_name
        return next(iter(self.raw(
            f"SELECT u.* FROM {quote(self.model._meta.db_table)} u"
            " WHERE u.app_id = %s AND (u.user_id = %s OR u.id = %s)"
            " ORDER BY CASE WHEN u.id = %s THEN 0 ELSE 1 END LIMIT 1",
            [app.pk, ref, ref, ref],
        )), None)


def visitor_name(app_user_id: str) -> str:
    """"Visitor 4821": a stable, readable name for an anonymous user, four
    digits from a CRC of the `_id` (the same id always gives the same name;
    two visitors may share one, so pages still show the `_id` beside it)."""
    return f"Visitor {zlib.crc32(str(app_user_id).encode()) % 10000:04d}"


class AppUser(models.Model):
    """An end user; one conversation with the business."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="app_users")
    user_id = models.CharField(max_length=255, null=True, blank=True)
    given_name = models.CharField(max_length=255, blank=True)
    surname = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    signed_up_at = models.DateTimeField(default=timezone.now)
    credential_required = models.BooleanField(default=False)
    conversation_started = models.BooleanField(default=False)
    # Conversation state (Smooch keeps one conversation per app user).
    unread_count = models.PositiveIntegerField(default=0)  # business messages unread by the user
    app_maker_last_read = models.DateTimeField(null=True, blank=True)
    app_user_last_read = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    # Business typing shown to the user until then (typing:start); cleared by
    # typing:stop, a business message or the auto-stop task.
    app_maker_typing_until = models.DateTimeField(null=True, blank=True)
    # The team's inbox (messaging.models.inbox explains why these live
    # here): open, snoozed until snoozed_until, or resolved; assigned to one
    # member of the app's team or to nobody. Changed through
    # messaging.services.inbox; a user message reopens (services.messages).
    status = models.CharField(max_length=10, choices=ConversationStatus.choices,
                              default=ConversationStatus.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # SET_NULL: a member who leaves (or whose account is deleted) leaves
    # their conversations unassigned, whichever way the row goes.
    assignee = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_conversations")
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppUserQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "user_id"],
                condition=models.Q(user_id__isnull=False),
                name="user_id_unique_per_app",
            ),
            # A snooze time exactly when snoozed.
            models.CheckConstraint(
                condition=(models.Q(status=ConversationStatus.SNOOZED, snoozed_until__isnull=False)
                           | (~models.Q(status=ConversationStatus.SNOOZED) & models.Q(snoozed_until__isnull=True))),
                name="appuser_snoozed_until",
            ),
        ]
        indexes = [
            # Dashboard user list: an app's users by latest activity.
            models.Index(fields=["app", "-last_activity_at"], name="appuser_app_activity"),
            # Inbox views All open / Snoozed / Resolved and their counts:
            # an app's conversations in one status by latest activity (the
            # id breaks ties, so pages are stable).
            models.Index(fields=["app", "status", "-last_activity_at", "-id"],
                         condition=models.Q(conversation_started=True), name="appuser_inbox_status"),
            # Inbox views Mine / Unassigned (open conversations of one
            # assignee, or of none) by latest activity.
            models.Index(fields=["app", "assignee", "-last_activity_at", "-id"],
                         condition=models.Q(conversation_started=True, status=ConversationStatus.OPEN),
                         name="appuser_inbox_assignee"),
        ]

    @property
    def full_name(self) -> str:
        """givenName and surname: the default `name` of the user's messages."""
        return f"{self.given_name} {self.surname}".strip()

    @property
    def display_name(self) -> str:
        """What people see for this user everywhere (inbox, Users, Log
        summaries): the name, else userId, else email, else a readable
        visitor name (an anonymous widget visitor has only a hex `_id`)."""
        return self.full_name or self.user_id or self.email or visitor_name(self.id)

    def __str__(self):
        return self.display_name


class Client(models.Model):
    """One channel an app user is reachable on: a widget session, a Messenger
    PSID, a Telegram chat, a phone number... `last_seen` drives targeting."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    app_user = models.ForeignKey(AppUser, on_delete=models.CASCADE, related_name="clients")
    # The channel type ("web", "messenger", "telegram", "twilio", ...).
    platform = models.CharField(max_length=20)
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.SET_NULL, related_name="clients"
    )
    # The platform's id for this user: device id, PSID, chat id, phone number.
    external_id = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    last_seen = models.DateTimeField(default=timezone.now)
    # When the user last wrote (or pressed a button) on this client's
    # platform; None until they do. Messenger's and WhatsApp's 24-hour
    # windows are counted from it.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The platform's id of the user's latest message there (WhatsApp marks
    # it read, and shows typing against it).
    last_inbound_ref = models.CharField(max_length=255, blank=True, default="")
    active = models.BooleanField(default=True)
    # A link requested but not yet confirmed by the user (pendingClients).
    pending = models.BooleanField(default=False)
    # Why nothing may be sent here: "blocked" (the user blocked the bot) or
    # "opted_out" (SMS STOP); "" while reachable. A delivery to such a client
    # fails at once without a platform call; the user's next message
    # ("START" for an opt-out) clears it.
    unreachable = models.CharField(max_length=16, blank=True, default="")
    push_token = models.CharField(max_length=512, blank=True)
    app_version = models.CharField(max_length=50, blank=True)
    info = models.JSONField(default=dict, blank=True)
    linked_at = models.DateTimeField(default=timezone.now)
    # Email: the per-conversation token of the Reply-To address
    # (reply+<token>@<replyDomain>), made when the first email goes out; a
    # reply to that address joins this client's conversation.
    reply_token = models.CharField(max_length=32, blank=True, default="")
    # The platform's id for the user was not proven (email: the From
    # address of a mail that carried no reply token). Such a client never
    # shares a conversation with a proven one (messaging.services.inbound).
    unverified = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app_user", "platform", "external_id"], name="client_once_per_user"
            ),
        ]
        indexes = [
            # Targeting: a user's live clients, most recently seen first.
            models.Index(
                fields=["app_user", "-last_seen"],
                condition=models.Q(active=True, pending=False),
                name="client_targeting",
            ),
            # Inbound platform webhooks resolve the sender by external id.
            models.Index(fields=["platform", "external_id"], name="client_external"),
            # An email reply finds its conversation by the Reply-To token.
            models.Index(fields=["reply_token"], condition=~models.Q(reply_token=""), name="client_reply_token"),
        ]

    def __str__(self):
        return f"{self.platform}:{self.external_id}"
