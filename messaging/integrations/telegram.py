"""Telegram: a bot on the Bot API, `{PARLEY_TELEGRAM_API_BASE}/bot{token}/{method}`
with JSON bodies; answers are `{"ok": true, "result": ...}`, refusals
`{"ok": false, "error_code", "description", "parameters"?}`.

Sending, as Smooch rendered messages on Telegram:
- text with sendMessage, split in several messages past 4096 characters;
- an image with sendPhoto, the text as its caption when it fits Telegram's
  1024, else as messages of its own after the photo;
- `link` actions as inline url buttons, `postback` actions as inline
  callback buttons (callback_data is the payload when it fits Telegram's
  64 bytes, else a reference to the action's `_id`, see `callback_data`),
  `reply` and `locationRequest` actions as a one-time reply keyboard;
  buttons go on the last message sent;
- carousel and list items as one message each (sendPhoto with the item's
  mediaUrl, else sendMessage), title and description as text, the item's
  buttons under it; a list's own actions under its last item;
- location with sendLocation.
A delivery made of several messages returns the first one's id; a retry
after a transient failure part way sends it all again.

The menu (`push_menu`): Telegram's bot commands (setMyCommands, the "/"
list under the message box). A postback item becomes a command named from
its text (`menu_commands`: 1-32 characters of a-z, 0-9 and _), described by
its text (1-256); the user's `/command` comes back as that item's postback.
Link items are not pushed: the one link Telegram's menu button can hold
(setChatMenuButton) is a `web_app`, which opens the page as a Telegram Mini
App inside Telegram's webview, bound to the bot and expecting Telegram's
WebApp script, not a link the user follows; so Parley sets commands only.

Inbound: Telegram posts one Update per request, with the secret_token given
to setWebhook in `X-Telegram-Bot-Api-Secret-Token`; any answer other than
2xx makes it post the update again later. See `parse` for what becomes of
each kind of update.
"""

import hmac
import logging
import mimetypes
import posixpath
import re
import unicodedata
from urllib.parse import quote

from messaging.integrations import base
from messaging.integrations.base import Capabilities, Field, Integration, Limits, PlatformError
from messaging.integrations.fallback import split_text, utf16_length
from messaging.models.menus import effective_menu

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096  # UTF-16 code units of one message's text
CAPTION_LIMIT = 1024  # of a photo's caption
CALLBACK_DATA_BYTES = 64
# callback_data naming an action by its `_id`, for a postback payload that
# does not fit (or that starts with this prefix itself, so that the two
# forms never mix up).
ACTION_REF = "parley:action:"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
QUICK_REPLIES = ("reply", "locationRequest")
COMMAND_MAX = 32  # a bot command's name: 1-32 of a-z, 0-9, _
DESCRIPTION_MAX = 256  # its description: 1-256 characters
NOT_COMMAND = re.compile(r"[^a-z0-9_]+")
# /start is Telegram's own (the conversation's start, with a deep link).
RESERVED_COMMANDS = {"start"}


def menu_commands(menu: dict | None) -> list[tuple[dict, dict]]:
    """(bot command, menu item) for each postback item of `menu`: the
    command named from the item's text (accents dropped, lower-cased, other
    characters as _, cut to 32), or `menu<n>` when that leaves nothing or a
    name already taken; the description is the text, cut to 256."""
    found, taken = [], set(RESERVED_COMMANDS)
    items = [item for item in (menu or {}).get("items", []) if item.get("type") == "postback"]
    for number, item in enumerate(items, start=1):
        text = str(item.get("text") or "").strip()
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        name = NOT_COMMAND.sub("_", ascii_text.lower()).strip("_")[:COMMAND_MAX].strip("_")
        if not name or name in taken:
            name, n = f"menu{number}", number
            while name in taken:
                n += 1
                name = f"menu{n}"
        taken.add(name)
        found.append(({"command": name, "description": text[:DESCRIPTION_MAX] or name}, item))
    return found


def callback_data(action: dict) -> str:
    """What a postback button carries back: the payload when it fits in
    Telegram's 1-64 bytes, else ACTION_REF + the action's `_id` (38 bytes),
    which `parse` returns as `actionId` for the engine to resolve."""
    payload = action.get("payload") or ""
    if 0 < len(payload.encode()) <= CALLBACK_DATA_BYTES and not payload.startswith(ACTION_REF):
        return payload
    if not action.get("_id"):
        raise PlatformError("a postback payload over 64 bytes needs the action's _id to be referred to",
                            permanent=True, code="rejected")
    return ACTION_REF + action["_id"]


def _inline_button(action: dict) -> dict | None:
    kind = action.get("type")
    if kind in ("link", "buy") and action.get("uri"):
        return {"text": action.get("text") or action["uri"], "url": action["uri"]}
    if kind == "postback":
        return {"text": action.get("text") or action.get("payload", ""), "callback_data": callback_data(action)}
    return None  # share, a buy without a checkout page: Telegram has no such button


def reply_markup(actions: list) -> dict | None:
    """The keyboard for a message's actions, one button a row: quick
    replies (sent alone or together, never with other actions) as a reply
    keyboard hidden once used, the others as an inline keyboard."""
    quick = [a for a in actions if a.get("type") in QUICK_REPLIES]
    if quick:
        rows = [[{"text": a.get("text", ""), "request_location": True} if a["type"] == "locationRequest"
                 else {"text": a.get("text", "")}] for a in quick]
        return {"keyboard": rows, "one_time_keyboard": True, "resize_keyboard": True}
    rows = [[button] for button in map(_inline_button, actions) if button]
    return {"inline_keyboard": rows} if rows else None


def _labels(actions: list) -> str:
    """The text of a message that has buttons and no text of its own
    (Telegram refuses a message without text)."""
    return "\n".join(a.get("text", "") for a in actions if a.get("text"))


def _names(user: dict) -> dict:
    """The user's names as the engine takes them, from a Telegram User."""
    given = str(user.get("first_name") or "")
    surname = str(user.get("last_name") or "")
    display = f"{given} {surname}".strip() or str(user.get("username") or "")
    names = {"displayName": display, "givenName": given, "surname": surname}
    return {key: value for key, value in names.items() if value}


def _explain(response) -> PlatformError | None:
    """A Bot API method's refusal in Telegram's own words (`description`),
    with the codes the engine acts on."""
    body = base.response_object(response)
    status = response.status_code
    description = str(body.get("description") or f"HTTP {status}")[:300]
    if status == 401:
        return PlatformError("Telegram refused the bot token (401 Unauthorized)", permanent=True,
                             code="bad_credentials")
    if status == 404:
        # What api.telegram.org answers for a token not shaped like BotFather's.
        return PlatformError("Telegram does not know this bot token (404 Not Found)", permanent=True,
                             code="bad_credentials")
    if status == 429:
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after")
        if not isinstance(retry_after, (int, float)) or isinstance(retry_after, bool) or retry_after < 0:
            return None  # the default: a Retry-After header, else backoff
        return PlatformError(f"Telegram rate limited the bot: {description}", permanent=False,
                             retry_after=float(retry_after), code="rate_limited")
    lowered = description.lower()
    if status == 403 and ("blocked by the user" in lowered or "user is deactivated" in lowered):
        return PlatformError(f"Telegram: {description}", permanent=True, code="blocked")
    return PlatformError(f"Telegram refused the call ({status}): {description}", permanent=True,
                         code="rejected")


class Telegram(Integration):
    type = "telegram"
    label = "Telegram"
    # Not `silent`: disable_notification still notifies, without a sound.
    capabilities = Capabilities(native=frozenset({"text", "image", "carousel", "list", "location"}),
                                text_fallback=frozenset(), typing=True, push=True)
    # Telegram documents no limit on buttons per message or on their labels
    # (action_text 0); ten buttons and ten items keep a message usable on a
    # phone, as Smooch's carousels had. A postback payload over 64 bytes
    # still works (by reference, see callback_data).
    limits = Limits(text=TEXT_LIMIT, actions=10, items=10, payload_bytes=CALLBACK_DATA_BYTES)
    fields = (Field("token", "Bot token", secret=True,
                    help="The token BotFather gave the bot, such as 123456789:AAH..."),)
    # A chat action shows for 5 seconds (or until the bot's next message).
    typing_lasts = 5
    shows_menu = True

    # Calls.

    def _token(self, token: str | None = None) -> str:
        if token is None:
            if self.integration is None:
                raise PlatformError("no telegram integration connected", permanent=True, code="no_integration")
            token = str(self.credentials.get("token") or "").strip()
        if not token:
            raise PlatformError("the Telegram integration has no bot token", permanent=True,
                                code="bad_credentials")
        return token

    def _call(self, method: str, params: dict | None = None, *, token: str | None = None):
        """One Bot API method; returns its `result`. The token stays one
        path segment, whatever it holds."""
        url = f"{base.api_base(self.type)}/bot{quote(self._token(token), safe=':')}/{method}"
        response = base.http_post(url, json=params or {}, explain=_explain)
        body = base.response_object(response)
        if body.get("ok") is not True or "result" not in body:
            raise PlatformError(f"Telegram answered {method} without a result", permanent=True)
        return body["result"]

    # Set-up.

    def check(self, credentials: dict) -> base.Connected:
        token = str(credentials.get("token") or "").strip()
        if not token:
            raise PlatformError("a bot token is required", permanent=True, code="bad_credentials")
        me = self._call("getMe", token=token)
        if not isinstance(me, dict):
            raise PlatformError("Telegram answered getMe without a bot", permanent=True)
        return base.Connected(display_name=str(me.get("first_name") or me.get("username") or ""),
                         details={"username": me.get("username", ""), "botId": me.get("id")})

    def register_webhook(self, url: str) -> None:
        self._call("setWebhook", {"url": url, "secret_token": self.integration.webhook_secret,
                                  "allowed_updates": ALLOWED_UPDATES})

    def unregister_webhook(self) -> None:
        self._call("deleteWebhook")

    def push_menu(self, menu: dict | None) -> None:
        """The bot's commands for the menu's postback items (setMyCommands),
        or none (deleteMyCommands) when it has no postback item."""
        commands = [command for command, _ in menu_commands(menu)]
        if commands:
            self._call("setMyCommands", {"commands": commands})
        else:
            self._call("deleteMyCommands")

    def _menu_postback(self, text: str) -> dict | None:
        """The postback of the menu item whose command `text` is (`/name`
        or `/name@bot`, with nothing after it), or None."""
        if not text.startswith("/") or self.integration is None:
            return None
        command = text[1:].strip().split("@", 1)[0]
        if not command or " " in command:
            return None
        menu = effective_menu(self.integration)
        if menu is None:
            return None
        shown = {"items": menu.items}
        for bot_command, item in menu_commands(shown):
            if bot_command["command"] == command:
                return {"payload": item["payload"], "text": item["text"]}
        return None

    # Sending.

    def send(self, delivery) -> str:
        message = delivery.message
        recipient = {"chat_id": delivery.client.external_id}
        if not delivery.notify:
            recipient["disable_notification"] = True
        ids = []
        if message.type in ("carousel", "list"):
            if message.text:
                ids += self._send_text(recipient, message.text, None)
            items = message.items or []
            for number, item in enumerate(items, start=1):
                actions = list(item.get("actions") or [])
                if number == len(items):
                    actions += message.actions or []
                text = "\n".join(part for part in (item.get("title"), item.get("description")) if part)
                ids += self._send_media_or_text(recipient, text, item.get("mediaUrl", ""), actions)
        elif message.type == "location" and message.coordinates:
            ids.append(self._send("sendLocation", {**recipient, "latitude": message.coordinates.get("lat"),
                                                   "longitude": message.coordinates.get("long")}))
        else:
            media_url = message.media_url if message.type == "image" else ""
            ids += self._send_media_or_text(recipient, message.text, media_url, message.actions or [])
        if not ids:
            raise PlatformError(f"nothing to send to Telegram in this {message.type} message", permanent=True,
                                code="rejected")
        return ids[0]

    def _send(self, method: str, params: dict) -> str:
        result = self._call(method, params)
        if not isinstance(result, dict) or "message_id" not in result:
            raise PlatformError(f"Telegram answered {method} without a message_id", permanent=True)
        return str(result["message_id"])

    def _send_media_or_text(self, recipient: dict, text: str, media_url: str, actions: list) -> list[str]:
        markup = reply_markup(actions)
        if not media_url:
            return self._send_text(recipient, text or _labels(actions), markup)
        photo = {**recipient, "photo": media_url}
        if text and utf16_length(text) <= CAPTION_LIMIT:
            return [self._send("sendPhoto", self._with_markup({**photo, "caption": text}, markup))]
        if not text:
            return [self._send("sendPhoto", self._with_markup(photo, markup))]
        return [self._send("sendPhoto", photo)] + self._send_text(recipient, text, markup)

    def _send_text(self, recipient: dict, text: str, markup: dict | None) -> list[str]:
        """`text` in as many messages as it needs, the keyboard on the last."""
        pieces = split_text(text, TEXT_LIMIT)
        ids = []
        for number, piece in enumerate(pieces, start=1):
            params = {**recipient, "text": piece}
            ids.append(self._send("sendMessage", self._with_markup(params, markup if number == len(pieces) else None)))
        return ids

    @staticmethod
    def _with_markup(params: dict, markup: dict | None) -> dict:
        return {**params, "reply_markup": markup} if markup else params

    def send_typing(self, client, state: str, name: str = "", avatar_url: str = "") -> None:
        """sendChatAction "typing", which Telegram shows for `typing_lasts`
        seconds (the engine repeats it while typing lasts). Telegram has no
        call to hide it: a stop sends nothing, and the indicator ends by
        itself or at the bot's next message."""
        if state != "start":
            return
        self._call("sendChatAction", {"chat_id": client.external_id, "action": "typing"})

    # Inbound.

    def verify(self, request) -> list[base.RawEvent]:
        """The secret header first (403 when missing or wrong), then the
        body: one JSON Update with an integer update_id, and for a message
        or callback query the ids `parse` needs (400 when not)."""
        given = request.headers.get(SECRET_HEADER, "")
        expected = self.integration.webhook_secret if self.integration is not None else ""
        if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise base.InboundRefused(f"the {SECRET_HEADER} header is missing or wrong", status=403)
        update = base.json_body(request)
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise base.InboundRefused("a Telegram update has an integer update_id", status=400)
        if ("message" in update or "callback_query" in update) and _chat_id(update) is None:
            raise base.InboundRefused("the update's message or callback_query does not say which chat it is from",
                                 status=400)
        return [base.RawEvent(key=str(update_id), payload=update)]

    def parse(self, payload: dict) -> list[base.InboundEvent]:
        """One Update as events:
        - a message: text -> "message" (`/start`, with a deep-link payload
          or not, -> "start", with the deep link's `payload`, or
          `appUserId` when it is a link request's code); a photo (or
          an image sent as a file) -> "message" with the largest size
          fetched (getFile, then the file) as `media` and the caption as
          text; a location or venue -> "message" with coordinates; a
          sticker -> "message" with its emoji as text, when it has one;
        - a menu command (`/name`, see menu_commands) -> "postback" with
          the menu item's payload and text;
        - a callback query -> "postback" with `payload` (or `actionId`,
          see callback_data) and the button's label as text, answered with
          answerCallbackQuery (a failed answer is logged: the postback
          stands);
        - anything else (voice, video, documents, contacts, edited
          messages, the kinds setWebhook does not ask for): no event.
        No data field ever holds a Telegram file URL: it carries the token."""
        chat_id = _chat_id(payload)
        if chat_id is None:
            return []
        if "callback_query" in payload:
            return self._postback(chat_id, payload["callback_query"])
        message = payload.get("message")
        if not isinstance(message, dict):
            return []
        data = _names(message.get("from") if isinstance(message.get("from"), dict) else {})
        data["platformMessageId"] = str(message.get("message_id", ""))
        text = message.get("text")
        if isinstance(text, str):
            command, _, argument = text.partition(" ")
            if command == "/start" or command.startswith("/start@"):
                if argument.strip():
                    # A t.me/<bot>?start=<ref> link of a link request names its app user.
                    linked = base.linked_app_user(self.integration, argument.strip())
                    data["appUserId" if linked else "payload"] = linked or argument.strip()
                del data["platformMessageId"]
                return [base.InboundEvent("start", chat_id, data)]
            postback = self._menu_postback(text)
            if postback is not None:
                del data["platformMessageId"]
                return [base.InboundEvent("postback", chat_id, {**data, **postback})]
            return [base.InboundEvent("message", chat_id, {**data, "text": text})]
        file_id = _image_file_id(message)
        if file_id:
            data["media"] = self._fetch_file(file_id)
            if isinstance(message.get("caption"), str):
                data["text"] = message["caption"]
            return [base.InboundEvent("message", chat_id, data)]
        location = message.get("location")
        if isinstance(location, dict) and "latitude" in location and "longitude" in location:
            data["coordinates"] = {"lat": location["latitude"], "long": location["longitude"]}
            venue = message.get("venue") if isinstance(message.get("venue"), dict) else {}
            label = ", ".join(str(venue[k]) for k in ("title", "address") if venue.get(k))
            if label:
                data["text"] = label
            return [base.InboundEvent("message", chat_id, data)]
        sticker = message.get("sticker")
        if isinstance(sticker, dict) and isinstance(sticker.get("emoji"), str):
            return [base.InboundEvent("message", chat_id, {**data, "text": sticker["emoji"]})]
        return []

    def _postback(self, chat_id: str, query: dict) -> list[base.InboundEvent]:
        data = query.get("data")
        try:
            self._call("answerCallbackQuery", {"callback_query_id": str(query.get("id", ""))})
        except PlatformError as error:
            logger.warning("integration %s: answerCallbackQuery failed: %s",
                           getattr(self.integration, "id", ""), error.message)
        if not isinstance(data, str) or not data:
            return []  # a game button: no payload
        event = _names(query.get("from") if isinstance(query.get("from"), dict) else {})
        if data.startswith(ACTION_REF):
            event["actionId"] = data[len(ACTION_REF):]
        else:
            event["payload"] = data
        label = _button_label(query.get("message"), data)
        if label:
            event["text"] = label
        return [base.InboundEvent("postback", chat_id, event)]

    def _fetch_file(self, file_id: str) -> base.Media:
        """A file the user sent, through getFile and the file server."""
        file = self._call("getFile", {"file_id": file_id})
        path = file.get("file_path") if isinstance(file, dict) else None
        if not isinstance(path, str) or not path:
            raise PlatformError("Telegram answered getFile without a file_path", permanent=True)
        url = f"{base.api_base(self.type)}/file/bot{quote(self._token(), safe=':')}/{quote(path, safe='/')}"
        # Not _explain: a 404 here is a file gone, not a token Telegram does not know.
        media = base.fetch_media(url)
        media.filename = posixpath.basename(path)
        if not media.content_type.startswith("image/"):
            media.content_type = mimetypes.guess_type(media.filename)[0] or "image/jpeg"
        return media


def _chat_id(update: dict) -> str | None:
    """The chat a message or callback query is from, as the client's
    external id (a callback on an inline message has no message: its
    sender's id is the private chat's)."""
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        if not isinstance(chat, dict):
            chat = query.get("from")
    else:
        message = update.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    return str(chat_id)


def _image_file_id(message: dict) -> str:
    """The file id of the largest size of a photo, or of an image sent as
    a file ("document" with an image/* mime_type)."""
    photo = message.get("photo")
    if isinstance(photo, list):
        sizes = [s for s in photo if isinstance(s, dict) and isinstance(s.get("file_id"), str)]
        if sizes:
            largest = max(sizes, key=lambda s: (s.get("width") or 0) * (s.get("height") or 0))
            return largest["file_id"]
    document = message.get("document")
    if isinstance(document, dict) and str(document.get("mime_type", "")).startswith("image/"):
        return document.get("file_id") if isinstance(document.get("file_id"), str) else ""
    return ""


def _button_label(message, data: str) -> str:
    """The label of the inline button carrying `data` on the bot's message."""
    markup = message.get("reply_markup") if isinstance(message, dict) else None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text") or "")
    return ""
