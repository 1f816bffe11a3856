"""A fake LINE Messaging API on 127.0.0.1 (the outside world, for tests):
two servers, as LINE has two hosts: `api` (api.line.me: bot info, the
webhook endpoint, reply, push, profiles) and `data` (api-data.line.me:
the content of messages users send). Each checks what LINE checks before it
answers with the documented bodies; refusals are
`{"message"[, "details": [{"message", "property"}]]}` with LINE's status.

- the channel access token (`Authorization: Bearer ...`): 401 when missing
  or not the channel's;
- a request body that is JSON; 1 to 5 message objects; each object's
  limits: text 1-5,000 UTF-16 units, image URLs HTTPS (up to 2,000), a
  location's title and address (1-100) and numbers, a template's altText
  (1-400), buttons (1-4 actions, text 160, or 60 with a thumbnail or title,
  title 40), confirm (exactly 2 actions, text 240), carousel (1-10 columns,
  1-3 actions, the same number in every column, thumbnails and titles on all
  columns or none, text 120 or 60); actions (uri http(s)/line/tel, postback
  data 1-300 bytes, message text 1-300, labels 1-20; location actions only
  as quick replies); quick replies (1-13 items);
- reply tokens: only those the test issued (`reply_token`), each once: any
  other is 400 "Invalid reply token";
- push `to`: a user ID LINE does not know is 400 "Failed to send messages";
  a user who blocked the account gets nothing, and LINE still answers 200
  (`dropped` holds those);
- the webhook endpoint: an HTTPS URL of at most 500 characters;
- a test may rate limit the next calls (429).

`sent` holds what users were sent (`via` reply or push); `endpoint` what
PUT /v2/bot/channel/webhook/endpoint set. The builders at the end make the
webhook bodies LINE posts."""

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import uuid

from messaging.integrations.fallback import utf16_length
from tests.support.fake_platform import FakePlatform

TOKEN = "8Hx0Q+longLivedChannelAccessToken/xyz=="
SECRET = "2d6f0a4c3b1e9f8a7d6c5b4a3e2f1d0c"
BOT = {"userId": "Ub0000000000000000000000000000b07", "basicId": "@123abcde", "displayName": "Tacos LINE",
       "pictureUrl": "https://profile.line-scdn.net/abc", "chatMode": "bot", "markAsReadMode": "auto"}
USER_ID = "U4af4980629a1b2c3d4e5f60718293a4b"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")
USER_ID_SHAPE = re.compile(r"U[0-9a-f]{32}")
URI_SCHEMES = ("http://", "https://", "line://", "tel:")
UNAUTHORIZED = "Authentication failed. Confirm that the access token in the authorization header is valid."


class LineError(Exception):
    def __init__(self, status: int, message: str, details: list | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


class Checker:
    """Collects what is wrong with a request body, as LINE lists it in
    `details` (property paths such as messages[0].text)."""

    def __init__(self):
        self.details: list[dict] = []

    def fail(self, prop: str, message: str) -> None:
        self.details.append({"message": message, "property": prop})

    def text(self, prop: str, value, low: int, high: int) -> None:
        if not isinstance(value, str) or not low <= utf16_length(value) <= high:
            self.fail(prop, f"Length must be between {low} and {high}")

    def https(self, prop: str, value, high: int = 2000) -> None:
        if not isinstance(value, str) or not value.startswith("https://") or len(value) > high:
            self.fail(prop, "Must be a valid HTTPS URL")

    def raise_any(self) -> None:
        if self.details:
            raise LineError(400, f"The request body has {len(self.details)} error(s)", self.details)


class FakeLine:
    def __init__(self, token: str = TOKEN, *, https_only: bool = True):
        self.token = token
        # LINE takes HTTPS webhook endpoints only; a test whose Parley runs
        # on plain HTTP may turn the check off.
        self.https_only = https_only
        self.reset()
        self.api = FakePlatform(handler=self.handle_api)
        self.data = FakePlatform(handler=self.handle_data)
        self.url, self.data_url = self.api.url, self.data.url

    def reset(self) -> None:
        """Forget every call, user, token and file (a server shared by a
        module's tests starts each test as new)."""
        self.bot = dict(BOT)
        self.endpoint: str | None = None
        self.profiles: dict[str, dict] = {USER_ID: {"userId": USER_ID, "displayName": "Sally Brown",
                                                    "language": "en"}}
        self.blocked: set[str] = set()
        self.tokens: dict[str, str] = {}  # issued reply token -> user id
        self.used: set[str] = set()
        self.content: dict[str, tuple[bytes, str]] = {}
        self.sent: list[dict] = []
        self.dropped: list[dict] = []
        self._rate_limited = 0
        self._ids = itertools.count(500000000000000001)
        for platform in (getattr(self, "api", None), getattr(self, "data", None)):
            if platform is not None:
                with platform._lock:
                    platform.requests.clear()
                    platform._failures.clear()

    # What a test arranges.

    def reply_token(self, user_id: str = USER_ID) -> str:
        """A reply token LINE issued with an event from `user_id`."""
        token = secrets.token_hex(16)
        self.tokens[token] = user_id
        return token

    def add_user(self, user_id: str, name: str) -> None:
        self.profiles[user_id] = {"userId": user_id, "displayName": name, "language": "ja"}

    def block(self, user_id: str = USER_ID) -> None:
        """The user blocked the account: pushes are taken and dropped, the
        profile is gone (404)."""
        self.blocked.add(user_id)

    def add_content(self, message_id: str, content: bytes = PNG, content_type: str = "image/png") -> None:
        self.content[message_id] = (content, content_type)

    def rate_limit(self, times: int = 1) -> None:
        self._rate_limited += times

    # What a test reads.

    def refusals(self) -> list[dict]:
        return [{"path": r["path"], "status": r["status"], "answer": r.get("answer")}
                for r in self.api.requests + self.data.requests if r["status"] != 200]

    def messages(self) -> list[dict]:
        """Every message object users were sent, in order."""
        return [m for each in self.sent for m in each["messages"]]

    def close(self) -> None:
        self.api.close()
        self.data.close()

    # The servers.

    def handle_api(self, record: dict):
        return self._answer(record, self._api)

    def handle_data(self, record: dict):
        return self._answer(record, self._data)

    def _answer(self, record: dict, route):
        try:
            self._check_token(record)
            if self._rate_limited:
                self._rate_limited -= 1
                raise LineError(429, "The API rate limit has been exceeded. Try again later.")
            status, headers, answer = route(record)
        except LineError as error:
            answer = {"message": error.message}
            if error.details:
                answer["details"] = error.details
            record["answer"] = answer
            return error.status, {"X-Line-Request-Id": str(uuid.uuid4())}, answer
        return status, {"X-Line-Request-Id": str(uuid.uuid4()), **headers}, answer

    def _check_token(self, record: dict) -> None:
        given = record["headers"].get("Authorization", "")
        if not given.startswith("Bearer "):
            raise LineError(401, "Authorization header required. Must follow the scheme, "
                                 "'Authorization: Bearer <ACCESS TOKEN>'")
        if given[len("Bearer "):] != self.token:
            raise LineError(401, UNAUTHORIZED)

    def _api(self, record: dict):
        method, path = record["method"], record["path"]
        if (method, path) == ("GET", "/v2/bot/info"):
            return 200, {}, dict(self.bot)
        if (method, path) == ("PUT", "/v2/bot/channel/webhook/endpoint"):
            return 200, {}, self._set_endpoint(_json(record))
        if (method, path) == ("POST", "/v2/bot/message/reply"):
            return 200, {}, self._reply(_json(record))
        if (method, path) == ("POST", "/v2/bot/message/push"):
            return 200, {}, self._push(_json(record))
        if method == "GET" and path.startswith("/v2/bot/profile/"):
            user_id = path[len("/v2/bot/profile/"):]
            if user_id not in self.profiles or user_id in self.blocked:
                raise LineError(404, "Not found")
            return 200, {}, dict(self.profiles[user_id])
        raise LineError(404, "Not found")

    def _data(self, record: dict):
        found = re.fullmatch(r"/v2/bot/message/([^/]+)/content", record["path"])
        if record["method"] != "GET" or found is None or found.group(1) not in self.content:
            raise LineError(404, "Not found")
        content, content_type = self.content[found.group(1)]
        return 200, {"Content-Type": content_type}, content

    def _set_endpoint(self, body: dict) -> dict:
        check = Checker()
        endpoint = body.get("endpoint")
        if self.https_only:
            check.https("endpoint", endpoint, 500)
        elif not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")) or len(endpoint) > 500:
            check.fail("endpoint", "Must be a valid URL")
        check.raise_any()
        self.endpoint = endpoint
        return {}

    def _reply(self, body: dict) -> dict:
        _check_messages(body)
        token = body.get("replyToken")
        if not isinstance(token, str) or token not in self.tokens or token in self.used:
            raise LineError(400, "Invalid reply token")
        self.used.add(token)
        return self._deliver("reply", self.tokens[token], body)

    def _push(self, body: dict) -> dict:
        to = body.get("to")
        if not isinstance(to, str) or not to:
            raise LineError(400, "The request body has 1 error(s)",
                            [{"message": "May not be empty", "property": "to"}])
        _check_messages(body)
        if not USER_ID_SHAPE.fullmatch(to) or to not in self.profiles:
            raise LineError(400, "Failed to send messages")
        return self._deliver("push", to, body)

    def _deliver(self, via: str, to: str, body: dict) -> dict:
        record = {"via": via, "to": to, "messages": body["messages"], "at": time.time(),
                  "notificationDisabled": body.get("notificationDisabled", False)}
        (self.dropped if to in self.blocked else self.sent).append(record)
        return {"sentMessages": [{"id": str(next(self._ids)), "quoteToken": secrets.token_urlsafe(12)}
                                 for _ in body["messages"]]}


def _json(record: dict) -> dict:
    body = record["body"]
    if not isinstance(body, dict):
        raise LineError(400, "The request body could not be parsed as JSON")
    return body


def _check_messages(body: dict) -> None:
    check = Checker()
    messages = body.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        check.fail("messages", "Size must be between 1 and 5")
        check.raise_any()
    if "notificationDisabled" in body and not isinstance(body["notificationDisabled"], bool):
        check.fail("notificationDisabled", "Must be a boolean")
    for index, message in enumerate(messages):
        _check_message(check, f"messages[{index}]", message)
    check.raise_any()


def _check_message(check: Checker, prop: str, message) -> None:
    if not isinstance(message, dict):
        check.fail(prop, "Must be an object")
        return
    kind = message.get("type")
    if kind == "text":
        check.text(f"{prop}.text", message.get("text"), 1, 5000)
    elif kind == "image":
        check.https(f"{prop}.originalContentUrl", message.get("originalContentUrl"))
        check.https(f"{prop}.previewImageUrl", message.get("previewImageUrl"))
    elif kind == "location":
        check.text(f"{prop}.title", message.get("title"), 1, 100)
        check.text(f"{prop}.address", message.get("address"), 1, 100)
        for key, bound in (("latitude", 90), ("longitude", 180)):
            value = message.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not -bound <= value <= bound:
                check.fail(f"{prop}.{key}", "Must be a number")
    elif kind == "template":
        check.text(f"{prop}.altText", message.get("altText"), 1, 400)
        _check_template(check, f"{prop}.template", message.get("template"))
    else:
        check.fail(f"{prop}.type", "Must be one of the following values: [text, image, video, audio, location, "
                                   "sticker, imagemap, template, flex]")
    if "quickReply" in message:
        _check_quick_reply(check, f"{prop}.quickReply", message["quickReply"])


def _check_template(check: Checker, prop: str, template) -> None:
    if not isinstance(template, dict):
        check.fail(prop, "May not be empty")
        return
    kind = template.get("type")
    if kind == "buttons":
        illustrated = "thumbnailImageUrl" in template or "title" in template
        check.text(f"{prop}.text", template.get("text"), 1, 60 if illustrated else 160)
        if "title" in template:
            check.text(f"{prop}.title", template["title"], 1, 40)
        if "thumbnailImageUrl" in template:
            check.https(f"{prop}.thumbnailImageUrl", template["thumbnailImageUrl"])
        _check_actions(check, f"{prop}.actions", template.get("actions"), 1, 4)
    elif kind == "confirm":
        check.text(f"{prop}.text", template.get("text"), 1, 240)
        _check_actions(check, f"{prop}.actions", template.get("actions"), 2, 2)
    elif kind == "carousel":
        _check_columns(check, f"{prop}.columns", template.get("columns"))
    else:
        check.fail(f"{prop}.type", "Must be one of the following values: [buttons, confirm, carousel, image_carousel]")


def _check_columns(check: Checker, prop: str, columns) -> None:
    if not isinstance(columns, list) or not 1 <= len(columns) <= 10:
        check.fail(prop, "Size must be between 1 and 10")
        return
    if not all(isinstance(c, dict) for c in columns):
        check.fail(prop, "Must be objects")
        return
    for key in ("thumbnailImageUrl", "title"):
        if len({key in c for c in columns}) > 1:
            check.fail(prop, f"{key} must be set in all columns or in none")
    if len({len(c.get("actions")) if isinstance(c.get("actions"), list) else -1 for c in columns}) > 1:
        check.fail(prop, "The number of actions must be the same in all columns")
    for index, column in enumerate(columns):
        here = f"{prop}[{index}]"
        illustrated = "thumbnailImageUrl" in column or "title" in column
        check.text(f"{here}.text", column.get("text"), 1, 60 if illustrated else 120)
        if "title" in column:
            check.text(f"{here}.title", column["title"], 1, 40)
        if "thumbnailImageUrl" in column:
            check.https(f"{here}.thumbnailImageUrl", column["thumbnailImageUrl"])
        _check_actions(check, f"{here}.actions", column.get("actions"), 1, 3)


def _check_actions(check: Checker, prop: str, actions, low: int, high: int) -> None:
    if not isinstance(actions, list) or not low <= len(actions) <= high:
        check.fail(prop, f"Size must be between {low} and {high}")
        return
    for index, action in enumerate(actions):
        _check_action(check, f"{prop}[{index}]", action, quick_reply=False)


def _check_action(check: Checker, prop: str, action, *, quick_reply: bool) -> None:
    if not isinstance(action, dict):
        check.fail(prop, "Must be an object")
        return
    kind = action.get("type")
    check.text(f"{prop}.label", action.get("label"), 1, 20)
    if kind == "uri":
        uri = action.get("uri")
        if not isinstance(uri, str) or not uri.startswith(URI_SCHEMES) or len(uri) > 1000:
            check.fail(f"{prop}.uri", "Must be a valid URI (http, https, line or tel)")
    elif kind == "postback":
        data = action.get("data")
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 300:
            check.fail(f"{prop}.data", "Length must be between 1 and 300")
        if "displayText" in action:
            check.text(f"{prop}.displayText", action["displayText"], 1, 300)
    elif kind == "message":
        check.text(f"{prop}.text", action.get("text"), 1, 300)
    elif kind == "location" and quick_reply:
        pass
    else:
        check.fail(f"{prop}.type", "Invalid action type" + ("" if quick_reply else " for a template"))


def _check_quick_reply(check: Checker, prop: str, quick) -> None:
    items = quick.get("items") if isinstance(quick, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= 13:
        check.fail(f"{prop}.items", "Size must be between 1 and 13")
        return
    for index, item in enumerate(items):
        here = f"{prop}.items[{index}]"
        if not isinstance(item, dict) or item.get("type") != "action":
            check.fail(f"{here}.type", "Must be action")
            continue
        if "imageUrl" in item:
            check.https(f"{here}.imageUrl", item["imageUrl"], 1000)
        _check_action(check, f"{here}.action", item.get("action"), quick_reply=True)


# The webhook bodies LINE posts.

def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(*events, destination: str = BOT["userId"]) -> dict:
    return {"destination": destination, "events": list(events)}


def event(kind: str, event_id: str, *, user_id: str = USER_ID, reply_token: str | None = None,
          redelivery: bool = False, **content) -> dict:
    """One webhook event from a user in a one-on-one chat."""
    body = {"type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id}, "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": redelivery}, **content}
    if reply_token is not None:
        body["replyToken"] = reply_token
    return body


def text(event_id: str, message_id: str, value: str, **kwargs) -> dict:
    return event("message", event_id, message={"id": message_id, "type": "text", "text": value,
                                               "quoteToken": "q-" + message_id}, **kwargs)


def image(event_id: str, message_id: str, **kwargs) -> dict:
    return event("message", event_id, message={"id": message_id, "type": "image",
                                               "contentProvider": {"type": "line"}}, **kwargs)


def location(event_id: str, message_id: str, lat: float, long: float, **kwargs) -> dict:
    return event("message", event_id, message={"id": message_id, "type": "location", "title": "Tokyo Tower",
                                               "address": "4 Chome-2-8 Shibakoen, Minato City, Tokyo",
                                               "latitude": lat, "longitude": long}, **kwargs)


def postback(event_id: str, data: str, **kwargs) -> dict:
    return event("postback", event_id, postback={"data": data, "params": {"datetime": "2026-12-02T10:00"}},
                 **kwargs)


def body_and_signature(payload, secret: str = SECRET) -> tuple[bytes, str]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw, signature(secret, raw)
