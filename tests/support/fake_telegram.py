"""A fake Telegram Bot API on 127.0.0.1 (the outside world, for tests).

It serves `/bot<token>/<method>` (POST with a JSON, form or empty body, or
GET with a query) and `/file/bot<token>/<file_path>` (GET: the file's
bytes), and checks what the Bot API checks before it answers with the
documented bodies: `{"ok": true, "result": ...}` on success, else
`{"ok": false, "error_code", "description"[, "parameters"]}` with the
HTTP status of `error_code`.

- the token: a token not shaped like BotFather's (`<digits>:<35 chars>`)
  is 404 Not Found, a well-shaped one other than the bot's is 401
  Unauthorized (as api.telegram.org answers);
- required parameters (chat_id, text, photo, latitude/longitude, action,
  callback_query_id, file_id, url), text within 4096 UTF-16 code units and
  captions within 1024, callback_data within 1-64 bytes, the shape of
  reply_markup (one of inline_keyboard / keyboard / remove_keyboard /
  force_reply; inline buttons with a text and exactly one of url /
  callback_data, urls http(s) or tg), a webhook URL that is HTTPS and a
  secret_token of 1-256 characters from A-Z a-z 0-9 _ -;
- setMyCommands: `commands` a list of at most 100 BotCommands, each a
  `command` of 1-32 characters from a-z 0-9 _ and a `description` of
  1-256, no name twice; deleteMyCommands clears them (`commands`);
- a test may make a chat blocked (403 "Forbidden: bot was blocked by the
  user"), unknown (400 "Bad Request: chat not found") or rate limited for
  its next calls (429 with parameters.retry_after).

Results are the documented objects: getMe a User, send* a Message with a
message_id, getFile a File with file_path, setWebhook/deleteWebhook/
sendChatAction/answerCallbackQuery/setMyCommands/deleteMyCommands true. `webhook` holds what setWebhook
set. The update builders at the end make the updates Telegram posts."""

import itertools
import json
import re
import time

from messaging.integrations.fallback import utf16_length
from tests.support.fake_platform import FakePlatform

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"
BOT = {"id": 123456789, "is_bot": True, "first_name": "Tacos Bot", "username": "tacos_bot"}
# A 1x1 PNG: what the file server holds for every photo.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")

TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]{35}")
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
COMMAND_SHAPE = re.compile(r"[a-z0-9_]{1,32}")
COMMANDS_MAX = 100
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                "upload_document", "choose_sticker", "find_location", "record_video_note",
                "upload_video_note"}
SEND_METHODS = {"sendmessage", "sendphoto", "sendlocation"}


class BotApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(what: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {what}")


class FakeTelegram:
    def __init__(self, token: str = TOKEN, *, https_only: bool = True):
        self.token = token
        # Telegram takes HTTPS webhook URLs only; a test whose Parley runs
        # on plain HTTP may turn the check off.
        self.https_only = https_only
        self.reset()
        self.platform = FakePlatform(handler=self.handle)
        self.url = self.platform.url

    def reset(self) -> None:
        """Forget every call, chat state and file: a server shared by the
        tests of a module starts each test as new (stopping one costs the
        test half a second)."""
        self.bot = dict(BOT)
        self.webhook: dict | None = None
        self.commands: list[dict] = []
        self.blocked: set[str] = set()
        self.unknown: set[str] = set()
        self._rate_limits: dict[str, list[int]] = {}
        self._files: dict[str, str] = {}  # file_id -> file_path
        self._expired: set[str] = set()  # file paths the file server no longer serves
        self._message_ids = itertools.count(1)
        platform = getattr(self, "platform", None)
        if platform is not None:
            with platform._lock:
                platform.requests.clear()
                platform._failures.clear()

    # What a test arranges.

    def block(self, chat_id) -> None:
        """The user behind `chat_id` blocked the bot."""
        self.blocked.add(str(chat_id))

    def forget(self, chat_id) -> None:
        """Telegram does not know `chat_id`."""
        self.unknown.add(str(chat_id))

    def rate_limit(self, chat_id, retry_after: int, times: int = 1) -> None:
        """The next `times` calls about `chat_id` answer 429."""
        self._rate_limits.setdefault(str(chat_id), []).extend([retry_after] * times)

    def add_file(self, file_id: str, file_path: str = "") -> str:
        """A file the bot may fetch through getFile; returns its file_path."""
        self._files[file_id] = file_path or f"photos/file_{len(self._files)}.png"
        return self._files[file_id]

    def expire_file(self, file_id: str) -> None:
        """getFile still answers, but the file server answers 404 for the file."""
        self._expired.add(self._files[file_id])

    # What a test reads.

    def calls(self, method: str) -> list[dict]:
        """The parameters of the calls of `method` Telegram took."""
        wanted = method.lower()
        return [r["params"] for r in self.platform.requests
                if r.get("method_name") == wanted and r.get("status") == 200]

    def refusals(self) -> list[dict]:
        return [{"method": r.get("method_name"), "status": r["status"], "answer": r.get("answer")}
                for r in self.platform.requests if r.get("status") != 200]

    def close(self) -> None:
        self.platform.close()

    # The server.

    def handle(self, record: dict):
        path = record["path"]
        try:
            if path.startswith("/file/bot"):
                return self._file(record, path[len("/file/bot"):])
            if not path.startswith("/bot") or path.count("/") != 2:
                raise BotApiError(404, "Not Found")
            token, method = path[len("/bot"):].split("/")
            self._check_token(token)
            record["method_name"] = method.lower()
            params = _params(record)
            record["params"] = params
            result = self._method(method.lower(), params)
        except BotApiError as error:
            answer = {"ok": False, "error_code": error.code, "description": error.description}
            if error.parameters:
                answer["parameters"] = error.parameters
            record["answer"] = answer
            return error.code, {}, answer
        return 200, {}, {"ok": True, "result": result}

    def _check_token(self, token: str) -> None:
        if not TOKEN_SHAPE.fullmatch(token):
            raise BotApiError(404, "Not Found")
        if token != self.token:
            raise BotApiError(401, "Unauthorized")

    def _file(self, record: dict, rest: str):
        token, _, file_path = rest.partition("/")
        self._check_token(token)
        if record["method"] != "GET" or file_path not in self._files.values() or file_path in self._expired:
            raise BotApiError(404, "Not Found")
        return 200, {"Content-Type": "application/octet-stream"}, PNG

    def _method(self, method: str, params: dict):
        handler = {
            "getme": lambda p: dict(self.bot),
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendlocation": self._send_location,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
        }.get(method)
        if handler is None:
            raise BotApiError(404, "Not Found")
        return handler(params)

    def _chat(self, params: dict) -> str:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        chat_id = str(chat_id)
        limits = self._rate_limits.get(chat_id)
        if limits:
            retry_after = limits.pop(0)
            raise BotApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        if chat_id in self.unknown:
            raise bad_request("chat not found")
        if chat_id in self.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _message(self, chat_id: str, params: dict, **content) -> dict:
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"},
                   "from": dict(self.bot), **content}
        if params.get("reply_markup") and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        return message

    def _send_message(self, params: dict) -> dict:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        if utf16_length(text) > TEXT_LIMIT:
            raise bad_request("message is too long")
        _check_markup(params)
        return self._message(self._chat(params), params, text=text)

    def _send_photo(self, params: dict) -> dict:
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo:
            raise bad_request("there is no photo in the request")
        caption = params.get("caption", "")
        if not isinstance(caption, str) or utf16_length(caption) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        _check_markup(params)
        chat_id = self._chat(params)
        sizes = [{"file_id": f"sent-{n}", "file_unique_id": f"u-sent-{n}", "width": w, "height": w}
                 for n, w in enumerate((90, 320))]
        content = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._message(chat_id, params, **content)

    def _send_location(self, params: dict) -> dict:
        try:
            latitude, longitude = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude or longitude")
        _check_markup(params)
        return self._message(self._chat(params), params, location={"latitude": latitude, "longitude": longitude})

    def _send_chat_action(self, params: dict) -> bool:
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._chat(params)
        return True

    def _answer_callback_query(self, params: dict) -> bool:
        if not params.get("callback_query_id"):
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        return True

    def _get_file(self, params: dict) -> dict:
        file_id = params.get("file_id")
        if not file_id or file_id not in self._files:
            raise bad_request("invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(PNG),
                "file_path": self._files[file_id]}

    def _set_webhook(self, params: dict) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise bad_request("parameter \"url\" is required")
        if url and self.https_only and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not (isinstance(secret, str) and SECRET_SHAPE.fullmatch(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not (isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)):
            raise bad_request("can't parse allowed updates")
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed} if url else None
        return True

    def _delete_webhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            try:
                commands = json.loads(commands)
            except ValueError:
                raise bad_request("can't parse commands JSON object")
        if not isinstance(commands, list) or len(commands) > COMMANDS_MAX:
            raise bad_request("parameter \"commands\" must be an array of at most 100 BotCommands")
        names = set()
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not COMMAND_SHAPE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256 \
                    or len(description) > 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            if name in names:
                raise bad_request("BOT_COMMAND_DUPLICATE")
            names.add(name)
        self.commands = [dict(c) for c in commands]
        return True

    def _delete_my_commands(self, params: dict) -> bool:
        self.commands = []
        return True


def _params(record: dict) -> dict:
    """A method's parameters: the query string, then the body (JSON object
    or form); a JSON-serialized field such as reply_markup is decoded."""
    params = {key: values[0] for key, values in record["query"].items()}
    body = record["body"]
    if isinstance(body, dict):
        params.update(body)
    elif body not in (None, ""):
        raise bad_request("can't parse request body")
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        try:
            params["reply_markup"] = json.loads(markup)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object")
    return params


def _check_markup(params: dict) -> None:
    markup = params.get("reply_markup")
    if markup is None:
        return
    kinds = [k for k in ("inline_keyboard", "keyboard", "remove_keyboard", "force_reply")
             if isinstance(markup, dict) and k in markup]
    if len(kinds) != 1:
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get(kinds[0])
    if kinds[0] in ("remove_keyboard", "force_reply"):
        if rows is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
        return
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if kinds[0] == "inline_keyboard":
                _check_inline_button(button)
            elif not (isinstance(button, str) or (isinstance(button, dict) and isinstance(button.get("text"), str))):
                raise bad_request("can't parse keyboard button")


def _check_inline_button(button) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    actions = [k for k in ("url", "callback_data", "login_url", "switch_inline_query", "web_app", "pay")
               if k in button]
    if len(actions) != 1:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


# The updates Telegram posts to a bot's webhook.

USER = {"id": 4242, "is_bot": False, "first_name": "Alice", "last_name": "Liddell", "username": "alice",
        "language_code": "en"}


def message_update(update_id: int, chat_id: int = 4242, *, sender: dict | None = None, **content) -> dict:
    """An update with a new private-chat message (`content`: text, photo,
    location, caption, sticker...)."""
    sender = sender or USER
    return {"update_id": update_id, "message": {
        "message_id": 1000 + update_id, "date": int(time.time()), "from": sender,
        "chat": {"id": chat_id, "type": "private", "first_name": sender.get("first_name", "")}, **content}}


def photo_sizes(telegram: FakeTelegram, name: str) -> list[dict]:
    """A photo as Telegram sends it: several sizes, the largest last, each a
    file the bot may fetch."""
    sizes = []
    for width in (90, 320, 800):
        file_id = f"{name}-{width}"
        telegram.add_file(file_id, f"photos/{name}_{width}.png")
        sizes.append({"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": 70 * width,
                      "width": width, "height": width})
    return sizes


def callback_update(update_id: int, data: str, message: dict, *, sender: dict | None = None) -> dict:
    """An update with a callback query: the user pressed the inline button
    whose callback_data is `data` on `message` (one the bot sent)."""
    return {"update_id": update_id, "callback_query": {
        "id": f"cq-{update_id}", "from": sender or USER, "chat_instance": "-1", "data": data,
        "message": message}}
