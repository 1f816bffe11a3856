"""LINE: a LINE Official Account on the Messaging API,
`{PARLEY_LINE_API_BASE}/v2/bot/...` with the channel access token as a
bearer; files users send come from the content host,
`{PARLEY_LINE_DATA_API_BASE}/v2/bot/message/{id}/content`. Answers are
JSON; refusals `{"message", "details"?: [{"message", "property"}]}`.

Set-up: `GET /v2/bot/info` names the account (and checks the token);
`PUT /v2/bot/channel/webhook/endpoint` sets Parley's inbound URL. LINE has
no call to remove a webhook endpoint (and refuses an empty one), so
deleting the integration leaves it: Parley answers 404 there from then on,
and the business turns "Use webhook" off in the console if it wants.

Sending: up to 5 message objects per request, either
`POST /v2/bot/message/reply {replyToken, messages}` (free) or
`POST /v2/bot/message/push {to, messages}` (counted against the plan).
The reply token: every user event carries a `replyToken`, single use and
short-lived (LINE documents about a minute). The engine keeps the latest one
as the client's `last_inbound_ref` (the `inboundRef` event field). A delivery
replies when that event is under REPLY_TOKEN_SECONDS old and it wins the
token: the token is taken off the client by a conditional update first, so
of several deliveries (a second message, a retry) exactly one replies and
the others push. A token LINE refuses ("Invalid reply token") falls back to
a push. Only the first 5 objects can go with the token; the rest are pushed.

Rendering, as Smooch rendered messages on LINE:
- text as text messages of at most 5,000 characters (UTF-16, as LINE counts);
- `link` (and webview, buy with a uri) as uri actions, `postback` as
  postback actions (data: the payload when it fits LINE's 300 bytes, else
  ACTION_REF + the action's `_id`, returned as `actionId`): exactly two go
  as a confirm template, else buttons templates of up to 4 (text 160, the
  labels when there is no text; a longer text goes as a text message
  first); labels clipped to 20, altText to 400;
- `reply` (message action: tapping sends its text) and `locationRequest`
  (location action) as quick replies (13 at most) on the last object;
- an image as an image message (originalContentUrl and previewImageUrl
  must be HTTPS: any other URL goes as text), then its text and buttons;
- a carousel, and a list (LINE has no list: Smooch showed lists as
  carousels there), as carousel templates of up to 10 columns; LINE wants
  every column alike (see `_columns`);
- a location as a location message.
A delivery returns the first sent message's id. A retry after a transient
failure part way sends it all again (by push: the token went with the first
try).

Inbound: LINE posts `{"destination", "events": [...]}` signed with the
channel secret (`X-Line-Signature`: base64 HMAC-SHA256 of the body). Each
event is one RawEvent keyed by its `webhookEventId`, which a redelivery
(`deliveryContext.isRedelivery`) keeps, so a redelivered event is a
duplicate. See `parse` for what each becomes. LINE wants a 200 at once.
"""

import base64
import hashlib
import hmac
import logging
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from messaging.integrations import base
from messaging.integrations.base import Capabilities, Field, Integration, Limits, PlatformError
from messaging.integrations.fallback import split_text, utf16_length
from messaging.models import Client

logger = logging.getLogger(__name__)

TEXT_LIMIT = 5000
MESSAGES_PER_REQUEST = 5
ALT_TEXT_LIMIT = 400
LABEL_LIMIT = 20
MESSAGE_ACTION_TEXT = 300  # a message action's text, a postback's displayText
DATA_BYTES = 300  # a postback action's data
BUTTONS = 4  # actions on a buttons template
BUTTONS_TEXT = 160  # a buttons template's text without image or title
BUTTONS_TEXT_WITH_IMAGE = 60
COLUMNS = 10  # per carousel
COLUMN_ACTIONS = 3
COLUMN_TEXT = 120  # without image or title
COLUMN_TEXT_WITH_IMAGE = 60
COLUMN_TITLE = 40
QUICK_REPLIES = 13
LOCATION_TEXT = 100  # a location message's title and address
# A reply token is used only while the user's event is younger than this
# (LINE documents tokens as short-lived, about a minute: a margin is left for
# the time the reply takes to reach LINE).
REPLY_TOKEN_SECONDS = 50
# Postback data naming an action by its `_id`, for a payload that does not
# fit (or that starts with this prefix itself, so the two forms never mix up).
ACTION_REF = "parley:action:"
SIGNATURE_HEADER = "X-Line-Signature"
LINK_TYPES = ("link", "webview", "buy")
INVALID_REPLY_TOKEN = "invalid reply token"


def _clip(text, limit: int) -> str:
    """`text` within `limit` UTF-16 code units (as LINE counts), an ellipsis
    showing the cut."""
    text = str(text or "")
    if utf16_length(text) <= limit:
        return text
    while utf16_length(text) > limit - 1:
        text = text[:-1]
    return text + "…"


def data_of(action: dict) -> str:
    """What a postback action carries back: the payload when it fits in
    LINE's 300 bytes, else ACTION_REF + the action's `_id`, which `parse`
    returns as `actionId` for the engine to resolve."""
    payload = str(action.get("payload") or "")
    if 0 < len(payload.encode()) <= DATA_BYTES and not payload.startswith(ACTION_REF):
        return payload
    if not action.get("_id"):
        raise PlatformError("a postback payload over 300 bytes needs the action's _id to be referred to",
                            permanent=True, code="rejected")
    return ACTION_REF + action["_id"]


def line_action(action: dict) -> dict | None:
    """A template action for a `link` (webview, buy with a uri) or
    `postback` action; None for what goes elsewhere (replies, location
    requests) or LINE has no action for (share)."""
    kind = action.get("type")
    label = _clip(action.get("text") or action.get("uri") or action.get("payload") or "…", LABEL_LIMIT)
    if kind in LINK_TYPES and action.get("uri"):
        return {"type": "uri", "label": label, "uri": action["uri"]}
    if kind == "postback":
        return {"type": "postback", "label": label, "data": data_of(action)}
    return None


def quick_reply_item(action: dict) -> dict | None:
    label = _clip(action.get("text") or "…", LABEL_LIMIT)
    if action.get("type") == "reply":
        item = {"type": "action", "action": {"type": "message", "label": label,
                                             "text": _clip(action.get("text") or label, MESSAGE_ACTION_TEXT)}}
        if str(action.get("iconUrl") or "").startswith("https://"):
            item["imageUrl"] = action["iconUrl"]
        return item
    if action.get("type") == "locationRequest":
        return {"type": "action", "action": {"type": "location", "label": label}}
    return None


def _chunks(values: list, size: int) -> list[list]:
    return [values[start:start + size] for start in range(0, len(values), size)]


def _texts(text: str) -> list[dict]:
    return [{"type": "text", "text": piece} for piece in split_text(text, TEXT_LIMIT)] if text else []


def _template(alt_text: str, template: dict) -> dict:
    return {"type": "template", "altText": _clip(alt_text or "…", ALT_TEXT_LIMIT), "template": template}


def text_and_buttons(text: str, actions: list) -> list[dict]:
    """The message objects for a text and its buttons: text messages, a
    confirm template for exactly two buttons, else buttons templates of 4."""
    buttons = [a for a in map(line_action, actions) if a]
    if not buttons:
        return _texts(text)
    messages = []
    if text and utf16_length(text) > BUTTONS_TEXT:
        messages, text = _texts(text), ""
    for group in _chunks(buttons, BUTTONS):
        body = text or _clip("\n".join(b["label"] for b in group), BUTTONS_TEXT)
        kind = "confirm" if len(group) == 2 else "buttons"
        messages.append(_template(body, {"type": kind, "text": body, "actions": group}))
        text = ""
    return messages


def _https(url) -> bool:
    return isinstance(url, str) and url.startswith("https://")


def _columns(items: list) -> list[dict]:
    """Carousel columns for `items`. LINE wants every column alike: a
    thumbnail on all or none (all when every item has an HTTPS image), a
    title on all or none (all when every item has a description, which is
    then the text; else the text is the title and description), and the same
    number of actions (up to 3): a column with fewer is given "message"
    actions that send its title, so tapping it still picks it."""
    images = bool(items) and all(_https(item.get("mediaUrl")) for item in items)
    titled = bool(items) and all(item.get("description") for item in items)
    actions = [[a for a in map(line_action, item.get("actions") or []) if a][:COLUMN_ACTIONS] for item in items]
    width = max([len(each) for each in actions] + [1])
    limit = COLUMN_TEXT_WITH_IMAGE if images or titled else COLUMN_TEXT
    columns = []
    for item, own in zip(items, actions):
        title = str(item.get("title") or "…")
        pick = {"type": "message", "label": _clip(title, LABEL_LIMIT), "text": _clip(title, MESSAGE_ACTION_TEXT)}
        column = {"text": _clip(item["description"] if titled else
                                "\n".join(p for p in (title, item.get("description")) if p), limit),
                  "actions": own + [pick] * (width - len(own))}
        if titled:
            column["title"] = _clip(title, COLUMN_TITLE)
        if images:
            column["thumbnailImageUrl"] = item["mediaUrl"]
        columns.append(column)
    return columns


def _with_quick_replies(messages: list[dict], actions: list) -> list[dict]:
    """`reply` and `locationRequest` actions as quick replies on the last
    object (a text of their labels when there is none)."""
    items = [item for item in map(quick_reply_item, actions) if item][:QUICK_REPLIES]
    if not items:
        return messages
    if not messages:
        messages = [{"type": "text", "text": "\n".join(i["action"]["label"] for i in items)}]
    messages[-1] = {**messages[-1], "quickReply": {"items": items}}
    return messages


def render(message) -> list[dict]:
    """`message` as the Messaging API's message objects, in sending order."""
    actions = list(message.actions or [])
    if message.type in ("carousel", "list"):
        parts = _texts(message.text)
        for group in _chunks(_columns(message.items or []), COLUMNS):
            alt = "\n".join(c.get("title") or c["text"] for c in group)
            parts.append(_template(message.text or alt, {"type": "carousel", "columns": group}))
        parts += text_and_buttons("", actions)
    elif message.type == "location" and message.coordinates:
        c = message.coordinates
        parts = [{"type": "location", "title": _clip(message.text.split("\n")[0] if message.text else "Location",
                                                     LOCATION_TEXT),
                  "address": _clip(f"{c.get('lat')}, {c.get('long')}", LOCATION_TEXT),
                  "latitude": c.get("lat"), "longitude": c.get("long")}]
    else:
        parts = []
        text = message.text or ""
        if message.type == "image" and message.media_url:
            if _https(message.media_url):
                parts.append({"type": "image", "originalContentUrl": message.media_url,
                              "previewImageUrl": message.media_url})
            else:  # LINE takes HTTPS images only
                text = "\n".join(p for p in (text, message.media_url) if p)
        parts += text_and_buttons(text, actions)
    return _with_quick_replies(parts, actions)


def _explain(response) -> PlatformError:
    """A refusal in LINE's own words (`message`, and the first `details`)."""
    body = base.response_object(response)
    status = response.status_code
    said = str(body.get("message") or f"HTTP {status}")[:300]
    details = body.get("details") if isinstance(body.get("details"), list) else []
    parts = [f"{d.get('property')}: {d.get('message')}" for d in details[:3] if isinstance(d, dict)]
    reason = said + (f" ({'; '.join(parts)})" if parts else "")
    if status == 401:
        return PlatformError(f"LINE refused the channel access token: {reason}", permanent=True,
                             code="bad_credentials")
    if status == 429:
        return PlatformError(f"LINE rate limited the channel: {reason}", permanent=False, code="rate_limited",
                             retry_after=base._retry_after(response))
    if status == 400 and said.strip().lower().rstrip(".") == INVALID_REPLY_TOKEN:
        return PlatformError(f"LINE: {reason}", permanent=True, code="invalid_reply_token")
    return PlatformError(f"LINE refused the call ({status}): {reason}", permanent=True, code="rejected")


def signature(secret: str, body: bytes) -> str:
    """X-Line-Signature for `body`: base64(HMAC-SHA256(channel secret, body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Line(Integration):
    type = "line"
    label = "LINE"
    # Not `silent`: notificationDisabled exists, but the capability grid
    # counts LINE as notifying, like Telegram.
    capabilities = Capabilities(native=frozenset({"text", "image", "carousel", "list", "location"}),
                                text_fallback=frozenset(), push=True)
    limits = Limits(text=TEXT_LIMIT, actions=BUTTONS, items=COLUMNS, action_text=LABEL_LIMIT,
                    payload_bytes=DATA_BYTES)
    fields = (
        Field("channelAccessToken", "Channel access token", secret=True,
              help="LINE Developers console > the Messaging API channel > Messaging API > Channel access token "
                   "(long-lived)."),
        Field("channelSecret", "Channel secret", secret=True,
              help="LINE Developers console > the channel > Basic settings > Channel secret."),
    )

    # Calls.

    def _token(self, credentials: dict | None = None) -> str:
        if credentials is None:
            if self.integration is None:
                raise PlatformError("no line integration connected", permanent=True, code="no_integration")
            credentials = self.credentials
        token = str(credentials.get("channelAccessToken") or "").strip()
        if not token:
            raise PlatformError("the LINE integration has no channel access token", permanent=True,
                                code="bad_credentials")
        return token

    def _call(self, method: str, path: str, *, credentials: dict | None = None, **kwargs) -> dict:
        """One Messaging API call; its JSON object answer ({} for none)."""
        headers = {"Authorization": f"Bearer {self._token(credentials)}"}
        response = base.http_call(method, f"{base.api_base(self.type)}{path}", headers=headers,
                                  explain=_explain, **kwargs)
        return base.response_object(response)

    # Set-up.

    def check(self, credentials: dict) -> base.Connected:
        if not str(credentials.get("channelSecret") or "").strip():
            raise PlatformError("a channel secret is required", permanent=True, code="bad_credentials")
        info = self._call("GET", "/v2/bot/info", credentials=credentials)
        if not info.get("userId"):
            raise PlatformError("LINE answered /v2/bot/info without the bot's userId", permanent=True)
        details = {"botUserId": str(info["userId"])}
        if info.get("basicId"):
            details["basicId"] = str(info["basicId"])
        return base.Connected(display_name=str(info.get("displayName") or ""), details=details)

    def register_webhook(self, url: str) -> None:
        self._call("PUT", "/v2/bot/channel/webhook/endpoint", json={"endpoint": url})

    def unregister_webhook(self) -> None:
        """Nothing: LINE has no call to remove the endpoint and refuses an
        empty one (see the module docstring)."""

    # Sending.

    def send(self, delivery) -> str:
        client = delivery.client
        messages = render(delivery.message)
        if not messages:
            raise PlatformError(f"nothing to send to LINE in this {delivery.message.type} message",
                                permanent=True, code="rejected")
        extra = {} if delivery.notify else {"notificationDisabled": True}
        batches = _chunks(messages, MESSAGES_PER_REQUEST)
        ids = []
        token = self._take_reply_token(client)
        if token:
            try:
                ids += self._sent("/v2/bot/message/reply", {"replyToken": token, "messages": batches[0], **extra})
                batches = batches[1:]
            except PlatformError as error:
                if error.code != "invalid_reply_token":
                    raise
                logger.info("integration %s: LINE refused the reply token; pushing instead",
                            getattr(self.integration, "id", ""))
        for batch in batches:
            ids += self._sent("/v2/bot/message/push", {"to": client.external_id, "messages": batch, **extra})
        return ids[0] if ids else ""

    @staticmethod
    def _take_reply_token(client) -> str:
        """The user's latest reply token when it is still fresh, taken off
        the client (a conditional update: one delivery wins it, the others
        find it gone and push); "" when there is none to use."""
        token, last = client.last_inbound_ref, client.last_inbound_at
        if not token or last is None or last < timezone.now() - timedelta(seconds=REPLY_TOKEN_SECONDS):
            return ""
        won = Client.objects.filter(pk=client.pk, last_inbound_ref=token).update(last_inbound_ref="")
        client.last_inbound_ref = ""
        return token if won else ""

    def _sent(self, path: str, body: dict) -> list[str]:
        answer = self._call("POST", path, json=body)
        sent = answer.get("sentMessages") if isinstance(answer.get("sentMessages"), list) else []
        return [str(m["id"]) for m in sent if isinstance(m, dict) and m.get("id")] or [""]

    # Inbound.

    def verify(self, request) -> list[base.RawEvent]:
        """The signature first (403 when missing or wrong), then the body:
        a JSON object whose `events` is a list of objects, each with a
        string webhookEventId (400 when not). The console's "Verify" button
        posts no events: nothing is stored."""
        secret = str(self.credentials.get("channelSecret") or "")
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not secret or not given or not hmac.compare_digest(given.encode(),
                                                              signature(secret, request.body).encode()):
            raise base.InboundRefused(f"the {SIGNATURE_HEADER} header is missing or wrong", status=403)
        body = base.json_body(request)
        events = body.get("events")
        if not isinstance(events, list):
            raise base.InboundRefused("a LINE webhook has a list of events", status=400)
        raw = []
        for event in events:
            key = event.get("webhookEventId") if isinstance(event, dict) else None
            if not isinstance(key, str) or not key:
                raise base.InboundRefused("every LINE webhook event has a webhookEventId", status=400)
            raw.append(base.RawEvent(key=key, payload=event))
        return raw

    def parse(self, payload: dict) -> list[base.InboundEvent]:
        """One webhook event from a user (group and room events are left):
        - message: text -> "message"; image -> "message" with the content
          fetched from the content host with the token (or, for an image LINE
          does not hold, `contentProvider.originalContentUrl`) as `media`;
          location -> "message" with coordinates and its title and address
          as text; stickers, video, audio, files: no event;
        - postback -> "postback" with `payload` (or `actionId`, see
          data_of); `params` (date pickers, rich menu switches) is not used;
        - follow (added as a friend, or unblocked) -> "start";
        - unfollow (blocked) -> "inactive": LINE accepts pushes to a user who
          blocked the account and drops them, so the engine stops targeting
          the client until the user writes again;
        - anything else (join, leave, memberJoined, beacon...): no event.
        Each user event carries `inboundRef`: its replyToken."""
        source = payload.get("source") if isinstance(payload.get("source"), dict) else {}
        user_id = source.get("userId")
        if source.get("type") != "user" or not isinstance(user_id, str) or not user_id:
            return []
        kind = payload.get("type")
        if kind == "unfollow":
            return [base.InboundEvent("inactive", user_id, {})]
        data = {}
        if isinstance(payload.get("replyToken"), str) and payload["replyToken"]:
            data["inboundRef"] = payload["replyToken"]
        if kind == "follow":
            return [base.InboundEvent("start", user_id, {**data, **self._names(user_id)})]
        if kind == "postback":
            postback = payload.get("postback") if isinstance(payload.get("postback"), dict) else {}
            value = postback.get("data")
            if not isinstance(value, str) or not value:
                return []
            data.update({"actionId": value[len(ACTION_REF):]} if value.startswith(ACTION_REF) else {"payload": value})
            return [base.InboundEvent("postback", user_id, {**data, **self._names(user_id)})]
        if kind == "message" and isinstance(payload.get("message"), dict):
            content = self._message(payload["message"])
            if content is not None:
                return [base.InboundEvent("message", user_id, {**data, **content, **self._names(user_id)})]
        return []

    def _message(self, message: dict) -> dict | None:
        data = {"platformMessageId": str(message.get("id") or "")}
        kind = message.get("type")
        if kind == "text" and isinstance(message.get("text"), str):
            return {**data, "text": message["text"]}
        if kind == "image" and message.get("id"):
            return {**data, "media": self._content(message)}
        if kind == "location" and _number(message.get("latitude")) and _number(message.get("longitude")):
            label = ", ".join(str(message[k]) for k in ("title", "address") if message.get(k))
            data["coordinates"] = {"lat": message["latitude"], "long": message["longitude"]}
            return {**data, "text": label} if label else data
        return None

    def _content(self, message: dict) -> base.Media:
        provider = message.get("contentProvider") if isinstance(message.get("contentProvider"), dict) else {}
        if provider.get("type") == "external" and _https(provider.get("originalContentUrl")):
            return base.fetch_media(provider["originalContentUrl"])
        url = f"{settings.PARLEY_LINE_DATA_API_BASE.rstrip('/')}/v2/bot/message/{quote(str(message['id']), safe='')}/content"
        # Not _explain: a 404 here is content gone (LINE keeps it a while), not a bad token.
        media = base.fetch_media(url, headers={"Authorization": f"Bearer {self._token()}"})
        if not media.content_type.startswith("image/"):
            media.content_type = "image/jpeg"
        return media

    def _names(self, user_id: str) -> dict:
        """The user's displayName from the profile API, on their first event
        only (later events find the client and its names); a refusal (404:
        not a friend, blocked, no consent) loses no event."""
        if self.knows_user(user_id):
            return {}
        try:
            profile = self._call("GET", f"/v2/bot/profile/{quote(user_id, safe='')}")
        except PlatformError as error:
            if not error.permanent:
                raise
            logger.warning("integration %s: the profile of a LINE user was not read: %s",
                           getattr(self.integration, "id", ""), error.message)
            return {}
        name = str(profile.get("displayName") or "")
        return {"displayName": name} if name else {}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
