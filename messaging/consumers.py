"""The SDK websocket (docs/sdk-protocol.md): Web Messenger and any SDK
client talk to Parley over `/sdk/ws/`, authenticated by the app token (and
the user's JWT once the user is secured), from any origin.

The socket joins `appuser.<id>`: business messages published by the fan-out
on commit arrive here at once and are forwarded. The web delivery was stored
as sent with the message (Parley is the widget's platform: no worker is
involved); the client's `delivered` and `read` frames move it on. On connect
the client catches up from `since`, so a broadcast it missed while away (or
one that was lost) costs nothing.

A page may open the socket from any origin unless the app lists allowed
origins (`settings["allowedOrigins"]`, as for /v1/init). A message frame's
`ref` makes it idempotent: it is stored on the message (never in its JSON),
so a frame re-sent after a lost ack is acked with the message already stored.
"""

import json
import logging
import math
import time
from datetime import datetime, timezone as dt_timezone

import jwt
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging import events, jsonbody, metrics, ratelimits
from messaging.validators import validate_message
from messaging.delivery import client_appeared, conversation_read, mark_delivered
from messaging.models import ApiKey, AppUser, Client, Message
from messaging.services.apps import origin_allowed
from messaging.services.credentials import (
    REQUIRE_USER_JWT_DESCRIPTION, AuthError, app_token_may_claim, authenticate_sdk,
)
from messaging.services import postbacks
from messaging.services.messages import post_message
from messaging.wire import app_user_json, conversation_json, fit_frame, message_json, source_json, unix

logger = logging.getLogger(__name__)

CATCH_UP_LIMIT = 100
MAX_FRAME_BYTES = 64 * 1024
CLOSE_UNAUTHORIZED = 4001
CLOSE_BAD_REQUEST = 4000
CLOSE_FORBIDDEN = 4003
CLOSE_NOT_FOUND = 4004
CLOSE_TOO_MANY_REQUESTS = 4029
# Frames that write (a message, a postback, typing) count against the
# socket's rate limit; pings, delivered and read receipts do not.
LIMITED_FRAMES = ("message", "postback", "typing")
# How often an open socket re-checks that its credential still reaches the
# user: the safety net. Securing or deleting the user, revoking or deleting
# the key that signed its JWT and deleting the app close it at once
# (messaging.services.sdk_access, through the groups below).
RECHECK_SECONDS = 30
# The latest `since` a client may send (year 9999).
MAX_SINCE = 253402300799

MAX_REF_LENGTH = 64  # Message.client_ref


class FrameError(Exception):
    def __init__(self, code: str, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


class SdkConsumer(AsyncJsonWebsocketConsumer):
    app = None
    app_user = None
    client = None
    group = None
    by_jwt = False  # authenticated with an appUser JWT (not just the app token)
    key_id = None  # the key that signed that JWT
    checked_at = 0.0
    budget = None  # the frame budget (messaging.ratelimits.FrameBudget), made on first use
    # Groups told when this socket's access may have changed (its key's,
    # its app's): not `groups`, which Channels joins on its own.
    access_groups = ()

    async def connect(self):
        await self.accept()
        metrics.SOCKETS.labels("sdk").inc()

    async def disconnect(self, code):
        metrics.SOCKETS.labels("sdk").dec()
        await self.leave_groups()

    async def leave_groups(self):
        for group in [self.group, *self.access_groups]:
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)
        self.group, self.access_groups = None, ()

    # -- frames from the client -------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self.send_error("bad_request", "Frames are JSON text of at most 64 KB.")
            return
        try:
            # The REST API's decoder: NUL bytes, surrogates, numbers, depth.
            frame = jsonbody.decode(text_data, max_bytes=MAX_FRAME_BYTES, subject="The frame")
        except jsonbody.BodyError as error:
            await self.send_error("bad_request", error.description)
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_request", "A frame is a JSON object with a type.")
            return
        await self.receive_json(frame)

    async def receive_json(self, frame, **kwargs):
        kind = frame["type"]
        ref = frame.get("ref")
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if self.app_user is None:
            if kind == "auth":
                await self.authenticate(frame)
            else:
                await self.send_error("unauthorized", "Send an auth frame first.")
                await self.close(CLOSE_UNAUTHORIZED)
            return
        if kind in LIMITED_FRAMES and not await self.within_budget(ref):
            return
        if not await self.still_allowed():
            return
        handler = {
            "message": self.on_message,
            "postback": self.on_postback,
            "typing": self.on_typing,
            "delivered": self.on_delivered,
            "read": self.on_read,
        }.get(kind)
        if handler is None:
            await self.send_error("bad_request", f"Unknown frame type {kind!r}.", ref)
            return
        try:
            await handler(frame)
        except FrameError as error:
            await self.send_error(error.code, error.description, ref)
        except Exception as error:
            description = getattr(error, "description", None)
            if description is None:
                logger.exception("sdk frame %s failed for app user %s", kind, self.app_user.id)
                await self.send_error("internal_error", "The frame could not be processed.", ref)
            else:  # a typed service or API error: say what was wrong
                await self.send_error(getattr(error, "code", "bad_request"), description, ref)

    async def within_budget(self, ref) -> bool:
        """Count a frame that writes (PARLEY_RATE_SOCKET per socket): a
        refused frame gets a `too_many_requests` error naming the limit;
        once PARLEY_RATE_SOCKET_REFUSALS were refused in one window, the
        socket is closed with 4029."""
        if self.budget is None:
            self.budget = ratelimits.FrameBudget()
        refusal = self.budget.take()
        if refusal is None:
            return True
        await self.send_error("too_many_requests", refusal.description, ref)
        if self.budget.exhausted:
            await self.close(CLOSE_TOO_MANY_REQUESTS)
        return False

    async def send_json(self, content, close=False):
        """Every frame to the client goes through here: one that would be
        over PARLEY_MAX_SOCKET_MESSAGE_BYTES (a message stored before the
        input limits) is sent fitted (wire.fit_frame), never as a frame the
        browser or daphne would close the socket on."""
        text = json.dumps(content)
        limit = settings.PARLEY_MAX_SOCKET_MESSAGE_BYTES
        if len(text) > limit:
            fitted = fit_frame(content, limit)
            if fitted is None:
                logger.warning("sdk frame %s over %s bytes dropped for app user %s", content.get("type"),
                               limit, getattr(self.app_user, "id", None))
                fitted = {"type": "error", "code": "frame_too_large",
                          "description": f"A {content.get('type')} frame was over {limit} bytes and was dropped."}
            text = json.dumps(fitted)
        await self.send(text_data=text, close=close)

    async def send_error(self, code, description, ref=None):
        frame = {"type": "error", "code": code, "description": description}
        if ref is not None:
            frame["ref"] = ref
        await self.send_json(frame)

    async def authenticate(self, frame):
        try:
            ready, catch_up = await database_sync_to_async(self._authenticate)(frame)
        except FrameError as error:
            await self.send_error(error.code, error.description)
            close = {"unauthorized": CLOSE_UNAUTHORIZED, "forbidden": CLOSE_FORBIDDEN,
                     "not_found": CLOSE_NOT_FOUND}
            await self.close(close.get(error.code, CLOSE_BAD_REQUEST))
            return
        self.group = events.appuser_group(self.app_user.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        if not await self.join_access_groups():
            return
        await self.send_json(ready)
        # Read after joining: nothing published in between can be missed
        # (clients de-duplicate by _id).
        for message in await database_sync_to_async(self._catch_up)(catch_up):
            await self.send_json({"type": "message", "message": message})
        await database_sync_to_async(self._appeared)()

    async def join_access_groups(self) -> bool:
        """Hear at once of the app's deletion and, with a JWT, of its key's
        revocation. Joined before `ready`: a revocation committed after the
        socket is authenticated cannot be missed (one committed between the
        check and the join is caught by the re-check below)."""
        self.access_groups = (events.sdk_app_group(self.app.id),
                              *([events.key_group(self.key_id)] if self.key_id else []))
        for group in self.access_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        # The key was looked up through credentials' per-process cache: a
        # revocation made elsewhere just before may not be in it yet.
        return await self.still_allowed(force=True) if self.key_id else True

    def _authenticate(self, frame):

        app_token, app_user_ref = frame.get("appToken"), frame.get("appUserId")
        client_id, jwt_token, since = frame.get("clientId"), frame.get("jwt"), frame.get("since")
        for name, value in (("appToken", app_token), ("appUserId", app_user_ref), ("clientId", client_id)):
            if not isinstance(value, str) or not value:
                raise FrameError("unauthorized" if name == "appToken" else "bad_request",
                                 f"The auth frame needs {name}.")
        if jwt_token is not None and not isinstance(jwt_token, str):
            raise FrameError("unauthorized", "jwt must be a string.")
        if since is not None and (
            isinstance(since, bool) or not isinstance(since, (int, float))
            or not math.isfinite(since) or not 0 <= since <= MAX_SINCE
        ):
            raise FrameError("bad_request", "since must be a number (unix seconds).")
        try:
            app, app_user = authenticate_sdk(app_token=app_token, app_user_ref=app_user_ref,
                                             jwt_token=jwt_token or None)
        except AuthError as error:
            raise FrameError("unauthorized", error.description)
        except LookupError:
            raise FrameError("not_found", "No such app user.")
        origin = self.origin()
        if not origin_allowed(app, origin):
            # Browsers always send Origin on a websocket: a page of another
            # site (or none) may not act as this app's widget.
            raise FrameError("forbidden", f"Origin {origin or 'null'} is not allowed to embed this app; "
                                          "add it to the app's allowed origins (Web Messenger settings).")
        now = timezone.now()
        client, created = Client.objects.get_or_create(
            app_user=app_user, platform="web", external_id=client_id[:255],
            defaults={"last_seen": now},
        )
        if not created:
            Client.objects.filter(pk=client.pk).update(last_seen=now, active=True)
            client.last_seen, client.active = now, True
        self.app, self.app_user, self.client = app, app_user, client
        if jwt_token:
            self.by_jwt, self.key_id = True, jwt.get_unverified_header(jwt_token).get("kid")
        self.checked_at = time.monotonic()
        conversation = conversation_json(app_user)
        if app_user.app_maker_last_read is not None:
            # Until when the business has read (the widget's "Read" marks).
            conversation["appMakerLastRead"] = unix(app_user.app_maker_last_read)
        ready = {"type": "ready", "appUser": app_user_json(app_user), "conversation": conversation}
        return ready, since

    def origin(self) -> str | None:
        for name, value in self.scope.get("headers") or []:
            if name == b"origin":
                return value.decode("latin-1")
        return None

    def _catch_up(self, since):


        messages = Message.objects.filter(app_user=self.app_user)
        if since is not None:
            messages = messages.filter(received__gt=datetime.fromtimestamp(since, dt_timezone.utc))
        latest = list(messages.order_by("-received", "-id")[:CATCH_UP_LIMIT])
        return [message_json(m) for m in reversed(latest)]

    def _appeared(self):

        client_appeared(self.client)

    async def on_message(self, frame):
        data, ref = frame.get("message"), frame.get("ref")
        if not isinstance(data, dict):
            raise FrameError("bad_request", "A message frame carries a message object.")
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, (str, int))
                                or not 0 < len(str(ref)) <= MAX_REF_LENGTH):
            raise FrameError("bad_request", f"ref must be a string of 1 to {MAX_REF_LENGTH} characters.")
        body = await database_sync_to_async(self._post_message)(data, None if ref is None else str(ref))
        ack = {"type": "ack", "message": body}
        if ref is not None:
            ack["ref"] = ref
        await self.send_json(ack)

    def _post_message(self, data, ref):
        """Store the user's message once per `ref`: a frame re-sent after a
        lost ack finds the message stored the first time (and fans nothing
        out again). Two copies racing (two tabs adopting one queued frame)
        meet at the unique (app_user, client_ref) constraint: the loser's
        whole write, events included, is rolled back."""


        Client.objects.filter(pk=self.client.pk).update(last_seen=timezone.now())
        stored = Message.objects.filter(app_user=self.app_user, client_ref=ref).first() if ref else None
        if stored is not None:
            return message_json(stored)
        fields = validate_message(data, role="appUser", app_user=self.app_user)
        try:
            with transaction.atomic():
                message = post_message(self.app_user, role="appUser", fields=fields,
                                       source=source_json(self.client))
                if ref:
                    Message.objects.filter(pk=message.pk).update(client_ref=ref)
        except IntegrityError:
            message = Message.objects.filter(app_user=self.app_user, client_ref=ref).first() if ref else None
            if message is None:
                raise
        return message_json(message)

    async def on_postback(self, frame):
        action = frame.get("action")
        if not isinstance(action, dict) or not isinstance(action.get("payload"), str):
            raise FrameError("bad_request", "A postback frame carries an action with a payload.")
        await database_sync_to_async(self._postback)(action)
        ack = {"type": "ack"}
        if frame.get("ref") is not None:
            ack["ref"] = frame["ref"]
        await self.send_json(ack)

    def _postback(self, action):
        postbacks.record_postback(self.app_user, self.client, action)

    async def on_typing(self, frame):
        state = frame.get("state")
        if state not in ("start", "stop"):
            raise FrameError("bad_request", "typing state must be start or stop.")
        await database_sync_to_async(self._typing)(state)

    def _typing(self, state):
        events.emit("typing:appUser", app=self.app, app_user=self.app_user,
                    summary=f"User typing {state}",
                    detail={"role": "appUser", "state": state, "clientId": self.client.id})

    async def on_delivered(self, frame):
        message_id = frame.get("messageId")
        if not isinstance(message_id, str):
            raise FrameError("bad_request", "A delivered frame carries a messageId.")
        await database_sync_to_async(self._delivered)(message_id)

    def _delivered(self, message_id):

        mark_delivered(self.client, message_id)

    async def on_read(self, frame):
        await database_sync_to_async(self._read)()

    def _read(self):

        Client.objects.filter(pk=self.client.pk).update(last_seen=timezone.now())
        conversation_read(self.app_user, self.client)

    # -- access -----------------------------------------------------------

    async def still_allowed(self, force=False) -> bool:
        """Whether this socket's credential still reaches its user; closes
        the socket when it does not. Checked at most every RECHECK_SECONDS,
        or at once when told the user's access changed."""
        if not force and time.monotonic() - self.checked_at < RECHECK_SECONDS:
            return True
        self.checked_at = time.monotonic()
        reason = await database_sync_to_async(self._access_lost)()
        if reason is None:
            return True
        await self.send_error("unauthorized", reason)
        await self.close(CLOSE_UNAUTHORIZED)
        await self.leave_groups()
        return False

    def _access_lost(self) -> str | None:

        app_user = (AppUser.objects.filter(pk=self.app_user.pk).select_related("app")
                    .only("credential_required", "user_id", "app__require_user_jwt").first())
        if app_user is None:
            return "This user no longer exists."
        if app_user.credential_required and not self.by_jwt:
            return "This user is now secured: reconnect with a JWT."
        if not self.by_jwt and not app_token_may_claim(app_user.app, app_user.user_id):
            return REQUIRE_USER_JWT_DESCRIPTION
        if self.key_id and not ApiKey.objects.filter(key_id=self.key_id, revoked_at__isnull=True).exists():
            return "The key that signed this JWT was revoked or deleted."
        return None

    async def parley_access(self, message):
        """A key, the user or the app changed (messaging.services.sdk_access):
        re-check at once."""
        if self.app_user is not None:
            await self.still_allowed(force=True)

    # -- events from the user's group -------------------------------------

    async def parley_events(self, message):
        """Several events of one change, published together (events.batch)."""
        for event in message.get("events") or []:
            await self.parley_event(event)

    async def parley_event(self, event):
        kind, detail = event.get("kind"), event.get("detail") or {}
        # The user was secured or deleted (messaging.services.sdk_access):
        # re-check at once.
        if not await self.still_allowed(force=kind == "access:changed"):
            return
        if kind in ("message:appUser", "message:appMaker") and detail.get("message"):
            # Forwarded at once; no database work on this path (every sync
            # call queues behind the server's views): the web delivery was
            # stored as sent with the message, the client's `delivered`
            # frame moves it on.
            await self.send_json({"type": "message", "message": detail["message"]})
        elif kind == "typing:appMaker" and detail.get("clientId") == self.client.id:
            frame = {"type": "typing", "role": "appMaker", "state": detail.get("state")}
            if detail.get("name"):
                frame["name"] = detail["name"]
            if detail.get("avatarUrl"):
                frame["avatarUrl"] = detail["avatarUrl"]
            await self.send_json(frame)
        elif kind == "conversation:read:appMaker":
            await self.send_json({"type": "read", "role": "appMaker", "at": detail.get("at")})


