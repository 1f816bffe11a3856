"""Facebook Messenger: a Facebook Page on the Messenger Platform, through
Meta's Graph API (graph.py: `{PARLEY_MESSENGER_API_BASE}/v{version}/...`
with the Page access token as a bearer and `appsecret_proof`).

Set-up: `GET /me?fields=id,name` names the Page; `POST /{page-id}/
subscribed_apps` subscribes the app to the Page's messaging fields (without
it Meta sends no event) and `POST /me/messenger_profile` sets the "Get
Started" button's payload (GET_STARTED), so that a user opening the
conversation is a `start`. The callback URL and the verify token are pasted
in the Meta app's Webhooks settings by hand (`setup_hint`): Meta has no
call for a Page to set them.

Sending is `POST /me/messages` `{recipient: {id: PSID}, messaging_type,
message | sender_action, notification_type}`, answered `{recipient_id,
message_id}`. As Smooch rendered messages on Messenger:
- text in messages of at most 2,000 characters (split_text);
- `link` and `postback` actions as a button template (text 640, 3 buttons):
  more than 3 go as further button templates of 3, each showing its
  buttons' labels as its text (nothing is dropped); a text over 640 goes
  as text messages before the first template. A postback payload over
  1,000 characters travels as ACTION_REF + the action's `_id`;
- `reply` actions as quick replies (13 at most, titles clipped to 20) on
  the last message sent; `locationRequest` as the text fallback line
  "<App> has requested a location" (Meta removed location quick replies in
  2019);
- an image as an image attachment, its text (and buttons) as a message of
  its own after it (attachments carry no text);
- a carousel as generic templates (10 elements, title and subtitle 80,
  image_url, 3 buttons each), the message's text before them and its own
  buttons after; a `list` the same way (the list template is deprecated
  since Graph API v4.0, so a list is shown as a carousel, as the capability
  table's "full" for it allows);
- a location as its text fallback (Messenger has no location message).
`notification_type` is NO_PUSH for a silent copy, REGULAR otherwise. A
delivery of several messages returns the first one's id.

The 24-hour rule: a Page may answer within 24 hours of the user's last
message (`messaging_type: RESPONSE`); up to 7 days with the HUMAN_AGENT tag
when the app has the Human Agent permission (`humanAgent: enabled`); else
the delivery fails with `outside_window` without a call (rule 5's failover
moves on).

Inbound: Meta posts `{"object": "page", "entry": [{"id", "time",
"messaging": [event]}]}` signed with the app secret; each messaging event
is one RawEvent (see `split` for the keys and `parse` for what each
becomes).
"""

import logging
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from messaging.integrations import base, fallback
from messaging.integrations.base import Capabilities, Field, InboundRefused, Limits, PlatformError
from messaging.integrations.graph import GraphIntegration

logger = logging.getLogger(__name__)

TEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 640  # a button template's text
BUTTONS = 3  # per button template, per generic template element
QUICK_REPLIES = 13
TITLE_LIMIT = 20  # a button's or quick reply's title
ELEMENTS = 10  # per generic template
ELEMENT_TEXT_LIMIT = 80  # an element's title and subtitle
PAYLOAD_LIMIT = 1000  # a postback's or quick reply's payload
# A payload naming an action by its `_id`, for one that does not fit (or
# that starts with this prefix itself, so the two forms never mix up).
ACTION_REF = "parley:action:"
GET_STARTED = "PARLEY_GET_STARTED"
# The persistent menu (Messenger Profile API): since Graph API v8.0 a flat
# list of up to 20 web_url / postback buttons (nested menus were removed),
# titles of at most 30 characters. A Parley menu holds at most 5 items, so
# every item goes, in order; nothing is folded or dropped.
MENU_BUTTONS = 20
MENU_TITLE_LIMIT = 30
SUBSCRIBED_FIELDS = ("messages", "messaging_postbacks", "messaging_referrals", "message_deliveries",
                     "message_reads")
WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
LINK_TYPES = ("link", "webview", "buy")

# Meta's own refusals (developers.facebook.com/docs/messenger-platform/error-codes).
OUTSIDE_WINDOW = (10, 2018278)
UNAVAILABLE = {(551, None), (200, 1545041), (551, 1545041)}
NO_MATCHING_USER = (100, 2018001)


def _clip(text: str, limit: int) -> str:
    """`text` within `limit` characters (an ellipsis shows the cut)."""
    text = str(text or "")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def payload_of(action: dict) -> str:
    """What a postback button or quick reply carries back: the payload when
    it fits in Messenger's 1,000 characters, else ACTION_REF + the action's
    `_id`, which `parse` returns as `actionId` for the engine to resolve."""
    payload = str(action.get("payload") or "")
    if 0 < len(payload) <= PAYLOAD_LIMIT and not payload.startswith(ACTION_REF):
        return payload
    if not action.get("_id"):
        raise PlatformError("a payload over 1,000 characters needs the action's _id to be referred to",
                            permanent=True, code="rejected")
    return ACTION_REF + action["_id"]


def button(action: dict) -> dict | None:
    """A Messenger button for a `link` (or webview, or buy with a checkout
    page) or `postback` action; None for what Messenger has no button for
    (share, reply and location requests go elsewhere)."""
    kind = action.get("type")
    title = _clip(action.get("text") or action.get("uri") or action.get("payload") or "", TITLE_LIMIT)
    if kind in LINK_TYPES and action.get("uri"):
        return {"type": "web_url", "url": action["uri"], "title": title}
    if kind == "postback":
        return {"type": "postback", "title": title, "payload": payload_of(action)}
    return None


def menu_button(item: dict) -> dict:
    """A persistent menu button for a menu item (link or postback)."""
    title = _clip(item.get("text", ""), MENU_TITLE_LIMIT)
    if item.get("type") == "link":
        return {"type": "web_url", "title": title, "url": item["uri"], "webview_height_ratio": "full"}
    return {"type": "postback", "title": title, "payload": payload_of(item)}


def quick_reply(action: dict) -> dict:
    reply = {"content_type": "text", "title": _clip(action.get("text", ""), TITLE_LIMIT),
             "payload": payload_of(action)}
    if action.get("iconUrl"):
        reply["image_url"] = action["iconUrl"]
    return reply


def _button_template(text: str, buttons: list[dict]) -> dict:
    return {"attachment": {"type": "template", "payload": {
        "template_type": "button", "text": text, "buttons": buttons}}}


def _labels(buttons: list[dict]) -> str:
    return _clip("\n".join(b["title"] for b in buttons), BUTTON_TEXT_LIMIT)


def _element(item: dict) -> dict:
    element = {"title": _clip(item.get("title") or "…", ELEMENT_TEXT_LIMIT)}
    if item.get("description"):
        element["subtitle"] = _clip(item["description"], ELEMENT_TEXT_LIMIT)
    if item.get("mediaUrl"):
        element["image_url"] = item["mediaUrl"]
    buttons = [b for b in map(button, item.get("actions") or []) if b][:BUTTONS]
    if buttons:
        element["buttons"] = buttons
    return element


def _chunks(values: list, size: int) -> list[list]:
    return [values[start:start + size] for start in range(0, len(values), size)]


def text_and_buttons(text: str, actions: list, app_name: str) -> list[dict]:
    """The message objects for a text and its buttons: text messages, or
    button templates of 3 (see the module docstring)."""
    lines = [text] if text else []
    if any(a.get("type") == "locationRequest" for a in actions):
        lines += fallback.action_lines([{"type": "locationRequest"}], app_name)
    text = "\n".join(lines)
    buttons = [b for b in map(button, actions) if b]
    messages = []
    if text and (not buttons or len(text) > BUTTON_TEXT_LIMIT):
        messages = [{"text": piece} for piece in fallback.split_text(text, TEXT_LIMIT)]
        text = ""
    for group in _chunks(buttons, BUTTONS):
        messages.append(_button_template(text or _labels(group), group))
        text = ""
    return messages


def _with_quick_replies(messages: list[dict], actions: list) -> list[dict]:
    """`reply` actions as quick replies on the last message (a message of
    the replies' labels when there is none)."""
    replies = [quick_reply(a) for a in actions if a.get("type") == "reply"][:QUICK_REPLIES]
    if not replies:
        return messages
    if not messages:
        messages = [{"text": "\n".join(r["title"] for r in replies)}]
    messages[-1] = {**messages[-1], "quick_replies": replies}
    return messages


def render(message) -> list[dict]:
    """`message` as the Send API's message objects, in sending order."""
    app_name = message.app.name
    actions = list(message.actions or [])
    if message.type in ("carousel", "list"):
        parts = text_and_buttons(message.text, [], app_name) if message.text else []
        elements = [_element(item) for item in message.items or []]
        parts += [{"attachment": {"type": "template", "payload": {"template_type": "generic", "elements": group}}}
                  for group in _chunks(elements, ELEMENTS)]
        parts += text_and_buttons("", actions, app_name)
    elif message.type == "location":
        parts = text_and_buttons(fallback.render_text(message, app_name), [], app_name)
    else:
        parts = []
        if message.type == "image" and message.media_url:
            parts.append({"attachment": {"type": "image", "payload": {"url": message.media_url,
                                                                       "is_reusable": True}}})
        parts += text_and_buttons(message.text, actions, app_name)
    return _with_quick_replies(parts, actions)


def own_errors(code, subcode, message, status) -> PlatformError | None:
    """Messenger's refusals the engine acts on."""
    if (code, subcode) == OUTSIDE_WINDOW:
        return PlatformError(f"Messenger refused a message outside the 24-hour window: {message}",
                             permanent=True, code="outside_window")
    if (code, subcode) in UNAVAILABLE or code == 551:
        return PlatformError(f"Messenger: the person is not available (blocked the Page or left): {message}",
                             permanent=True, code="blocked")
    if (code, subcode) == NO_MATCHING_USER:
        return PlatformError(f"Messenger does not know this user for the Page: {message}", permanent=True,
                             code="rejected")
    return None


def _from_ms(value) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


class Messenger(GraphIntegration):
    type = "messenger"
    label = "Facebook Messenger"
    capabilities = Capabilities(native=frozenset({"text", "image", "carousel", "list"}),
                                text_fallback=frozenset({"location"}), typing=True, read_receipts=True,
                                push=True, silent=True)
    limits = Limits(text=TEXT_LIMIT, actions=BUTTONS, items=ELEMENTS, action_text=TITLE_LIMIT,
                    payload_bytes=PAYLOAD_LIMIT)
    fields = (
        Field("pageAccessToken", "Page access token", secret=True,
              help="A Page access token with pages_messaging (Meta app > Messenger > Settings)."),
        Field("appId", "App ID", help="The Meta app's ID (App settings > Basic)."),
        Field("appSecret", "App secret", secret=True,
              help="The Meta app's secret: it signs every webhook Meta posts (App settings > Basic)."),
        Field("humanAgent", "Human agent tag", required=False, choices=("disabled", "enabled"),
              help="enabled when the app has the Human Agent permission: replies up to 7 days after the "
                   "user's last message (HUMAN_AGENT tag) instead of 24 hours."),
    )
    token_field = "pageAccessToken"
    object_name = "page"
    marks_read = True
    shows_menu = True
    # Messenger shows typing_on for 20 seconds (or until the next message).
    typing_lasts = 20
    setup_hint = ("In the Meta app: Messenger > Settings > Webhooks, paste the inbound URL as the callback URL "
                  "and this verify token, subscribe the Page to messages, messaging_postbacks, "
                  "messaging_referrals, message_deliveries and message_reads (Parley subscribes the Page "
                  "itself when the integration is created).")
    own_errors = staticmethod(own_errors)

    def __init__(self, integration=None):
        super().__init__(integration)
        self._page_id = ""

    # Set-up.

    def check(self, credentials: dict) -> base.Connected:
        page = self.graph("GET", "me", credentials=credentials, params={"fields": "id,name"})
        if not page.get("id"):
            raise PlatformError("Messenger answered /me without the Page's id", permanent=True)
        self._page_id = str(page["id"])
        name = str(page.get("name") or "")
        return base.Connected(display_name=name, details={"pageId": self._page_id, "pageName": name})

    def _page(self) -> str:
        """The Page's id: from `check` on this instance (a new or rotated
        token), else the one stored with the integration."""
        page_id = self._page_id or str((self.integration.details or {}).get("pageId") or "")
        return page_id or self.check(self.credentials).details["pageId"]

    def register_webhook(self, url: str) -> None:
        """Subscribe the app to the Page's messaging events and set the Get
        Started payload; `url` itself is set in the app's dashboard."""
        self._subscribe()
        self.graph("POST", "me/messenger_profile", json={"get_started": {"payload": GET_STARTED}})

    def _subscribe(self) -> None:
        answer = self.graph("POST", f"{self._page()}/subscribed_apps",
                            params={"subscribed_fields": ",".join(SUBSCRIBED_FIELDS)})
        if answer.get("success") is not True:
            raise PlatformError("Messenger did not subscribe the Page", permanent=True)

    def unregister_webhook(self) -> None:
        self.graph("DELETE", f"{self._page()}/subscribed_apps")

    def push_menu(self, menu: dict | None) -> None:
        """The Page's persistent menu (`POST /me/messenger_profile`
        `persistent_menu`, the default locale, the composer left on), or
        none (`DELETE /me/messenger_profile` with fields persistent_menu).
        Meta shows it only with a Get Started button, which
        register_webhook sets."""
        if not menu or not menu.get("items"):
            self.graph("DELETE", "me/messenger_profile", json={"fields": ["persistent_menu"]})
            return
        buttons = [menu_button(item) for item in menu["items"][:MENU_BUTTONS]]
        self.graph("POST", "me/messenger_profile", json={"persistent_menu": [
            {"locale": "default", "composer_input_disabled": False, "call_to_actions": buttons}]})

    # Sending.

    def send(self, delivery) -> str:
        if self.integration is None:
            raise PlatformError("no messenger integration connected", permanent=True, code="no_integration")
        window = self._window(delivery.client)
        base_body = {"recipient": {"id": delivery.client.external_id}, **window,
                     "notification_type": "REGULAR" if delivery.notify else "NO_PUSH"}
        ids = [self._send({**base_body, "message": part}) for part in render(delivery.message)]
        if not ids:
            raise PlatformError(f"nothing to send to Messenger in this {delivery.message.type} message",
                                permanent=True, code="rejected")
        return ids[0]

    def _window(self, client) -> dict:
        """messaging_type (and tag) for a message to `client` now, by the
        24-hour rule; PlatformError(outside_window) when none applies."""
        last = client.last_inbound_at
        age = timezone.now() - last if last is not None else None
        if age is not None and age <= WINDOW:
            return {"messaging_type": "RESPONSE"}
        human_agent = self.credentials.get("humanAgent") == "enabled"
        if age is not None and age <= HUMAN_AGENT_WINDOW and human_agent:
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        since = "never wrote to the Page" if age is None else f"last wrote {age.days}d {age.seconds // 3600}h ago"
        allowed = "7 days (HUMAN_AGENT tag)" if human_agent else "24 hours"
        raise PlatformError(f"outside Messenger's messaging window: the user {since}; a Page may write up to "
                            f"{allowed} after the user's last message", permanent=True, code="outside_window")

    def _send(self, body: dict) -> str:
        answer = self.graph("POST", "me/messages", json=body)
        if not answer.get("message_id"):
            raise PlatformError("Messenger answered without a message_id", permanent=True)
        return str(answer["message_id"])

    def _sender_action(self, client, action: str) -> None:
        self.graph("POST", "me/messages", json={"recipient": {"id": client.external_id}, "sender_action": action})

    def send_typing(self, client, state: str, name: str = "", avatar_url: str = "") -> None:
        self._sender_action(client, "typing_on" if state == "start" else "typing_off")

    def send_read(self, client) -> None:
        self._sender_action(client, "mark_seen")

    # Inbound.

    def split(self, entries: list[dict]) -> list[base.RawEvent]:
        """Each entry's `messaging` events, keyed: a message by its mid, a
        postback by its mid (else sender and timestamp), a delivery or read
        by sender and watermark, a referral by sender and timestamp. The
        Page's own sends echoed back (`is_echo`) and kinds Parley does not
        subscribe to make no event; an entry or event not shaped as Meta
        posts them is a 400 (nothing is stored)."""
        events = []
        for entry in entries:
            messaging = entry.get("messaging", [])
            if not isinstance(messaging, list) or not all(isinstance(e, dict) for e in messaging):
                raise InboundRefused("an entry's messaging is a list of objects", status=400)
            for event in messaging:
                key = _key(event)
                if key:
                    events.append(base.RawEvent(key=key, payload=event))
        return events

    def parse(self, payload: dict) -> list[base.InboundEvent]:
        """One messaging event as events:
        - a message: text -> "message" (a quick reply's payload as `payload`,
          or `actionId` for a reference, see payload_of); each image
          attachment -> "message" with the file fetched as `media`; a
          location attachment -> "message" with coordinates; other
          attachments (audio, video, files): no event;
        - a postback -> "postback" with payload (or actionId) and the
          button's title; the Get Started button's -> "start" (with the
          m.me link's ref as payload when it came with one);
        - a referral (an m.me link or ad opened in an existing
          conversation) -> "start" with its ref as payload;
        a ref that is a link request's code gives `appUserId` instead of
        the payload (`_referral`);
        - a delivery -> "delivery" with a `watermark` (and one per mid
          given); a read -> "read" with a `watermark`.
        The user's names come from the profile API on their first event."""
        psid = str(payload["sender"]["id"])
        # In `_key`'s order: the part of the event it checked.
        if "message" in payload:
            events = self._message(psid, payload["message"])
        elif "delivery" in payload:
            return self._delivery(psid, payload["delivery"])
        elif "read" in payload:
            return [base.InboundEvent("read", psid, {"watermark": _from_ms(payload["read"]["watermark"])})]
        elif "postback" in payload:
            events = [self._postback(psid, payload["postback"])]
        else:
            ref = payload.get("referral") if isinstance(payload.get("referral"), dict) else {}
            events = [base.InboundEvent("start", psid, self._referral(ref))]
        if events:
            names = self._names(psid)
            for event in events:
                event.data = {**names, **event.data}
        return events

    @staticmethod
    def _delivery(psid: str, delivery: dict) -> list[base.InboundEvent]:
        events = [base.InboundEvent("delivery", psid, {"watermark": _from_ms(delivery["watermark"]),
                                                       "state": "delivered"})]
        for mid in delivery.get("mids") or []:
            if isinstance(mid, str) and mid:
                events.append(base.InboundEvent("delivery", psid, {"platformMessageId": mid,
                                                                   "state": "delivered"}))
        return events

    def _message(self, psid: str, message: dict) -> list[base.InboundEvent]:
        data = {"platformMessageId": str(message["mid"])}
        events = []
        if isinstance(message.get("text"), str) and message["text"]:
            text_data = {**data, "text": message["text"]}
            reply = message.get("quick_reply")
            if isinstance(reply, dict) and isinstance(reply.get("payload"), str) and reply["payload"]:
                text_data.update(_payload(reply["payload"]))
            events.append(base.InboundEvent("message", psid, text_data))
        attachments = message.get("attachments") if isinstance(message.get("attachments"), list) else []
        for attachment in attachments:
            found = self._attachment(attachment)
            if found:
                events.append(base.InboundEvent("message", psid, {**data, **found}))
        return events

    @staticmethod
    def _attachment(attachment) -> dict:
        """An image (fetched from Meta's CDN) or a location's coordinates."""
        if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
            return {}
        payload = attachment["payload"]
        if attachment.get("type") == "image" and isinstance(payload.get("url"), str):
            return {"media": base.fetch_media(payload["url"])}
        coordinates = _coordinates(payload.get("coordinates"))
        if attachment.get("type") == "location" and coordinates:
            found = {"coordinates": coordinates}
            if attachment.get("title"):
                found["text"] = str(attachment["title"])
            return found
        return {}

    def _referral(self, referral: dict) -> dict:
        """A start's data from an m.me link's `ref`: the app user a link
        request's ref names (`appUserId`), else the ref as the payload."""
        if not referral.get("ref"):
            return {}
        ref = str(referral["ref"])
        linked = base.linked_app_user(self.integration, ref)
        return {"appUserId": linked} if linked else {"payload": ref}

    def _postback(self, psid: str, postback: dict) -> base.InboundEvent:
        payload = str(postback.get("payload") or "")
        referral = postback.get("referral") if isinstance(postback.get("referral"), dict) else {}
        if payload == GET_STARTED:
            return base.InboundEvent("start", psid, self._referral(referral))
        data = _payload(payload)
        if postback.get("title"):
            data["text"] = str(postback["title"])
        return base.InboundEvent("postback", psid, data)

    def _names(self, psid: str) -> dict:
        """The user's names from the profile API, on their first event only
        (later events find the client and its names); a refusal (the app
        lacks the permission, the user restricts it) loses no event."""
        if self.knows_user(psid):
            return {}
        try:
            profile = self.graph("GET", psid, params={"fields": "first_name,last_name"})
        except PlatformError as error:
            logger.warning("integration %s: the profile of a Messenger user was not read: %s",
                           getattr(self.integration, "id", ""), error.message)
            return {}
        names = {"givenName": str(profile.get("first_name") or ""), "surname": str(profile.get("last_name") or "")}
        return {key: value for key, value in names.items() if value}


def _payload(value: str) -> dict:
    if value.startswith(ACTION_REF):
        return {"actionId": value[len(ACTION_REF):]}
    return {"payload": value}


def _coordinates(value) -> dict | None:
    """{"lat", "long"} from a location attachment, when they are numbers on Earth."""
    if not isinstance(value, dict):
        return None
    lat, long = value.get("lat"), value.get("long")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, long)):
        return None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        return None
    return {"lat": lat, "long": long}


def _key(event: dict) -> str:
    """The duplicate key of one messaging event ("" for one that makes no
    event); InboundRefused (400) when it is malformed."""
    sender = event.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str) or not psid:
        raise InboundRefused("a messaging event has a sender.id", status=400)
    timestamp = event.get("timestamp")
    if "message" in event:
        message = event["message"]
        if not isinstance(message, dict) or not isinstance(message.get("mid"), str) or not message["mid"]:
            raise InboundRefused("a message event has a message.mid", status=400)
        return "" if message.get("is_echo") else f"message:{message['mid']}"
    for kind in ("delivery", "read"):
        if kind in event:
            body = event[kind]
            if not isinstance(body, dict) or not _number(body.get("watermark")):
                raise InboundRefused(f"a {kind} event has a numeric watermark", status=400)
            return f"{kind}:{psid}:{body['watermark']}"
    if "postback" in event or "referral" in event:
        kind = "postback" if "postback" in event else "referral"
        if not isinstance(event[kind], dict):
            raise InboundRefused(f"a {kind} event's {kind} is an object", status=400)
        mid = event[kind].get("mid")
        if isinstance(mid, str) and mid:
            return f"{kind}:{mid}"
        if not _number(timestamp):
            raise InboundRefused(f"a {kind} event has a timestamp", status=400)
        return f"{kind}:{psid}:{timestamp}"
    return ""  # reactions, optins, handovers...: not subscribed to
