"""The dashboard's live socket: /ws/dashboard/events/<app_id>/.

Session-authenticated (AuthMiddlewareStack, and only for Parley's own
pages: same scheme, host and port, dashboard/socket_origin.py). The socket
is refused unless `scope["user"]` is an active member of the app's team; it
then joins the app's group `app.<appId>` (and the member's own,
`member.<userId>`, to hear at once when their access goes) and
forwards each `parley.event` of the fan-out (several at once come as one
`parley.events`) as a small JSON frame to
static/dashboard/live.js, which refetches the server-rendered partials it
concerns (so every piece of text on screen is escaped by Django's templates;
the few strings the script shows itself go through textContent).

Live fragments (issue 15, item 6): a conversation page tells its socket
which conversation it shows (`{"type": "watch", "appUserId": ...}`, checked
to be a user of this app). For that user's message, delivery, failover,
note and postback events the frame then carries `html`: the rendered
`message`, `note` or `postback` partial of
templates/dashboard/live/conversation.html, which the page swaps in by id
(or appends). So a business send costs the page its one POST, and a user
message no request at all; the business read marker moves here, as the
page's refetch used to move it. Why not htmx's ws extension: the page
already holds this socket (status, reconnect with catch-up, notifications,
access re-checks); a second socket per page would double the connections
and the reconnect logic, so live.js swaps the fragment itself.
"""

import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from messaging import metrics
from messaging.events import app_group, member_group
from messaging.models import App, AppUser
from messaging.services.business_reads import mark_read_by_business

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4003
# The safety net: an open socket re-checks its member's access before
# forwarding an event, at most this often. Removing the member, deactivating
# or deleting the account or deleting the app closes it at once (a
# `parley.access` message to the member's or the app's group).
RECHECK_SECONDS = 30
# What the browser needs of an event's detail to decide what to refetch.
DETAIL_KEYS = ("messageId", "deliveryId", "state", "role", "clientId", "platform", "purpose")


def is_member(user, app_id: str) -> bool:
    """Whether `user` (as the socket's session found it) is still an active
    member of the app's team: read from the database, not from `user`."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return App.objects.filter(pk=app_id, team__memberships__user=user,
                              team__memberships__user__is_active=True).exists()


def frame_for(event: dict) -> dict:
    detail = event.get("detail") or {}
    frame = {
        "type": "event",
        "kind": event.get("kind"),
        "appUserId": event.get("appUserId"),
        "logId": event.get("logId"),
        "summary": event.get("summary") or "",
        "detail": {k: detail[k] for k in DETAIL_KEYS if k in detail},
    }
    message = detail.get("message")
    if isinstance(message, dict):
        frame["detail"]["messageId"] = message.get("_id")
        frame["detail"]["role"] = message.get("role")
        # For the opt-in browser notification of a new user message.
        frame["detail"]["text"] = (message.get("text") or "")[:200]
        frame["detail"]["name"] = (message.get("name") or "")[:100]
    return frame


def watched_user(app_id: str, app_user_id) -> AppUser | None:
    if not isinstance(app_user_id, str) or len(app_user_id) > 64:
        return None
    return AppUser.objects.select_related("app").filter(app_id=app_id, pk=app_user_id).first()


def fragment_for(app_user: AppUser, event: dict) -> str:
    """The rendered partial an event of the watched conversation shows, or ""."""
    # Imported here: the view module pulls in forms and templates the
    # socket needs only when a page watches a conversation.
    from dashboard.views import conversations

    kind = event.get("kind") or ""
    detail = event.get("detail") or {}
    app = app_user.app
    if kind == "note:created":
        note = detail.get("note") or {}
        return conversations.note_fragment(app, app_user, note.get("_id"))
    if kind == "postback" and event.get("logId"):
        return conversations.postback_fragment(app, app_user, event["logId"])
    message = detail.get("message")
    message_id = message.get("_id") if isinstance(message, dict) else detail.get("messageId")
    if not message_id or not (kind.startswith("message:") or kind.startswith("delivery:") or kind == "failover"):
        return ""
    if kind == "message:appUser":
        # The page shows it: read by the business, as the page's refetch did.
        mark_read_by_business(app_user)
    return conversations.message_fragment(app, app_user, message_id)


class DashboardEventsConsumer(AsyncJsonWebsocketConsumer):
    group = None
    watching = None  # the AppUser whose conversation the page shows
    member = None  # the member's own group (told when their access changes)
    app_id = None
    checked_at = 0.0
    counted = False  # in the open-sockets metric (accepted)

    async def connect(self):
        app_id = self.scope["url_route"]["kwargs"]["app_id"]
        user = self.scope.get("user")
        if not await database_sync_to_async(is_member)(user, app_id):
            await self.close(CLOSE_FORBIDDEN)
            return
        self.app_id = app_id
        self.group, self.member = app_group(app_id), member_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.member, self.channel_name)
        # Checked again once in the groups: a removal committed in between
        # would otherwise go unheard until the next re-check.
        if not await self.still_member():
            return
        await self.accept()
        self.counted = True
        metrics.SOCKETS.labels("dashboard").inc()
        await self.send_json({"type": "ready", "appId": app_id})

    async def disconnect(self, code):
        if self.counted:
            metrics.SOCKETS.labels("dashboard").dec()
            self.counted = False
        await self.leave()

    async def leave(self):
        for group in (self.group, self.member):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)
        self.group = self.member = None

    async def still_member(self) -> bool:
        """Re-check the member's access now; close the socket when it is gone."""
        self.checked_at = time.monotonic()
        if await database_sync_to_async(is_member)(self.scope.get("user"), self.app_id):
            return True
        await self.leave()
        await self.close(CLOSE_FORBIDDEN)
        return False

    async def parley_access(self, message):
        """The member was removed, their account deactivated or the app
        deleted (messaging.services.accounts, sdk_access): re-check at once."""
        if self.group:
            await self.still_member()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        elif content.get("type") == "watch" and self.group:
            self.watching = await database_sync_to_async(watched_user)(self.app_id, content.get("appUserId"))

    async def parley_events(self, message):
        """Several events of one change, published together (events.batch)."""
        for event in message.get("events") or []:
            await self.parley_event(event)

    async def parley_event(self, event):
        if not self.group:
            return
        if time.monotonic() - self.checked_at > RECHECK_SECONDS and not await self.still_member():
            return
        frame = frame_for(event)
        if self.watching is not None and event.get("appUserId") == self.watching.pk:
            html = await database_sync_to_async(fragment_for)(self.watching, event)
            if html:
                frame["html"] = html
        await self.send_json(frame)
