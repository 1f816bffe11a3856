"""A fake Viber REST Bot API on 127.0.0.1 (the outside world, for tests).

It serves `POST /pa/<method>` (get_account_info, set_webhook, send_message,
get_user_details) and `GET /media/<name>` (a file a user sent: the URL of a
picture message), and checks what Viber checks before it answers as Viber
does: HTTP 200 with `{"status": 0, "status_message": "ok", ...}`, or a
non-zero status and its name (2 invalidAuthToken, 3 badData, 4 missingData,
5 receiverNotRegistered, 6 receiverNotSubscribed, 12 tooManyRequests, 1
invalidUrl for a webhook URL Viber cannot use).

- the token in `X-Viber-Auth-Token`;
- send_message: receiver, type, sender.name (<= 28 characters); text <=
  7,000 characters; a picture's media URL and description (<= 768); a
  location's lat/lon; a keyboard's buttons (ActionType, ActionBody, Columns
  1-6, Rows 1-2) and rich media (ButtonsGroupColumns 1-6, ButtonsGroupRows
  1-7, at most 6 blocks, each block's buttons filling at most its grid),
  min_api_version high enough for rich media; the 30 KB message size;
- set_webhook: an HTTPS URL (a test whose Parley runs on plain HTTP may
  turn that off), known event types, and, as Viber does, a signed `webhook`
  event posted to the URL before it answers (`reach(url, body, headers)`
  posts it, over real HTTP to 127.0.0.1 by default; an answer other than
  200 fails set_webhook with status 1). `webhook` holds what was set.

The callback builders at the end make the events Viber posts."""

import hashlib
import hmac
import itertools
import json
import time
from urllib.parse import urlsplit

import requests

from tests.support.fake_platform import FakePlatform
from tests.support.fake_telegram import PNG

TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
ACCOUNT = {"id": "pa:75346594275468546724", "name": "Tacos Bot", "uri": "tacosbot",
           "icon": "https://media.example.org/tacos.png", "category": "Food", "country": "UK",
           "subscribers_count": 3}
USER_ID = "01234567890A="
EVENT_TYPES = {"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started", "message"}
ACTION_TYPES = {"reply", "open-url", "location-picker", "share-phone", "none"}
MESSAGE_TYPES = {"text", "picture", "video", "file", "location", "contact", "sticker", "carousel", "url",
                 "rich_media"}
NAMES = {0: "ok", 1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
         5: "receiverNotRegistered", 6: "receiverNotSubscribed", 12: "tooManyRequests"}


class ViberError(Exception):
    def __init__(self, status: int, message: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message or NAMES.get(status, "generalError")


def loopback_post(url: str, body: bytes, headers: dict) -> int:
    """Viber's POST to a webhook URL, kept on loopback (tests reach nothing else)."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        return 0
    try:
        return requests.post(url, data=body, headers=headers, timeout=10).status_code
    except requests.RequestException:
        return 0


class FakeViber:
    def __init__(self, token: str = TOKEN, *, https_only: bool = True):
        self.token = token
        self.https_only = https_only
        self.reset()
        self.platform = FakePlatform(handler=self.handle)
        self.url = self.platform.url

    def reset(self) -> None:
        """Forget every call and user state (a server shared by a module's tests)."""
        self.account = dict(ACCOUNT)
        self.webhook: dict | None = None
        self.reach = loopback_post
        self.checks: list[dict] = []  # the webhook checks posted, with the answer they got
        self.unsubscribed: set[str] = set()
        self.unknown: set[str] = set()
        self._rate_limited: list[str] = []
        self._tokens = itertools.count(5741311803571721087)
        platform = getattr(self, "platform", None)
        if platform is not None:
            with platform._lock:
                platform.requests.clear()
                platform._failures.clear()

    # What a test arranges.

    def unsubscribe(self, user_id: str) -> None:
        self.unsubscribed.add(user_id)

    def forget(self, user_id: str) -> None:
        """`user_id` is not a Viber user (receiverNotRegistered)."""
        self.unknown.add(user_id)

    def rate_limit(self, user_id: str, times: int = 1) -> None:
        self._rate_limited += [user_id] * times

    # What a test reads.

    def calls(self, method: str) -> list[dict]:
        return [r["body"] for r in self.platform.requests
                if r["path"] == f"/pa/{method}" and r.get("answer", {}).get("status") == 0]

    def sent(self) -> list[dict]:
        return self.calls("send_message")

    def refusals(self) -> list[dict]:
        return [r["answer"] for r in self.platform.requests if r.get("answer", {}).get("status", 0) != 0]

    def close(self) -> None:
        self.platform.close()

    # The server.

    def handle(self, record: dict):
        path = record["path"]
        if record["method"] == "GET" and path.startswith("/media/"):
            return 200, {"Content-Type": "image/png"}, PNG
        if record["method"] != "POST" or not path.startswith("/pa/"):
            return 404, {}, {"status": 404, "status_message": "not found"}
        try:
            if record["headers"].get("X-Viber-Auth-Token") != self.token:
                raise ViberError(2)
            body = record["body"]
            if not isinstance(body, dict):
                raise ViberError(3, "the body is not a JSON object")
            method = {"get_account_info": lambda b: dict(self.account), "set_webhook": self._set_webhook,
                      "send_message": self._send_message, "get_user_details": self._user_details,
                      }.get(path[len("/pa/"):])
            if method is None:
                raise ViberError(3, "unknown method")
            answer = {"status": 0, "status_message": "ok", **method(body)}
        except ViberError as error:
            answer = {"status": error.status, "status_message": error.message}
        record["answer"] = answer
        return 200, {}, answer

    def _set_webhook(self, body: dict) -> dict:
        url = body.get("url")
        if not isinstance(url, str):
            raise ViberError(4, "url is required")
        if url == "":
            self.webhook = None
            return {}
        if self.https_only and not url.startswith("https://"):
            raise ViberError(1, "Invalid URL: only HTTPS is allowed")
        types = body.get("event_types", sorted(EVENT_TYPES))
        if not isinstance(types, list) or not set(types) <= EVENT_TYPES:
            raise ViberError(3, "event_types holds an unknown event")
        check = json.dumps({"event": "webhook", "timestamp": int(time.time() * 1000),
                            "chat_hostname": "SN-CHAT-05_", "message_token": next(self._tokens)}).encode()
        headers = {"Content-Type": "application/json", "X-Viber-Content-Signature": sign(self.token, check)}
        status = self.reach(url, check, headers)
        self.checks.append({"url": url, "status": status})
        if status != 200:
            raise ViberError(1, f"Result[HttpRequest[POST {url}] answered {status}]")
        self.webhook = {"url": url, "event_types": types}
        # Viber always sends these, whatever was asked.
        return {"event_types": sorted(set(types) | {"message", "subscribed", "unsubscribed",
                                                   "conversation_started"})}

    def _user_details(self, body: dict) -> dict:
        if not isinstance(body.get("id"), str) or body["id"] in self.unknown:
            raise ViberError(5)
        return {"user": {"id": body["id"], "name": "Alice", "country": "UK", "language": "en",
                         "api_version": 10}}

    def _send_message(self, body: dict) -> dict:
        if len(json.dumps(body).encode()) > 30 * 1024:
            raise ViberError(3, "the message is over 30 KB")
        receiver, kind, sender = body.get("receiver"), body.get("type"), body.get("sender")
        if not isinstance(receiver, str) or not receiver or kind is None:
            raise ViberError(4, "receiver and type are required")
        if kind not in MESSAGE_TYPES:
            raise ViberError(3, f"unknown message type {kind}")
        if not isinstance(sender, dict) or not isinstance(sender.get("name"), str) or not sender["name"]:
            raise ViberError(4, "sender.name is required")
        if len(sender["name"]) > 28:
            raise ViberError(3, "sender.name is over 28 characters")
        {"text": _check_text, "picture": _check_picture, "location": _check_location,
         "rich_media": _check_rich_media}.get(kind, lambda b: None)(body)
        if "keyboard" in body:
            _check_keyboard(body["keyboard"])
        if self._rate_limited and self._rate_limited[0] == receiver:
            self._rate_limited.pop(0)
            raise ViberError(12)
        if receiver in self.unknown:
            raise ViberError(5)
        if receiver in self.unsubscribed:
            raise ViberError(6)
        return {"message_token": next(self._tokens), "chat_hostname": "SN-CHAT-05_", "billing_status": 0}


def _check_text(body: dict) -> None:
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise ViberError(4, "text is required")
    if len(text) > 7000:
        raise ViberError(3, "text is over 7000 characters")


def _check_picture(body: dict) -> None:
    media, text = body.get("media"), body.get("text")
    if not isinstance(media, str) or not media.startswith(("http://", "https://")):
        raise ViberError(4, "media is required")
    if not isinstance(text, str):
        raise ViberError(4, "text is required (an empty string when irrelevant)")
    if len(text) > 768:
        raise ViberError(3, "text is over 768 characters")


def _check_location(body: dict) -> None:
    location = body.get("location")
    try:
        lat, lon = float(location["lat"]), float(location["lon"])
    except (KeyError, TypeError, ValueError):
        raise ViberError(4, "location.lat and location.lon are required")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ViberError(3, "location out of range")


def _check_button(button, max_rows: int) -> tuple[int, int]:
    if not isinstance(button, dict):
        raise ViberError(3, "a button is an object")
    columns, rows = button.get("Columns", 6), button.get("Rows", 1)
    if not (isinstance(columns, int) and 1 <= columns <= 6 and isinstance(rows, int) and 1 <= rows <= max_rows):
        raise ViberError(3, "a button's Columns are 1-6 and its Rows within the grid")
    action = button.get("ActionType", "reply")
    if action not in ACTION_TYPES:
        raise ViberError(3, f"unknown ActionType {action}")
    if action != "none" and not (isinstance(button.get("ActionBody"), str) and button["ActionBody"]):
        raise ViberError(4, "ActionBody is required")
    if action == "open-url" and not button["ActionBody"].startswith(("http://", "https://")):
        raise ViberError(3, "an open-url ActionBody is a URL")
    if "Text" in button and (not isinstance(button["Text"], str) or len(button["Text"]) > 250):
        raise ViberError(3, "a button's Text is at most 250 characters")
    return columns, rows


def _check_keyboard(board) -> None:
    if not isinstance(board, dict) or board.get("Type") != "keyboard" or not isinstance(board.get("Buttons"), list):
        raise ViberError(3, "keyboard: Type keyboard and a list of Buttons")
    if not 1 <= len(board["Buttons"]) <= 24 * 6:
        raise ViberError(3, "keyboard: 1 to 24 rows of buttons")
    for button in board["Buttons"]:
        _check_button(button, 2)


def _check_rich_media(body: dict) -> None:
    if not isinstance(body.get("min_api_version"), int) or body["min_api_version"] < 2:
        raise ViberError(3, "rich_media needs min_api_version 2 or more")
    media = body.get("rich_media")
    if not isinstance(media, dict) or media.get("Type") != "rich_media" or not isinstance(media.get("Buttons"), list):
        raise ViberError(4, "rich_media: Type rich_media and a list of Buttons")
    columns, rows = media.get("ButtonsGroupColumns", 6), media.get("ButtonsGroupRows", 7)
    if not (isinstance(columns, int) and 1 <= columns <= 6 and isinstance(rows, int) and 1 <= rows <= 7):
        raise ViberError(3, "ButtonsGroupColumns are 1-6 and ButtonsGroupRows 1-7")
    blocks, used = 0, columns * rows
    for button in media["Buttons"]:
        width, height = _check_button(button, rows)
        if width > columns:
            raise ViberError(3, "a button is wider than its block")
        if used + width * height > columns * rows:
            blocks, used = blocks + 1, 0
        used += width * height
    if blocks > 6:
        raise ViberError(3, "rich_media holds at most 6 blocks")


def sign(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


# The callbacks Viber posts to a bot's webhook.

USER = {"id": USER_ID, "name": "Alice Liddell", "avatar": "https://media.example.org/alice.jpg",
        "country": "UK", "language": "en", "api_version": 10}


def _event(event: str, token, **rest) -> dict:
    return {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
            "message_token": token, **rest}


def message(token, user: dict | None = None, **content) -> dict:
    """A message callback (`content`: type, text, media, location...)."""
    return _event("message", token, sender=user or USER, message=content)


def receipt(event: str, token, user_id: str = USER_ID, **rest) -> dict:
    """delivered / seen / failed (with desc) for the message `token`."""
    return _event(event, token, user_id=user_id, **rest)


def subscribed(token, user: dict | None = None) -> dict:
    return _event("subscribed", token, user=user or USER)


def unsubscribed(token, user_id: str = USER_ID) -> dict:
    return _event("unsubscribed", token, user_id=user_id)


def conversation_started(token, context: str = "", user: dict | None = None) -> dict:
    extra = {"context": context} if context else {}
    return _event("conversation_started", token, type="open", user=user or USER, subscribed=False, **extra)


def signed(body: dict, token: str = TOKEN) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, sign(token, raw)
