"""WhatsApp: the WhatsApp Business Cloud API, on Meta's Graph API
(messaging.integrations.graph): `{PARLEY_WHATSAPP_API_BASE}/v{version}/...`
with the system user's access token as a bearer header.

Set-up: `GET /{phone-number-id}?fields=display_phone_number,verified_name`
checks the token and names the number; `POST /{waba-id}/subscribed_apps`
subscribes the app to the WhatsApp Business Account's webhooks (without
it no event arrives), `DELETE` undoes it. The callback URL and the verify
token are the app's own settings in Meta's dashboard (Webhooks, the
`whatsapp_business_account` object, field `messages`): the business pastes
them there, Meta confirms them with the GET handshake.

Sending: `POST /{phone-number-id}/messages` with `{"messaging_product":
"whatsapp", "recipient_type": "individual", "to": <wa_id>, "type": ...}`;
the answer's `messages[0].id` (a "wamid") is the delivery's platform id.
- text as `text` (4,096 characters a message, longer ones split);
- an image by link (`image.link`, the text as its caption up to 1,024);
- 1 to 3 `reply` / `postback` actions as interactive reply buttons (a
  button's id carries the payload, see `button_id`), 4 to 10 as an
  interactive list (rows), more as the text fallback; a single https
  `link` action (and no other button) as a call-to-action URL button
  (`cta_url`), other links as "label url" lines of the text; a
  `locationRequest` (without reply buttons) as a location request message;
- carousels and list messages as the text fallback (fallback.render_text);
- a location as a native `location` message.
A delivery made of several messages returns the first one's id.

The 24-hour window: WhatsApp takes a free-form message only within 24
hours of the user's last message (Meta's 131047 otherwise). Outside it the
message's `override.whatsapp.payload` (a template message) is sent
instead; without one the delivery fails at once with `outside_window`,
without a call, and the engine's rule 5 fails over.

Typing and reads: the Cloud API shows a typing indicator together with a
read mark of the user's latest message (`status: read` with
`typing_indicator`), for up to 25 seconds or until the next message.

Business management (the integrations API's messageTemplates and profile):
- message templates live on the WABA: `GET /{waba-id}/message_templates`
  (`fields`, `limit`, the `after` cursor of `paging.cursors`), `POST` with
  `{name, category, language, components}` (answers `{id, status,
  category}`), `DELETE ?name=` (every language of that name);
- the business profile is the number's: `GET /{phone-number-id}/
  whatsapp_business_profile?fields=...` (`{"data": [{...}]}`) and `POST`
  with `messaging_product` and the fields to change;
- its photo goes through the Resumable Upload API: `GET /app` names the
  token's app, `POST /{app-id}/uploads?file_name&file_length&file_type`
  opens a session (`{"id": "upload:..."}`), `POST /{upload-id}` with the
  bytes (`Authorization: OAuth <token>`, `file_offset: 0`) answers the
  handle `h`, which the profile takes as `profile_picture_handle`.

Inbound: Meta posts `{"object": "whatsapp_business_account", "entry":
[{"changes": [{"field": "messages", "value": {...}}]}]}` signed with the
app secret; `value.messages` are the user's messages (with `value.contacts`
naming them), `value.statuses` report on the business's messages.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from messaging.integrations import base
from messaging.integrations.base import Capabilities, Field, InboundRefused, Limits, PlatformError
from messaging.integrations.fallback import render_caption, render_text, split_text
from messaging.integrations.graph import GraphIntegration

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096  # characters of a text message's body
CAPTION_LIMIT = 1024  # of an image's caption
BODY_LIMIT = 1024  # of an interactive message's body
BUTTONS = 3  # reply buttons on one message
BUTTON_TITLE = 20  # characters of a reply button's title, a list's button, a cta_url's display_text
BUTTON_ID = 256  # characters of a reply button's id
ROWS = 10  # rows of a list message, all sections together
ROW_TITLE = 24
ROW_ID = 200
WINDOW = timedelta(hours=24)
# What a button or row id starts with when it is not a postback's payload
# as it is: a reply's payload, or an action named by its `_id` (a payload
# too long for the id, or one that would be taken for these prefixes).
PREFIX = "parley:"
REPLY = "parley:reply:"
REPLY_REF = "parley:reply-ref:"
POSTBACK_REF = "parley:postback-ref:"
BUTTON_ACTIONS = ("reply", "postback")
LINK_ACTIONS = ("link", "webview", "buy")

# Meta's status -> the delivery's state.
STATUS_STATES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
# WhatsApp Cloud API error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
RE_ENGAGEMENT = 131047
UNDELIVERABLE = 131026
RATE_LIMITS = {130429, 131048, 131056}
TEMPORARY = {131000, 131016}
TEMPLATE_ERRORS = {132000, 132001, 132005, 132007, 132012, 132015, 132016}
TEMPLATE_FIELDS = "id,name,language,category,status,components,rejected_reason"
PROFILE_FIELDS = "about,address,description,email,profile_picture_url,websites,vertical"


def _truncate(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _own_errors(code, subcode, message, status) -> PlatformError | None:
    """WhatsApp's codes the engine acts on: outside the window, a number
    WhatsApp cannot deliver to, its own rate limits (transient) and
    temporary failures; templates it refuses."""
    if code == RE_ENGAGEMENT:
        return PlatformError(f"WhatsApp refused a free-form message: the last message from the user is older "
                             f"than 24 hours, only a template can be sent ({message})", permanent=True,
                             code="outside_window")
    if code == UNDELIVERABLE:
        return PlatformError(f"WhatsApp cannot deliver to this number: {message}", permanent=True,
                             code="undeliverable")
    if code in RATE_LIMITS:
        return PlatformError(f"WhatsApp rate limited the message: {message}", permanent=False, code="rate_limited")
    if code in TEMPORARY:
        return PlatformError(f"WhatsApp is unavailable: {message}", permanent=False)
    if code in TEMPLATE_ERRORS:
        return PlatformError(f"WhatsApp refused the template: {message}", permanent=True, code="template_rejected")
    return None


def in_window(client, now=None) -> bool:
    """The user wrote within the last 24 hours: a free-form message may go."""
    last = client.last_inbound_at
    return last is not None and last > (now or timezone.now()) - WINDOW


def template_of(message) -> dict | None:
    """The WhatsApp message the business gave to send instead of the
    rendered one (message.override.whatsapp.payload), or None."""
    override = message.override if isinstance(message.override, dict) else {}
    whatsapp = override.get("whatsapp") if isinstance(override.get("whatsapp"), dict) else {}
    payload = whatsapp.get("payload")
    return payload if isinstance(payload, dict) else None


def button_id(action: dict, limit: int) -> str:
    """What a reply button or list row carries back (at most `limit`
    characters): a postback's payload as it is, a reply's payload after
    REPLY; either, when it does not fit or starts with PREFIX, as a
    reference to the action's `_id` (the engine finds the action again)."""
    payload = str(action.get("payload") or "")
    if action.get("type") == "reply":
        if payload and len(REPLY) + len(payload) <= limit:
            return REPLY + payload
        ref = REPLY_REF
    else:
        if payload and len(payload) <= limit and not payload.startswith(PREFIX):
            return payload
        ref = POSTBACK_REF
    if not action.get("_id"):
        raise PlatformError(f"a payload over {limit} characters needs the action's _id to be referred to",
                            permanent=True, code="rejected")
    return ref + action["_id"]


def _ids(actions: list, limit: int) -> list[str]:
    """The buttons' ids, unique as WhatsApp requires: a payload already
    used by an earlier button goes by reference."""
    ids = []
    for action in actions:
        candidate = button_id(action, limit)
        if candidate in ids and action.get("_id"):
            candidate = (REPLY_REF if action.get("type") == "reply" else POSTBACK_REF) + action["_id"]
        ids.append(candidate)
    return ids


def picked(reply_id: str, title: str) -> tuple[str, dict]:
    """A button or row the user picked, as the event kind and its data: a
    reply is the user's message (its payload, or the action's `_id` as
    `actionId`), anything else a postback."""
    text = {"text": title} if title else {}
    if reply_id.startswith(REPLY_REF):
        return "message", {**text, "actionId": reply_id[len(REPLY_REF):]}
    if reply_id.startswith(REPLY):
        return "message", {**text, "payload": reply_id[len(REPLY):]}
    if reply_id.startswith(POSTBACK_REF):
        return "postback", {**text, "actionId": reply_id[len(POSTBACK_REF):]}
    return "postback", {**text, "payload": reply_id}


class WhatsApp(GraphIntegration):
    type = "whatsapp"
    label = "WhatsApp"
    object_name = "whatsapp_business_account"
    token_field = "accessToken"
    # Not `silent`: every message notifies. Carousels and list messages go
    # as text; a location natively (the Cloud API's location message).
    capabilities = Capabilities(native=frozenset({"text", "image", "location"}),
                                text_fallback=frozenset({"carousel", "list"}), typing=True, read_receipts=True,
                                push=True)
    # 10 buttons: as rows of a list message (3 as reply buttons); items
    # go as numbered blocks of text. A payload over 200 characters still
    # works (by reference, see button_id).
    limits = Limits(text=TEXT_LIMIT, actions=ROWS, items=10, action_text=BUTTON_TITLE, payload_bytes=ROW_ID)
    fields = (
        Field("phoneNumberId", "Phone number ID",
              help="WhatsApp > API Setup in the Meta app's dashboard: the business number's ID (digits)."),
        Field("businessAccountId", "WhatsApp Business Account ID",
              help="Beside the phone number ID: the WABA the number belongs to."),
        Field("accessToken", "Access token", secret=True,
              help="A system user's permanent token with whatsapp_business_messaging and "
                   "whatsapp_business_management (Business settings > System users)."),
        Field("appSecret", "App secret", secret=True,
              help="App settings > Basic > App secret: checks X-Hub-Signature-256 on every webhook."),
    )
    typing_lasts = 25  # the typing indicator shows for up to 25 s
    marks_read = True
    setup_hint = ("In the Meta app's dashboard, WhatsApp > Configuration: paste this callback URL and verify "
                  "token, then subscribe to the messages webhook field.")

    own_errors = staticmethod(_own_errors)

    def _phone_number_id(self, credentials: dict | None = None) -> str:
        credentials = self.credentials if credentials is None else credentials
        value = str(credentials.get("phoneNumberId") or "").strip()
        if not value.isdigit():
            raise PlatformError("the WhatsApp phone number ID must be digits", permanent=True,
                                code="bad_credentials")
        return value

    def _waba_id(self) -> str:
        value = str(self.credentials.get("businessAccountId") or "").strip()
        if not value.isdigit():
            raise PlatformError("the WhatsApp Business Account ID must be digits", permanent=True,
                                code="bad_credentials")
        return value

    # Set-up.

    def check(self, credentials: dict) -> base.Connected:
        number = self.graph("GET", self._phone_number_id(credentials), credentials=credentials,
                            params={"fields": "display_phone_number,verified_name"})
        phone = str(number.get("display_phone_number") or "")
        return base.Connected(display_name=str(number.get("verified_name") or phone),
                              details={"phoneNumber": phone, "verifiedName": str(number.get("verified_name") or "")})

    def register_webhook(self, url: str) -> None:
        """Subscribe the app to the WABA's webhooks; the callback URL itself
        is set in the app's dashboard (Meta checks it with the handshake)."""
        answer = self.graph("POST", f"{self._waba_id()}/subscribed_apps")
        if answer.get("success") is not True:
            raise PlatformError("WhatsApp did not subscribe the app to the business account", permanent=True)

    def unregister_webhook(self) -> None:
        self.graph("DELETE", f"{self._waba_id()}/subscribed_apps")

    @staticmethod
    def phone_external_id(e164: str) -> str:
        """A wa_id is the number's digits, without the "+"."""
        return e164.lstrip("+")

    # Sending.

    def send(self, delivery) -> str:
        message, client = delivery.message, delivery.client
        template = template_of(message)
        if not in_window(client):
            if template is None:
                raise PlatformError("The last message from the user is older than 24 hours: WhatsApp takes only "
                                    "a template then (message.override.whatsapp.payload).", permanent=True,
                                    code="outside_window")
            return self._post(client.external_id, template)
        ids = self._render(client.external_id, message)
        if not ids:
            raise PlatformError(f"nothing to send to WhatsApp in this {message.type} message", permanent=True,
                                code="rejected")
        return ids[0]

    def _post(self, to: str, content: dict) -> str:
        """One message (`content`: its type and type object) to `to`;
        returns its wamid."""
        body = {**content, "messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        answer = self.graph("POST", f"{self._phone_number_id()}/messages", json=body)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        if not isinstance(first.get("id"), str) or not first["id"]:
            raise PlatformError("WhatsApp answered the message without its id", permanent=True, code="bad_answer")
        return first["id"]

    def _render(self, to: str, message) -> list[str]:
        app_name = message.app.name
        if message.type in ("carousel", "list"):
            return self._text(to, render_text(message, app_name))
        if message.type == "location" and message.coordinates:
            location = {"latitude": message.coordinates.get("lat"), "longitude": message.coordinates.get("long")}
            if message.text:
                location["name"] = message.text
            return [self._post(to, {"type": "location", "location": location})]
        actions = list(message.actions or [])
        media_url = message.media_url if message.type == "image" else ""
        buttons = [a for a in actions if a.get("type") in BUTTON_ACTIONS]
        links = [a for a in actions if a.get("type") in LINK_ACTIONS]
        location_request = next((a for a in actions if a.get("type") == "locationRequest"), None)
        if buttons and len(buttons) <= ROWS:
            return self._interactive(to, message, media_url, self._choices(buttons), without=BUTTON_ACTIONS)
        if not buttons and len(links) == 1 and location_request is None and _https(links[0].get("uri")):
            return self._interactive(to, message, media_url, self._cta(links[0]), without=LINK_ACTIONS)
        if not buttons and location_request is not None:
            return self._interactive(to, message, media_url, {
                "type": "location_request_message", "action": {"name": "send_location"}},
                without=("locationRequest",))
        if media_url:
            return self._image(to, media_url, render_caption(message, app_name))
        return self._text(to, render_text(message, app_name))

    def _choices(self, buttons: list) -> dict:
        """Up to 3 reply buttons, else a list message of up to 10 rows."""
        if len(buttons) <= BUTTONS:
            ids = _ids(buttons, BUTTON_ID)
            return {"type": "button", "action": {"buttons": [
                {"type": "reply", "reply": {"id": id_, "title": _truncate(b.get("text"), BUTTON_TITLE)}}
                for id_, b in zip(ids, buttons)]}}
        ids = _ids(buttons, ROW_ID)
        rows = [{"id": id_, "title": _truncate(b.get("text"), ROW_TITLE)} for id_, b in zip(ids, buttons)]
        for row, button in zip(rows, buttons):
            if row["title"] != str(button.get("text") or ""):
                row["description"] = _truncate(button.get("text"), 72)  # the whole label, where it was cut
        return {"type": "list", "action": {"button": "Options", "sections": [{"rows": rows}]}}

    @staticmethod
    def _cta(link: dict) -> dict:
        return {"type": "cta_url", "action": {"name": "cta_url", "parameters": {
            "display_text": _truncate(link.get("text") or "Open", BUTTON_TITLE), "url": link["uri"]}}}

    def _interactive(self, to: str, message, media_url: str, interactive: dict, *, without: tuple) -> list[str]:
        """An interactive message: the text (with what the interactive part
        does not show, as text) in its body; a body over 1,024 characters
        goes first as text messages of its own. An image is the header of
        reply buttons and cta_url messages (the others take text headers
        only: the image is sent before them). WhatsApp requires a body: a
        message without text gets its buttons' labels (as Telegram's do)."""
        rest = [a for a in (message.actions or []) if a.get("type") not in without]
        text = "\n".join(part for part in [message.text or ""] + _fallback_lines(rest, message.app.name) if part)
        if not text:
            text = "\n".join(a.get("text", "") for a in message.actions or [] if a.get("type") in without
                             and a.get("text")) or message.app.name
        ids = []
        if media_url and interactive["type"] in ("button", "cta_url"):
            interactive = {**interactive, "header": {"type": "image", "image": {"link": media_url}}}
        elif media_url:
            ids += self._image(to, media_url, "")
        pieces = split_text(text, TEXT_LIMIT)
        last = split_text(pieces.pop(), BODY_LIMIT)
        for piece in pieces + last[:-1]:
            ids.append(self._post(to, {"type": "text", "text": {"body": piece}}))
        ids.append(self._post(to, {"type": "interactive", "interactive": {**interactive, "body": {"text": last[-1]}}}))
        return ids

    def _text(self, to: str, text: str) -> list[str]:
        return [self._post(to, {"type": "text", "text": {"body": piece, "preview_url": False}})
                for piece in split_text(text, TEXT_LIMIT) if piece]

    def _image(self, to: str, media_url: str, caption: str) -> list[str]:
        """The image with the caption when it fits 1,024 characters, else
        the text after it as text messages."""
        image = {"link": media_url}
        if caption and len(caption) <= CAPTION_LIMIT:
            image["caption"] = caption
        ids = [self._post(to, {"type": "image", "image": image})]
        if caption and "caption" not in image:
            ids += self._text(to, caption)
        return ids

    # Business management: message templates and the business profile.

    def message_templates(self, *, limit: int, after: str = "") -> tuple[list[dict], str]:
        """One page of the WABA's templates and the cursor of the next ("" at the end)."""
        params = {"fields": TEMPLATE_FIELDS, "limit": limit}
        if after:
            params["after"] = after
        answer = self.graph("GET", f"{self._waba_id()}/message_templates", params=params)
        data = answer.get("data")
        if not isinstance(data, list):
            raise PlatformError("WhatsApp answered the templates without their data", permanent=True,
                                code="bad_answer")
        paging = answer.get("paging") if isinstance(answer.get("paging"), dict) else {}
        cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
        following = str(cursors.get("after") or "") if paging.get("next") else ""
        return [row for row in data if isinstance(row, dict)], following

    def create_message_template(self, template: dict) -> dict:
        """Submit a template for review; Meta's `{id, status, category}`."""
        answer = self.graph("POST", f"{self._waba_id()}/message_templates", json=template)
        if not isinstance(answer.get("id"), str) or not answer["id"]:
            raise PlatformError("WhatsApp answered the template without its id", permanent=True, code="bad_answer")
        return answer

    def delete_message_template(self, name: str) -> None:
        answer = self.graph("DELETE", f"{self._waba_id()}/message_templates", params={"name": name})
        if answer.get("success") is not True:
            raise PlatformError("WhatsApp did not delete the template", permanent=True, code="bad_answer")

    def business_profile(self) -> dict:
        answer = self.graph("GET", f"{self._phone_number_id()}/whatsapp_business_profile",
                            params={"fields": PROFILE_FIELDS})
        data = answer.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise PlatformError("WhatsApp answered the business profile without its data", permanent=True,
                                code="bad_answer")
        return data[0]

    def update_business_profile(self, fields: dict) -> None:
        """Change the profile's `fields` (Meta's names); the others stay."""
        answer = self.graph("POST", f"{self._phone_number_id()}/whatsapp_business_profile",
                            json={"messaging_product": "whatsapp", **fields})
        if answer.get("success") is not True:
            raise PlatformError("WhatsApp did not update the business profile", permanent=True, code="bad_answer")

    def upload_profile_photo(self, content: bytes, *, content_type: str, file_name: str) -> None:
        """The Resumable Upload API's two steps, then the handle set as the
        profile picture."""
        app_id = str(self.graph("GET", "app", params={"fields": "id"}).get("id") or "")
        if not app_id.isdigit():
            raise PlatformError("WhatsApp did not name the token's app", permanent=True, code="bad_answer")
        session = self.graph("POST", f"{app_id}/uploads", params={
            "file_name": file_name, "file_length": len(content), "file_type": content_type})
        upload_id = str(session.get("id") or "")
        if not upload_id.startswith("upload:"):
            raise PlatformError("WhatsApp did not open an upload session", permanent=True, code="bad_answer")
        uploaded = self.graph("POST", upload_id, auth_scheme="OAuth", headers={"file_offset": "0"}, data=content)
        handle = uploaded.get("h")
        if not isinstance(handle, str) or not handle:
            raise PlatformError("WhatsApp answered the upload without its handle", permanent=True,
                                code="bad_answer")
        self.update_business_profile({"profile_picture_handle": handle})

    # Typing and reads.

    def _read_mark(self, client, typing: bool) -> None:
        ref = client.last_inbound_ref
        if not ref:
            return  # the user never wrote: nothing to mark
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": ref}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        self.graph("POST", f"{self._phone_number_id()}/messages", json=body)

    def send_typing(self, client, state: str, name: str = "", avatar_url: str = "") -> None:
        """The typing indicator (with a read mark of the user's latest
        message) on start; WhatsApp hides it after 25 s or at the next
        message and has no call to hide it earlier: a stop sends nothing."""
        if state == "start":
            self._read_mark(client, typing=True)

    def send_read(self, client) -> None:
        self._read_mark(client, typing=False)

    # Inbound.

    def split(self, entries: list[dict]) -> list[base.RawEvent]:
        """Each change of field `messages` about this integration's number:
        a user's message (keyed by its wamid, with the user's profile name
        from `contacts`) or a status (keyed `status:<wamid>:<status>`).
        Other fields, and another number's changes (one app's webhook
        serves every number it is subscribed to), are verified and left."""
        events = []
        mine = str(self.credentials.get("phoneNumberId") or "")
        for entry in entries:
            changes = entry.get("changes", [])
            if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
                raise InboundRefused("a WhatsApp entry's changes is a list of objects", status=400)
            for change in changes:
                value = change.get("value")
                if change.get("field") != "messages":
                    continue
                if not isinstance(value, dict):
                    raise InboundRefused("a messages change has a value object", status=400)
                metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
                number = str(metadata.get("phone_number_id") or "")
                if number and mine and number != mine:
                    continue
                events += _messages(value) + _statuses(value)
        return events

    def parse(self, payload: dict) -> list[base.InboundEvent]:
        """A stored event as the engine's:
        - a text -> "message";
        - an image -> "message" with the file fetched (the media id's URL,
          then the file with the token) as `media`, the caption as text;
        - a location -> "message" with coordinates, its name and address as text;
        - a reply button or list row picked -> a "message" with the reply's
          payload (or `actionId`), or a "postback" (see `picked`); a
          template's quick-reply button -> a "message" with its payload;
        - a status -> "delivery" (sent, delivered, read, failed with
          WhatsApp's code and title);
        - anything else (audio, video, documents, stickers, reactions...): no event."""
        if "status" in payload:
            return _status_event(payload["status"])
        message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
        user = str(message.get("from") or "")
        data = {"platformMessageId": str(message.get("id") or "")}
        if payload.get("name"):
            data["displayName"] = str(payload["name"])
        kind = message.get("type")
        content = message.get(kind) if isinstance(kind, str) and isinstance(message.get(kind), dict) else {}
        if kind == "text" and isinstance(content.get("body"), str):
            return [base.InboundEvent("message", user, {**data, "text": content["body"]})]
        if kind == "image" and isinstance(content.get("id"), str):
            data["media"] = self._media(content["id"])
            if isinstance(content.get("caption"), str):
                data["text"] = content["caption"]
            return [base.InboundEvent("message", user, data)]
        if kind == "location" and _number(content.get("latitude")) and _number(content.get("longitude")):
            data["coordinates"] = {"lat": content["latitude"], "long": content["longitude"]}
            label = ", ".join(str(content[k]) for k in ("name", "address") if content.get(k))
            if label:
                data["text"] = label
            return [base.InboundEvent("message", user, data)]
        if kind == "interactive":
            answer = content.get(content.get("type")) if content.get("type") in ("button_reply", "list_reply") \
                else None
            if isinstance(answer, dict) and isinstance(answer.get("id"), str) and answer["id"]:
                # A press is a message of the user's on WhatsApp (its wamid
                # opens the window and takes read marks), postback or not.
                event_kind, extra = picked(answer["id"], str(answer.get("title") or ""))
                return [base.InboundEvent(event_kind, user, {**data, **extra})]
            return []
        if kind == "button" and isinstance(content.get("text"), str):
            extra = {"payload": content["payload"]} if isinstance(content.get("payload"), str) else {}
            return [base.InboundEvent("message", user, {**data, "text": content["text"], **extra})]
        return []

    def _media(self, media_id: str) -> base.Media:
        """A file the user sent: its URL from `GET /{media-id}`, then the
        file, fetched with the token (Meta's media URLs need it)."""
        info = self.graph("GET", media_id)
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlatformError("WhatsApp answered the media id without its URL", permanent=True,
                                code="media_unavailable")
        media = base.fetch_media(url, headers={"Authorization": f"Bearer {self._token()}"})
        mime = str(info.get("mime_type") or "")
        if mime.startswith("image/"):
            media.content_type = mime.split(";")[0].strip()
        media.filename = f"{media_id}.{media.content_type.rpartition('/')[2] or 'bin'}"
        return media


def _https(uri) -> bool:
    return isinstance(uri, str) and uri.lower().startswith("https://")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fallback_lines(actions: list, app_name: str) -> list[str]:
    """What an interactive message's own part does not show, as the text
    fallback words it ("label url", "<App> has requested a location")."""
    lines = []
    for action in actions:
        kind = action.get("type")
        if kind in LINK_ACTIONS and action.get("uri"):
            lines.append(f"{action.get('text', '')} {action['uri']}".strip())
        elif kind == "locationRequest":
            lines.append(f"{app_name} has requested a location")
    return lines


def _messages(value: dict) -> list[base.RawEvent]:
    messages = value.get("messages", [])
    if not isinstance(messages, list):
        raise InboundRefused("value.messages is a list", status=400)
    contacts = value.get("contacts") if isinstance(value.get("contacts"), list) else []
    names = {}
    for contact in contacts:
        if isinstance(contact, dict) and isinstance(contact.get("profile"), dict):
            names[str(contact.get("wa_id") or "")] = str(contact["profile"].get("name") or "")
    events = []
    for message in messages:
        if not isinstance(message, dict) or not _ids_given(message, "id", "from"):
            raise InboundRefused("a WhatsApp message has a string id and from", status=400)
        payload = {"message": message}
        if names.get(message["from"]):
            payload["name"] = names[message["from"]]
        events.append(base.RawEvent(key=message["id"], payload=payload))
    return events


def _statuses(value: dict) -> list[base.RawEvent]:
    statuses = value.get("statuses", [])
    if not isinstance(statuses, list):
        raise InboundRefused("value.statuses is a list", status=400)
    events = []
    for status in statuses:
        if not isinstance(status, dict) or not _ids_given(status, "id", "status", "recipient_id"):
            raise InboundRefused("a WhatsApp status has a string id, status and recipient_id", status=400)
        events.append(base.RawEvent(key=f"status:{status['id']}:{status['status']}", payload={"status": status}))
    return events


def _ids_given(obj: dict, *keys) -> bool:
    return all(isinstance(obj.get(key), str) and obj[key] for key in keys)


def _status_event(status: dict) -> list[base.InboundEvent]:
    state = STATUS_STATES.get(status.get("status"))
    if state is None:
        return []  # "deleted", "warning"...: nothing a delivery records
    data = {"platformMessageId": status["id"], "state": state}
    if state == "failed":
        errors = status.get("errors") if isinstance(status.get("errors"), list) else []
        error = errors[0] if errors and isinstance(errors[0], dict) else {}
        data["error"] = {"code": str(error.get("code") or "failed"),
                         "message": str(error.get("title") or error.get("message")
                                        or "WhatsApp reported the message failed")}
    return [base.InboundEvent("delivery", status["recipient_id"], data)]
