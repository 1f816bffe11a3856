"""Viber: a bot on the REST Bot API, `POST {PARLEY_VIBER_API_BASE}/pa/<method>`
with a JSON body and the bot's token in `X-Viber-Auth-Token`. Viber answers
HTTP 200 to nearly everything and says in the body whether it worked:
`{"status": 0, "status_message": "ok", ...}`, or a non-zero `status` (2
invalid auth token, 6 receiver not subscribed, 12 too many requests...),
which `_explain` maps to the engine's codes.

Sending (`send_message`, each with `sender: {name, avatar}`: the bot's name
and icon as get_account_info gave them when the integration was created):
- text as `text`, split past Viber's 7,000 characters;
- an image as `picture` with the text as its description when it fits
  Viber's 768 characters, else the text in a message of its own after it;
- a message's actions as a keyboard under the last message sent: a 6-column
  grid, one full-width button a row. `reply` and `postback` actions are
  `reply` buttons and `locationRequest` a `location-picker`; all three are
  `Silent` (the press is not shown in the chat as the user's own text) and
  carry back an ActionBody naming the action (see `action_body`); links are
  `open-url` buttons;
- a carousel as `rich_media` (up to 6 items, each a block of 6 columns x 7
  rows: its image, its title and description, up to 3 buttons), the text
  first in a message of its own and the message's own actions as the
  keyboard; a list as the text fallback; a location as `location`.
A delivery made of several messages returns the first one's message_token;
a retry after a transient failure part way sends it all again.

Inbound: Viber signs each callback with `X-Viber-Content-Signature`, the hex
HMAC-SHA256 of the body keyed by the bot's token, and posts one event per
request, each with a `message_token` (the duplicate key, with the event's
name). `set_webhook` posts a signed `webhook` event to the URL before it
answers and refuses a URL that does not answer it with 200: Parley calls
set_webhook before the integration is stored, so the token being registered
is held for that call (`pending_check`) and the endpoint answers that check
for a row not stored yet (`answers_unstored`). See `parse` for each event.

A Viber user opens the bot from a deep link `viber://pa?chatURI=<uri>&context=<c>`;
`link_context` makes a context naming an app user (signed, so nobody can
make one for another user), and `conversation_started` carries it back.
"""

import hashlib
import hmac
import logging
from urllib.parse import urlencode

from django.core.cache import cache

from messaging import crypto
from messaging.integrations import base
from messaging.integrations.base import Capabilities, Field, Integration, Limits, PlatformError
from messaging.integrations.fallback import render_text, split_text

logger = logging.getLogger(__name__)

TEXT_LIMIT = 7000
PICTURE_TEXT_LIMIT = 768
SENDER_NAME_LIMIT = 28
ITEMS_LIMIT = 6  # blocks of one rich media message
ITEM_ACTIONS = 3  # buttons under a block: image 3 rows + text 1 row + 3 buttons = 7 rows
KEYBOARD_BUTTONS = 24
BUTTON_TEXT_LIMIT = 250
SIGNATURE_HEADER = "X-Viber-Content-Signature"
AUTH_HEADER = "X-Viber-Auth-Token"
EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
# Silent buttons and rich media blocks need Viber clients of this API level.
RICH_API_VERSION = 7
# What a button carries back (its ActionBody, which Viber posts as the
# user's text): the action's kind and `_id`. Never the bare payload, which a
# user could also type, and which may not fit.
ACTION_PREFIX = "parley:"
BUTTON_KINDS = {"reply": "reply", "postback": "postback", "locationRequest": "reply"}
# How long the token being registered is held for Viber's check of the URL
# (set_webhook waits for it inside the call).
PENDING_SECONDS = 3 * base.HTTP_TIMEOUT

# Viber's status codes (developers.viber.com, REST Bot API "Error Codes").
BAD_CREDENTIALS = {2: "invalid auth token", 7: "the bot is blocked", 8: "the bot was not found",
                   9: "the bot is suspended", 15: "the bot is not authorized"}
UNREACHABLE = {5: "the receiver is not registered on Viber", 6: "the receiver is not subscribed to the bot"}
RATE_LIMITED = 12


def action_body(action: dict) -> str:
    """`parley:<kind>:<_id>`: `parse` turns it back into a postback or a
    reply naming the action, which the engine resolves (payload, label)."""
    if not action.get("_id"):
        raise PlatformError("a Viber button needs the action's _id to be referred to", permanent=True,
                            code="rejected")
    return f"{ACTION_PREFIX}{BUTTON_KINDS[action['type']]}:{action['_id']}"


def _button(action: dict) -> dict | None:
    kind = action.get("type")
    label = str(action.get("text") or action.get("uri") or "")[:BUTTON_TEXT_LIMIT]
    button = {"Columns": 6, "Rows": 1, "Text": label, "TextSize": "regular"}
    if kind in ("link", "webview", "buy") and action.get("uri"):
        return {**button, "ActionType": "open-url", "ActionBody": action["uri"]}
    if kind in ("reply", "postback"):
        return {**button, "ActionType": "reply", "ActionBody": action_body(action), "Silent": True}
    if kind == "locationRequest":
        return {**button, "ActionType": "location-picker", "ActionBody": action_body(action), "Silent": True}
    return None  # share: Viber has no such button


def keyboard(actions: list) -> dict | None:
    buttons = [b for b in map(_button, actions or []) if b][:KEYBOARD_BUTTONS]
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": buttons} if buttons else None


def rich_media(items: list) -> dict:
    """A carousel as Viber's rich media: one block per item, 6 x 7."""
    buttons = []
    for item in items[:ITEMS_LIMIT]:
        text_rows = 7 - ITEM_ACTIONS
        if item.get("mediaUrl"):
            buttons.append({"Columns": 6, "Rows": 3, "ActionType": "none", "Image": item["mediaUrl"]})
            text_rows -= 3
        title = _html(str(item.get("title") or ""))
        description = _html(str(item.get("description") or ""))
        text = f"<b>{title}</b>" + (f"<br>{description}" if description else "")
        buttons.append({"Columns": 6, "Rows": text_rows, "ActionType": "none", "Text": text,
                        "TextVAlign": "top", "TextHAlign": "left"})
        actions = [b for b in map(_button, item.get("actions") or []) if b][:ITEM_ACTIONS]
        buttons += actions
        buttons += [{"Columns": 6, "Rows": 1, "ActionType": "none", "Text": ""}] * (ITEM_ACTIONS - len(actions))
    return {"Type": "rich_media", "ButtonsGroupColumns": 6, "ButtonsGroupRows": 7, "BgColor": "#FFFFFF",
            "Buttons": buttons}


def _html(text: str) -> str:
    """Rich media texts take a few HTML tags: the item's own text stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _explain_status(body: dict, call: str) -> PlatformError:
    status = body.get("status")
    message = str(body.get("status_message") or "")[:300]
    if status in BAD_CREDENTIALS:
        return PlatformError(f"Viber refused the token ({status}: {BAD_CREDENTIALS[status]}): {message}",
                             permanent=True, code="bad_credentials", status=200)
    if status in UNREACHABLE:
        return PlatformError(f"Viber: {UNREACHABLE[status]} ({status}: {message})", permanent=True,
                             code="blocked", status=200)
    if status == RATE_LIMITED:
        return PlatformError(f"Viber rate limited the bot ({status}: {message})", permanent=False,
                             code="rate_limited", status=200)
    if isinstance(status, int) and not isinstance(status, bool) and 1 <= status <= 24:
        return PlatformError(f"Viber refused {call} ({status}: {message})", permanent=True, code="rejected",
                             status=200)
    # Any other status is Viber's "general error": worth another try.
    return PlatformError(f"Viber could not take {call} ({status}: {message})", permanent=False, status=200)


def signature(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _pending_key(integration_id: str) -> str:
    return f"viber:pending-webhook:{integration_id}"


def pending_check(integration_id: str) -> str:
    """The token of a set_webhook call under way for this integration ("": none)."""
    held = cache.get(_pending_key(integration_id))
    return crypto.decrypt(held) if held else ""


def link_context(integration, app_user_id: str) -> str:
    """A deep link's `context` that names `app_user_id` on this integration
    (base.link_ref: signed, compact: Viber carries it back as it is)."""
    return base.link_ref(integration, app_user_id)


def linked_user(integration, context: str) -> str:
    """The app user a context from `link_context` names ("" when it is not
    one of ours, for another integration, or too old)."""
    return base.linked_app_user(integration, context)


def deep_link(integration, context: str) -> str:
    return "viber://pa?" + urlencode({"chatURI": integration.details.get("uri", ""), "context": context})


class Viber(Integration):
    type = "viber"
    label = "Viber"
    capabilities = Capabilities(native=frozenset({"text", "image", "carousel", "location"}),
                                text_fallback=frozenset({"list"}), read_receipts=True, push=True)
    limits = Limits(text=TEXT_LIMIT, actions=KEYBOARD_BUTTONS, items=ITEMS_LIMIT, action_text=BUTTON_TEXT_LIMIT)
    fields = (Field("token", "Authentication token", secret=True,
                    help="The bot's token (Viber: More > Settings > Bots > Edit Info > Your app key)."),)
    ack_body = b""

    # Calls.

    def _token(self, credentials: dict | None = None) -> str:
        credentials = self.credentials if credentials is None else credentials
        token = str(credentials.get("token") or "").strip()
        if not token:
            raise PlatformError("the Viber integration has no token", permanent=True, code="bad_credentials")
        return token

    def _call(self, method: str, body: dict, *, credentials: dict | None = None) -> dict:
        """One REST Bot API call; returns Viber's answer when its status is 0."""
        response = base.http_post(f"{base.api_base(self.type)}/pa/{method}", json=body,
                                  headers={AUTH_HEADER: self._token(credentials)})
        answer = base.response_object(response)
        if "status" not in answer:
            raise PlatformError(f"Viber answered {method} without a status", permanent=False)
        if answer["status"] != 0:
            raise _explain_status(answer, method)
        return answer

    # Set-up.

    def check(self, credentials: dict) -> base.Connected:
        account = self._call("get_account_info", {}, credentials=credentials)
        details = {"uri": str(account.get("uri") or ""), "accountId": str(account.get("id") or "")}
        if account.get("icon"):
            details["avatar"] = str(account["icon"])
        return base.Connected(display_name=str(account.get("name") or ""), details=details)

    def register_webhook(self, url: str) -> None:
        """set_webhook, with the token held meanwhile for Viber's check of
        the URL (the row may not be stored yet, or hold an older token)."""
        token = self._token()
        key = _pending_key(self.integration.id)
        cache.set(key, crypto.encrypt(token), PENDING_SECONDS)
        try:
            self._call("set_webhook", {"url": url, "event_types": EVENT_TYPES, "send_name": True,
                                       "send_photo": True})
        finally:
            cache.delete(key)

    def unregister_webhook(self) -> None:
        self._call("set_webhook", {"url": ""})

    # Sending.

    def _sender(self) -> dict:
        details = self.integration.details if self.integration is not None else {}
        name = str(self.integration.display_name if self.integration is not None else "") or self.label
        sender = {"name": name[:SENDER_NAME_LIMIT]}
        if details.get("avatar"):
            sender["avatar"] = details["avatar"]
        return sender

    def _send(self, receiver: str, content: dict) -> str:
        body = {"receiver": receiver, "sender": self._sender(), **content}
        if "keyboard" in content or content.get("type") == "rich_media":
            body["min_api_version"] = RICH_API_VERSION
        answer = self._call("send_message", body)
        if answer.get("message_token") in (None, ""):
            raise PlatformError("Viber answered send_message without a message_token", permanent=True)
        return str(answer["message_token"])

    def send(self, delivery) -> str:
        message = delivery.message
        receiver = delivery.client.external_id
        board = keyboard(message.actions or [])
        if message.type == "carousel" and message.items:
            ids = self._texts(receiver, message.text, None)
            content = {"type": "rich_media", "rich_media": rich_media(message.items),
                       "alt_text": render_text(message, message.app.name)[:TEXT_LIMIT]}
            ids.append(self._send(receiver, self._with(content, board)))
            return ids[0]
        if message.type == "location" and message.coordinates:
            content = {"type": "location", "location": {"lat": message.coordinates.get("lat"),
                                                        "lon": message.coordinates.get("long")}}
            return self._send(receiver, self._with(content, board))
        if message.type == "image" and message.media_url:
            return self._picture(receiver, message.text or "", message.media_url, board)[0]
        if message.type == "list":
            text = render_text(message, message.app.name)
        else:
            text = message.text or "\n".join(a.get("text", "") for a in message.actions or [] if a.get("text"))
        ids = self._texts(receiver, text, board)
        if not ids:
            raise PlatformError(f"nothing to send to Viber in this {message.type} message", permanent=True,
                                code="rejected")
        return ids[0]

    def _picture(self, receiver: str, text: str, media_url: str, board) -> list[str]:
        picture = {"type": "picture", "media": media_url, "text": ""}
        if len(text) <= PICTURE_TEXT_LIMIT:
            return [self._send(receiver, self._with({**picture, "text": text}, board))]
        return [self._send(receiver, picture)] + self._texts(receiver, text, board)

    def _texts(self, receiver: str, text: str, board) -> list[str]:
        pieces = split_text(text, TEXT_LIMIT) if text else []
        return [self._send(receiver, self._with({"type": "text", "text": piece},
                                                board if number == len(pieces) else None))
                for number, piece in enumerate(pieces, start=1)]

    @staticmethod
    def _with(content: dict, board) -> dict:
        return {**content, "keyboard": board} if board else content

    # Inbound.

    @classmethod
    def answers_unstored(cls, integration_id: str, request) -> bool:
        """Viber's check of a URL being registered for a row not stored yet:
        a `webhook` event signed with the token being registered."""
        token = pending_check(integration_id)
        if not token or not _signed(request, token):
            return False
        try:
            return base.json_body(request).get("event") == "webhook"
        except base.InboundRefused:
            return False

    def verify(self, request) -> list[base.RawEvent]:
        """The signature (403), with the stored token or, for the check of a
        new token being registered, that one; then the body: one event with
        its name and message_token (400 when not). The `webhook` check makes
        no event."""
        stored = self._token() if self.integration is not None and self.credentials.get("token") else ""
        pending = pending_check(self.integration.id) if self.integration is not None else ""
        if not any(token and _signed(request, token) for token in (stored, pending)):
            raise base.InboundRefused(f"the {SIGNATURE_HEADER} header is missing or wrong", status=403)
        body = base.json_body(request)
        event = body.get("event")
        token = body.get("message_token")
        if not isinstance(event, str) or not event:
            raise base.InboundRefused("a Viber callback names its event", status=400)
        if event == "webhook":
            return []
        if not isinstance(token, (int, str)) or isinstance(token, bool) or str(token) == "":
            raise base.InboundRefused("a Viber callback has a message_token", status=400)
        if event in EVENT_TYPES + ["message"] and not _user_id(body):
            raise base.InboundRefused(f"a Viber {event} callback says which user it is about", status=400)
        return [base.RawEvent(key=f"{event}:{token}", payload=body)]

    def parse(self, payload: dict) -> list[base.InboundEvent]:
        """One callback as events:
        - message: text -> "message" (a button's ActionBody -> "postback" or
          a "message" naming the reply's action, see `action_body`); picture
          -> "message" with the file fetched from its URL as media and its
          description as text; location -> "message" with coordinates; a
          sticker, a URL, a contact -> "message" with what text it has; every
          message also says the user is subscribed again ("opt_in"), as
          Viber subscribes a user who writes;
        - delivered / seen / failed -> "delivery" delivered, "read", "delivery"
          failed with Viber's `desc`, by message_token;
        - subscribed -> "opt_in" and "start"; conversation_started -> "start",
          with `appUserId` when its context is one of `link_context`'s;
        - unsubscribed -> "opt_out" (nothing more is sent until the user
          subscribes or writes again);
        - anything else: no event."""
        event = payload.get("event")
        user_id = _user_id(payload)
        token = str(payload.get("message_token", ""))
        names = _names(payload.get("user") or payload.get("sender"))
        if event == "message":
            return [base.InboundEvent("opt_in", user_id, {}), *self._message(user_id, token, payload, names)]
        if event == "delivered":
            return [base.InboundEvent("delivery", user_id, {"platformMessageId": token, "state": "delivered"})]
        if event == "seen":
            return [base.InboundEvent("read", user_id, {"platformMessageId": token})]
        if event == "failed":
            error = {"code": "viber_failed", "message": str(payload.get("desc") or "failed")[:300]}
            return [base.InboundEvent("delivery", user_id, {"platformMessageId": token, "state": "failed",
                                                             "error": error})]
        if event == "subscribed":
            return [base.InboundEvent("opt_in", user_id, {}), base.InboundEvent("start", user_id, names)]
        if event == "conversation_started":
            data = dict(names)
            context = payload.get("context")
            if isinstance(context, str) and context:
                linked = linked_user(self.integration, context)
                if linked:
                    data["appUserId"] = linked
                else:
                    data["payload"] = context[:200]
            return [base.InboundEvent("start", user_id, data)]
        if event == "unsubscribed":
            return [base.InboundEvent("opt_out", user_id, {"text": "unsubscribed on Viber"})]
        return []

    def _message(self, user_id: str, token: str, payload: dict, names: dict) -> list[base.InboundEvent]:
        message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
        data = {**names, "platformMessageId": token}
        kind = message.get("type")
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        if text.startswith(ACTION_PREFIX):
            button, _, action_id = text[len(ACTION_PREFIX):].partition(":")
            if button == "postback" and action_id:
                return [base.InboundEvent("postback", user_id, {**names, "actionId": action_id})]
            if button == "reply" and action_id and kind == "text":
                return [base.InboundEvent("message", user_id, {**data, "actionId": action_id})]
            text = ""  # a location picked from a location-picker button: its reference is no text
        location = message.get("location")
        if kind == "location" and isinstance(location, dict) and _number(location.get("lat")) \
                and _number(location.get("lon")):
            data["coordinates"] = {"lat": location["lat"], "long": location["lon"]}
            if isinstance(location.get("address"), str) and location["address"]:
                data["text"] = location["address"]
            return [base.InboundEvent("message", user_id, data)]
        if kind == "picture" and isinstance(message.get("media"), str) and message["media"]:
            data["media"] = base.fetch_media(message["media"])
            if text:
                data["text"] = text
            return [base.InboundEvent("message", user_id, data)]
        if kind == "url" and isinstance(message.get("media"), str):
            text = text or message["media"]
        if kind == "contact" and isinstance(message.get("contact"), dict):
            contact = message["contact"]
            text = text or " ".join(str(contact[k]) for k in ("name", "phone_number") if contact.get(k))
        if not text:
            return []  # a sticker, a video, a file: nothing the conversation can show
        return [base.InboundEvent("message", user_id, {**data, "text": text})]


def _signed(request, token: str) -> bool:
    given = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
    return bool(given) and hmac.compare_digest(given.encode(), signature(token, request.body).encode())


def _user_id(body: dict) -> str:
    """The Viber user a callback is about: `sender.id` (message), `user.id`
    (subscribed, conversation_started) or `user_id` (receipts, unsubscribed)."""
    for holder in (body.get("sender"), body.get("user")):
        if isinstance(holder, dict) and isinstance(holder.get("id"), str) and holder["id"]:
            return holder["id"]
    return body["user_id"] if isinstance(body.get("user_id"), str) else ""


def _names(user) -> dict:
    name = str(user.get("name") or "") if isinstance(user, dict) else ""
    return {"displayName": name} if name else {}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
