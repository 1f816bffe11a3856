"""A fake Messenger Platform on 127.0.0.1: the Graph API a Page's app calls
(FakeGraph checks the version, the token and appsecret_proof first), and
Meta's CDN for the files users send (`/cdn/<name>`, no token, as
scontent.xx.fbcdn.net serves them).

It serves `GET /me` (the Page), `POST|DELETE /{page-id}/subscribed_apps`,
`POST|DELETE /me/messenger_profile` (get_started, persistent_menu),
`GET /{psid}` (the profile API) and
`POST /me/messages`, and checks what the Send API checks before it answers
`{"recipient_id", "message_id"}` (`{"recipient_id"}` for a sender action):
- `recipient.id`, exactly one of `message` / `sender_action` (typing_on,
  typing_off, mark_seen), `messaging_type` (RESPONSE, UPDATE, MESSAGE_TAG;
  required with a message) and a `tag` with MESSAGE_TAG, `notification_type`
  (REGULAR, SILENT_PUSH, NO_PUSH);
- a message: exactly one of text (1-2,000 characters) / attachment; 13
  quick replies at most, text ones with a title of 1-20 characters and a
  payload of 1-1,000; an image by an http(s) url; a button template with a
  text of 1-640 characters and 1-3 buttons; a generic template of 1-10
  elements (title 1-80, subtitle 80, image_url http(s), 3 buttons); buttons
  web_url (http(s) url) or postback (payload 1-1,000), titles 1-20;
- the recipient: a PSID the Page knows (else 100/2018001 "No matching user
  found"), not blocked (551 "This person isn't available right now."),
  within the 24-hour window unless tagged HUMAN_AGENT (10/2018278), within
  7 days for that tag, and the tag only when the app has the Human Agent
  permission (`human_agent`).
- the persistent menu: a list of menus, one of them for locale "default",
  each with 1-20 call_to_actions (flat: "nested" is gone since Graph
  v8.0), web_url (http(s) url, webview_height_ratio compact/tall/full) or
  postback (payload 1-1,000), titles 1-30; only once the Page has a Get
  Started button (as Meta requires); DELETE takes `fields`.
Refusals are Meta's error bodies (fake_graph.GraphError). The builders at
the end make the webhook bodies Meta posts (`{"object": "page", ...}`)."""

import itertools
import time
from urllib.parse import urlsplit

from tests.support.fake_graph import FakeGraph, GraphError
from tests.support.fake_telegram import PNG

PAGE_ID = "1067280970047460"
PAGE_NAME = "Tacos Inc"
TOKEN = "EAAGpageTokenForTacos1067280970047460"
APP_ID = "470581926485192"
APP_SECRET = "3d5c0b2f9e8a7d6c5b4a39281706f5e4"
PSID = "5005001"
ALICE = {"first_name": "Alice", "last_name": "Liddell"}

SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen"}
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
TAGS = {"HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "CUSTOMER_FEEDBACK"}
NOTIFICATION_TYPES = {"REGULAR", "SILENT_PUSH", "NO_PUSH"}
FIELDS = {"messages", "messaging_postbacks", "messaging_referrals", "message_deliveries", "message_reads",
          "message_echoes", "messaging_optins", "message_reactions", "messaging_handovers", "standby"}


def invalid(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(400, 100, f"(#100) {message}", subcode=subcode)


def _http(url) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


def _title(value, limit: int, what: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise invalid(f"{what} must be a string of 1 to {limit} characters")


class FakeMessenger(FakeGraph):
    def __init__(self):
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Forget every call and user state (one server serves a session)."""
        self.tokens = {TOKEN: APP_SECRET}
        self.page = {"id": PAGE_ID, "name": PAGE_NAME}
        self.subscribed: list[str] | None = None
        self.profile: dict = {}
        self.users = {PSID: dict(ALICE)}
        self.profile_refused: set[str] = set()
        self.blocked: set[str] = set()
        self.outside_window: set[str] = set()  # past 24 hours: only HUMAN_AGENT goes
        self.expired: set[str] = set()  # past 7 days: nothing goes
        self.human_agent = True
        self._mids = itertools.count(1)
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # What a test arranges.

    def add_user(self, psid: str, first_name: str = "", last_name: str = "") -> None:
        self.users[psid] = {"first_name": first_name, "last_name": last_name}

    # What a test reads.

    def sent(self) -> list[dict]:
        """The Send API bodies Meta took (messages and sender actions)."""
        return [r["body"] for r in self.requests if r["path"].endswith("/me/messages") and r["status"] == 200]

    def messages(self) -> list[dict]:
        return [body for body in self.sent() if "message" in body]

    def sender_actions(self) -> list[str]:
        return [body["sender_action"] for body in self.sent() if "sender_action" in body]

    def refusals(self) -> list[dict]:
        return [r for r in self.requests if r["status"] != 200]

    # The server.

    def _graph(self, record):
        if record["path"].startswith("/cdn/"):
            if record["method"] != "GET":
                return 405, {}, {"error": "GET only"}
            return 200, {"Content-Type": "image/png"}, PNG
        return super()._graph(record)

    def route(self, method: str, parts: list[str], record: dict, token: str):
        params = {key: values[0] for key, values in record["query"].items()}
        body = record["body"] if isinstance(record["body"], dict) else {}
        if parts == ["me"] and method == "GET":
            fields = (params.get("fields") or "id").split(",")
            return {key: value for key, value in self.page.items() if key in fields or key == "id"}
        if len(parts) == 2 and parts[1] == "subscribed_apps":
            return self._subscribed_apps(method, parts[0], {**params, **body})
        if parts == ["me", "messenger_profile"] and method == "POST":
            return self._messenger_profile(body)
        if parts == ["me", "messenger_profile"] and method == "DELETE":
            return self._delete_profile_fields({**params, **body})
        if parts == ["me", "messages"] and method == "POST":
            if not isinstance(record["body"], dict):
                raise invalid("The parameter recipient is required")
            return self._send(record["body"])
        if len(parts) == 1 and method == "GET":
            return self._user(parts[0], params)
        raise GraphError(400, 100, f"Unsupported {method.lower()} request.", type_="GraphMethodException")

    def _object(self, object_id: str) -> None:
        if object_id not in ("me", self.page["id"]):
            raise GraphError(400, 100, f"Unsupported post request. Object with ID '{object_id}' does not exist, "
                                       "cannot be loaded due to missing permissions, or does not support this "
                                       "operation.", type_="GraphMethodException", subcode=33)

    def _subscribed_apps(self, method: str, page_id: str, params: dict) -> dict:
        self._object(page_id)
        if method == "DELETE":
            self.subscribed = None
            return {"success": True}
        if method != "POST":
            raise GraphError(400, 100, "Unsupported request.", type_="GraphMethodException")
        fields = str(params.get("subscribed_fields") or "")
        if not fields:
            raise invalid("The parameter subscribed_fields is required")
        names = fields.split(",")
        unknown = [name for name in names if name not in FIELDS]
        if unknown:
            raise invalid(f"Param subscribed_fields[0] must be one of {{{', '.join(sorted(FIELDS))}}} - got "
                          f"\"{unknown[0]}\"")
        self.subscribed = names
        return {"success": True}

    def _messenger_profile(self, body: dict) -> dict:
        known = [field for field in PROFILE_FIELDS if field in body]
        if not known:
            raise invalid("Requires one of the params: get_started, persistent_menu")
        if "get_started" in body:
            started = body["get_started"]
            if not isinstance(started, dict) or not isinstance(started.get("payload"), str) \
                    or not 1 <= len(started["payload"]) <= 1000:
                raise invalid("param get_started must be an object with a payload of 1 to 1000 characters")
        if "persistent_menu" in body:
            if "get_started" not in self.profile and "get_started" not in body:
                raise invalid("You must set a Get Started button if you also wish to use persistent menu.")
            _check_persistent_menu(body["persistent_menu"])
        for field in known:
            self.profile[field] = body[field]
        return {"result": "success"}

    def _delete_profile_fields(self, body: dict) -> dict:
        fields = body.get("fields")
        if isinstance(fields, str):
            fields = fields.split(",")
        if not isinstance(fields, list) or not fields or any(f not in PROFILE_FIELDS for f in fields):
            raise invalid(f"param fields must be a list of {', '.join(PROFILE_FIELDS)}")
        for field in fields:
            self.profile.pop(field, None)
        return {"result": "success"}

    def _user(self, psid: str, params: dict) -> dict:
        if psid not in self.users or psid in self.profile_refused:
            raise GraphError(400, 100, f"Unsupported get request. Object with ID '{psid}' does not exist, "
                                       "cannot be loaded due to missing permissions, or does not support this "
                                       "operation.", type_="GraphMethodException", subcode=33)
        fields = (params.get("fields") or "first_name,last_name").split(",")
        return {"id": psid, **{key: value for key, value in self.users[psid].items() if key in fields}}

    def _send(self, body: dict) -> dict:
        recipient = body.get("recipient")
        psid = recipient.get("id") if isinstance(recipient, dict) else None
        if not isinstance(psid, str) or not psid:
            raise invalid("The parameter recipient is required")
        has_message, has_action = "message" in body, "sender_action" in body
        if has_message and has_action:
            raise invalid("Cannot send both message and state at the same time.", subcode=2018015)
        if not has_message and not has_action:
            raise invalid("Must send either message or state")
        if body.get("notification_type") is not None and body["notification_type"] not in NOTIFICATION_TYPES:
            raise invalid(f"Param notification_type must be one of {{{', '.join(sorted(NOTIFICATION_TYPES))}}}")
        if has_action:
            if body["sender_action"] not in SENDER_ACTIONS:
                raise invalid("Param sender_action must be one of {typing_on, typing_off, mark_seen}")
            self._recipient(psid, tag=None)
            return {"recipient_id": psid}
        tag = self._messaging_type(body)
        _check_message(body["message"])
        self._recipient(psid, tag=tag)
        return {"recipient_id": psid, "message_id": f"m_fake{next(self._mids)}"}

    @staticmethod
    def _messaging_type(body: dict) -> str | None:
        kind = body.get("messaging_type")
        if kind not in MESSAGING_TYPES:
            raise invalid("Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        if kind != "MESSAGE_TAG":
            return None
        if body.get("tag") not in TAGS:
            raise invalid("Param tag must be a valid message tag when messaging_type is MESSAGE_TAG")
        return body["tag"]

    def _recipient(self, psid: str, tag: str | None) -> None:
        if psid not in self.users:
            raise invalid("No matching user found", subcode=2018001)
        if psid in self.blocked:
            raise GraphError(400, 551, "This person isn't available right now.")
        if tag == "HUMAN_AGENT" and not self.human_agent:
            raise GraphError(400, 10, "(#10) This message is sent outside of allowed window. You need the Human "
                                      "Agent permission to use the HUMAN_AGENT tag.", subcode=2018278)
        if psid in self.expired or (psid in self.outside_window and tag != "HUMAN_AGENT"):
            raise GraphError(400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278)


PROFILE_FIELDS = ("get_started", "persistent_menu")
MENU_BUTTONS = 20
MENU_TITLE = 30
WEBVIEW_HEIGHTS = {"compact", "tall", "full"}


def _check_persistent_menu(menus) -> None:
    if not isinstance(menus, list) or not menus or not all(isinstance(m, dict) for m in menus):
        raise invalid("param persistent_menu must be a non-empty array of menus")
    if [m.get("locale") for m in menus].count("default") != 1:
        raise invalid("persistent_menu must have exactly one menu with locale default")
    for menu in menus:
        if "composer_input_disabled" in menu and not isinstance(menu["composer_input_disabled"], bool):
            raise invalid("param persistent_menu[composer_input_disabled] must be a boolean")
        actions = menu.get("call_to_actions")
        if not isinstance(actions, list) or not 1 <= len(actions) <= MENU_BUTTONS:
            raise invalid(f"param persistent_menu[call_to_actions] must have 1 to {MENU_BUTTONS} buttons")
        for action in actions:
            if not isinstance(action, dict) or action.get("type") not in ("web_url", "postback"):
                raise invalid("persistent menu buttons are web_url or postback (nested menus are not supported)")
            _title(action.get("title"), MENU_TITLE, "param persistent_menu[call_to_actions][title]")
            if action["type"] == "web_url":
                if not _http(action.get("url")):
                    raise invalid("param persistent_menu[call_to_actions][url] must be a valid URL")
                if action.get("webview_height_ratio", "full") not in WEBVIEW_HEIGHTS:
                    raise invalid("param webview_height_ratio must be one of {compact, tall, full}")
            elif not isinstance(action.get("payload"), str) or not 1 <= len(action["payload"]) <= 1000:
                raise invalid("param persistent_menu[call_to_actions][payload] must be 1 to 1000 characters")


def _check_message(message) -> None:
    if not isinstance(message, dict):
        raise invalid("param message must be an object")
    if ("text" in message) == ("attachment" in message):
        raise invalid("Must send one of message[text] or message[attachment]")
    if "text" in message:
        text = message["text"]
        if not isinstance(text, str) or not text:
            raise invalid("param message[text] must be a non-empty UTF-8 encoded string")
        if len(text) > 2000:
            raise invalid("Length of param message[text] must be less than or equal to 2000")
    else:
        _check_attachment(message["attachment"])
    replies = message.get("quick_replies")
    if replies is not None:
        if not isinstance(replies, list) or not 1 <= len(replies) <= 13:
            raise invalid("param message[quick_replies] must be a list of 1 to 13 quick replies")
        for reply in replies:
            _check_quick_reply(reply)


def _check_quick_reply(reply) -> None:
    if not isinstance(reply, dict) or reply.get("content_type") not in ("text", "user_phone_number", "user_email"):
        raise invalid("param message[quick_replies][0][content_type] must be one of {text, user_phone_number, "
                      "user_email}")
    if reply["content_type"] != "text":
        return
    _title(reply.get("title"), 20, "quick reply title")
    _title(reply.get("payload"), 1000, "quick reply payload")
    if "image_url" in reply and not _http(reply["image_url"]):
        raise invalid("param message[quick_replies][0][image_url] must be a valid URL")


def _check_attachment(attachment) -> None:
    if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
        raise invalid("param message[attachment] must be an object with a payload")
    kind, payload = attachment.get("type"), attachment["payload"]
    if kind in ("image", "audio", "video", "file"):
        if not _http(payload.get("url")) and not payload.get("attachment_id"):
            raise invalid("Incorrect URL for attachment or no attachment_id", subcode=2018008)
        return
    if kind != "template":
        raise invalid("param message[attachment][type] must be one of {image, audio, video, file, template}")
    template = payload.get("template_type")
    if template == "button":
        _title(payload.get("text"), 640, "param message[attachment][payload][text]")
        _check_buttons(payload.get("buttons"), required=True)
    elif template == "generic":
        elements = payload.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            raise invalid("param elements must be a list of 1 to 10 elements")
        for element in elements:
            _check_element(element)
    else:
        raise invalid(f"Unsupported template_type: {template!r}")


def _check_element(element) -> None:
    if not isinstance(element, dict):
        raise invalid("an element must be an object")
    _title(element.get("title"), 80, "param elements[0][title]")
    if "subtitle" in element:
        _title(element["subtitle"], 80, "param elements[0][subtitle]")
    if "image_url" in element and not _http(element["image_url"]):
        raise invalid("param elements[0][image_url] must be a valid URL")
    if "buttons" in element:
        _check_buttons(element["buttons"], required=False)


def _check_buttons(buttons, *, required: bool) -> None:
    if not isinstance(buttons, list) or len(buttons) > 3 or (required and not buttons):
        raise invalid("param buttons must be a list of 1 to 3 buttons")
    for each in buttons:
        if not isinstance(each, dict):
            raise invalid("a button must be an object")
        _title(each.get("title"), 20, "param buttons[0][title]")
        if each.get("type") == "web_url":
            if not _http(each.get("url")):
                raise invalid("param buttons[0][url] must be a valid URL")
        elif each.get("type") == "postback":
            _title(each.get("payload"), 1000, "param buttons[0][payload]")
        else:
            raise invalid("param buttons[0][type] must be one of {web_url, postback, phone_number, ...}")


# The webhook bodies Meta posts.

def now_ms() -> int:
    return int(time.time() * 1000)


def event(psid: str = PSID, *, timestamp: int | None = None, **kind) -> dict:
    """One messaging event from `psid` to the Page (`kind`: message=,
    postback=, delivery=, read=, referral=)."""
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": timestamp or now_ms(), **kind}


def page_body(*events: dict) -> dict:
    """What Meta posts: one entry per event (Meta batches up to 1,000)."""
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": now_ms(), "messaging": [e]} for e in events]}


def text_message(mid: str, text: str, psid: str = PSID, quick_reply: str | None = None) -> dict:
    message = {"mid": mid, "text": text}
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    return event(psid, message=message)


def attachment_message(mid: str, *attachments: dict, psid: str = PSID) -> dict:
    return event(psid, message={"mid": mid, "attachments": list(attachments)})


def image(url: str) -> dict:
    return {"type": "image", "payload": {"url": url}}


def location(lat: float, long: float, title: str = "") -> dict:
    found = {"type": "location", "payload": {"coordinates": {"lat": lat, "long": long}}}
    if title:
        found["title"] = title
    return found


def echo(mid: str, text: str) -> dict:
    """The Page's own message, echoed back (message_echoes)."""
    return event(PSID, message={"mid": mid, "text": text, "is_echo": True, "app_id": int(APP_ID)})


def postback(title: str, payload: str, psid: str = PSID, *, mid: str | None = None, ref: str = "",
             timestamp: int | None = None) -> dict:
    body = {"title": title, "payload": payload}
    if mid:
        body["mid"] = mid
    if ref:
        body["referral"] = {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
    return event(psid, timestamp=timestamp, postback=body)


def referral(ref: str, psid: str = PSID, timestamp: int | None = None) -> dict:
    return event(psid, timestamp=timestamp, referral={"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"})


def delivery(watermark: int, mids: list[str] | None = None, psid: str = PSID) -> dict:
    body = {"watermark": watermark}
    if mids is not None:
        body["mids"] = mids
    found = event(psid, delivery=body)
    del found["timestamp"]  # Meta's delivery events carry none
    return found


def read(watermark: int, psid: str = PSID) -> dict:
    return event(psid, read={"watermark": watermark})
