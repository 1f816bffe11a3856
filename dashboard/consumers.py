"""The dashboard's live socket: /ws/dashboard/events/<app_id>/.

Session-authenticated (AuthMiddlewareStack, and only for Parley's own pages:
same scheme, host and port, dashboard/socket_origin.py). The socket is refused unless `scope["user"]` is a
member of the app's team; it then joins the app's group `app.<appId>` and
forwards each `parley.event` of the fan-out (several at once come as one
`parley.events`) as a small JSON frame to
static/dashboard/live.js, which refetches the server-rendered partials it
concerns (so every piece of text on screen is escaped by Django's templates;
the few strings the script shows itself go through textContent).
"""

import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from messaging.events import app_group
from messaging.models import App

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4003
# A member removed from the team stops receiving events within this delay.
RECHECK_SECONDS = 30
# What the browser needs of an event's detail to decide what to refetch.
DETAIL_KEYS = ("messageId", "deliveryId", "state", "role", "clientId", "platform", "purpose")


def is_member(user, app_id: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return App.objects.filter(pk=app_id, team__memberships__user=user).exists()


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


class DashboardEventsConsumer(AsyncJsonWebsocketConsumer):
    group = None
    app_id = None
    checked_at = 0.0

    async def connect(self):
        app_id = self.scope["url_route"]["kwargs"]["app_id"]
        if not await database_sync_to_async(is_member)(self.scope.get("user"), app_id):
            await self.close(CLOSE_FORBIDDEN)
            return
        self.app_id = app_id
        self.checked_at = time.monotonic()
        self.group = app_group(app_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "ready", "appId": app_id})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def parley_events(self, message):
        """Several events of one change, published together (events.batch)."""
        for event in message.get("events") or []:
            await self.parley_event(event)

    async def parley_event(self, event):
        if time.monotonic() - self.checked_at > RECHECK_SECONDS:
            if not await database_sync_to_async(is_member)(self.scope.get("user"), self.app_id):
                await self.channel_layer.group_discard(self.group, self.channel_name)
                self.group = None
                await self.close(CLOSE_FORBIDDEN)
                return
            self.checked_at = time.monotonic()
        await self.send_json(frame_for(event))
