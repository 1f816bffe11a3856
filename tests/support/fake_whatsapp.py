"""A fake WhatsApp Business Cloud API on 127.0.0.1 (the outside world, for
tests), on the shared fake Graph API (tests/support/fake_graph.py: the
version, the bearer token, appsecret_proof).

It serves what Parley calls:
- `GET /{phone-number-id}?fields=...`: the number (display_phone_number,
  verified_name, id), for a token that may manage it;
- `POST|DELETE /{waba-id}/subscribed_apps`: `{"success": true}`;
  `subscribed` says whether the app is subscribed;
- `POST /{phone-number-id}/messages`: a message, or a read mark
  (`status: read`, `message_id`, optionally `typing_indicator`);
- `GET /{media-id}`: the media's `url` (on this server) and `mime_type`,
  and `GET /whatsapp_business/attachments/?mid=...` the file itself, for a
  bearer token only (as lookaside.fbsbx.com);
- `GET|POST|DELETE /{waba-id}/message_templates`: the WABA's templates
  (`templates`), paged with `limit` and the `after` cursor; a new one is
  checked as Meta checks it (name of lowercase letters, digits and
  underscores up to 512, category AUTHENTICATION / MARKETING / UTILITY, a
  known language, components: one BODY with text up to 1,024, HEADER text up
  to 60, FOOTER up to 60, up to 10 BUTTONS; a name already used in that
  language is refused) and stored PENDING; DELETE `?name=` removes every
  language of it (an unknown name is refused);
- `GET /{phone-number-id}/whatsapp_business_profile?fields=...`: `{"data":
  [profile]}` with the fields asked for; `POST` changes the fields given
  (Meta's lengths, verticals, at most 2 websites), and takes a
  `profile_picture_handle` the upload answered (`profile_picture_url`
  then points at this server);
- the Resumable Upload API: `GET /app` (the token's app), `POST
  /{app-id}/uploads?file_name&file_length&file_type` (a session for a PDF,
  JPEG, PNG or MP4), `POST /upload:<id>` with `Authorization: OAuth
  <token>`, `file_offset: 0` and the file's bytes, exactly file_length of
  them: `{"h": handle}`; `uploads` holds the files by handle.

A message is checked as Meta checks it, refused with `{"error": {"message":
"(#100) Invalid parameter", "type": "OAuthException", "code": 100,
"error_data": {"messaging_product": "whatsapp", "details": ...}}}`:
messaging_product "whatsapp", `to`, recipient_type "individual", a known
type and its object: text.body of 1-4,096 characters; image.link http(s)
(or an id) and a caption of at most 1,024; location's latitude and
longitude; interactive: a body.text of 1-1,024 characters (4,096 for a
list), reply buttons 1-3 with unique ids (1-256 characters) and titles of
1-20, a list's button label of 1-20 and 1-10 rows (ids 1-200 and unique,
titles 1-24, descriptions up to 72), a cta_url's display_text (1-20) and
https url, a location request's action name; a template's name and
language code. A number whose window a test closed gets 131047
(Re-engagement message) for anything but a template; an undeliverable one
131026. Success is `{"messaging_product": "whatsapp", "contacts":
[{"input", "wa_id"}], "messages": [{"id": "wamid...."}]}`.

The builders at the end make the webhook bodies Meta posts (messages with
contacts, statuses)."""

import base64
import itertools
import re
import time

from tests.support.fake_graph import FakeGraph, GraphError

TOKEN = "EAAGfakeWhatsAppSystemUserToken0123456789"
APP_SECRET = "0f5e2c1d9a8b7c6d5e4f3a2b1c0d9e8f"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "+1 555-013-3700"
VERIFIED_NAME = "Tacos Inc"
USER = "15551234567"  # the user's wa_id
USER_NAME = "Kerry Fisher"
# A 1x1 PNG: what the media server holds unless a test gives other bytes.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")
ATTACHMENTS = "/whatsapp_business/attachments/"
TYPES = {"text", "image", "location", "interactive", "template"}
APP_ID = "1234567890123456"  # the Meta app the token belongs to
TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
TEMPLATE_CATEGORIES = {"AUTHENTICATION", "MARKETING", "UTILITY"}
LANGUAGES = {"en", "en_US", "en_GB", "es", "es_MX", "pt_BR", "fr", "de", "it", "nl", "ja"}
UPLOAD_TYPES = {"application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4"}
PROFILE_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
VERTICALS = {"UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE",
             "GROCERY", "GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT",
             "NOT_A_BIZ"}
BODY_LIMIT = 1024
LIST_BODY_LIMIT = 4096


def invalid(details: str) -> GraphError:
    return GraphError(400, 100, "(#100) Invalid parameter", data={"messaging_product": "whatsapp",
                                                                  "details": details})


def _string(value, name: str, limit: int, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"The parameter {name} is required.")
    if len(value) > limit:
        raise invalid(f"Param {name} must be at most {limit} characters long.")


def wamid(n: int) -> str:
    return "wamid." + base64.b64encode(f"HBgL{USER}FQIAERgS{n:020d}".encode()).decode()


class FakeWhatsApp(FakeGraph):
    def __init__(self):
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Forget every call and state: a server shared by the session's
        tests starts each test as new."""
        self.tokens = {TOKEN: APP_SECRET}
        self.numbers = {PHONE_NUMBER_ID: {"display_phone_number": DISPLAY_PHONE_NUMBER,
                                          "verified_name": VERIFIED_NAME, "id": PHONE_NUMBER_ID,
                                          "quality_rating": "GREEN"}}
        self.wabas = {WABA_ID}
        self.subscribed = False
        self.closed: set[str] = set()  # wa_ids outside the 24-hour window
        self.undeliverable: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.templates: list[dict] = []  # the WABA's, oldest first
        self.profile = {"about": "Tacos every day", "address": "1 Main St", "description": "Tacos Inc",
                        "email": "hola@tacos.example", "vertical": "RESTAURANT",
                        "websites": ["https://tacos.example/"]}
        self.sessions: dict[str, dict] = {}  # open upload sessions
        self.uploads: dict[str, bytes] = {}  # uploaded files, by handle
        self.sent: list[dict] = []  # the messages taken, as posted
        self.reads: list[dict] = []  # the read marks taken, as posted
        self._ids = itertools.count(1)
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # What a test arranges.

    def close_window(self, wa_id: str = USER) -> None:
        """The user last wrote more than 24 hours ago (Meta's side of it)."""
        self.closed.add(wa_id)

    def add_media(self, content: bytes = PNG, mime_type: str = "image/png") -> str:
        media_id = str(1_000_000_000 + len(self.media))
        self.media[media_id] = (content, mime_type)
        return media_id

    # What a test reads.

    def refusals(self) -> list[dict]:
        return [r["answer"]["error"] for r in self.requests if r.get("status") != 200 and r.get("answer")]

    # The server.

    def _graph(self, record):
        if record["path"] == ATTACHMENTS:
            return self._download(record)
        status, headers, answer = super()._graph(record)
        record["answer"] = answer
        return status, headers, answer

    def _download(self, record):
        auth = record["headers"].get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.tokens:
            return 401, {}, {"error": {"message": "Unauthorized", "code": 190, "type": "OAuthException"}}
        found = self.media.get((record["query"].get("mid") or [""])[0])
        if found is None:
            return 404, {}, {"error": {"message": "Not found", "code": 100, "type": "GraphMethodException"}}
        return 200, {"Content-Type": found[1]}, found[0]

    def route(self, method: str, parts: list[str], record: dict, token: str):
        if len(parts) == 1 and method == "GET" and parts[0] in self.numbers:
            fields = ((record["query"].get("fields") or [""])[0]).split(",")
            number = self.numbers[parts[0]]
            return {key: number[key] for key in [*fields, "id"] if key in number}
        if len(parts) == 1 and method == "GET" and parts[0] in self.media:
            return {"messaging_product": "whatsapp", "id": parts[0], "mime_type": self.media[parts[0]][1],
                    "sha256": "0" * 64, "file_size": len(self.media[parts[0]][0]),
                    "url": f"{self.url}{ATTACHMENTS}?mid={parts[0]}&ext=1&hash=ATuX"}
        if len(parts) == 2 and parts[1] == "subscribed_apps" and parts[0] in self.wabas:
            if method in ("POST", "DELETE"):
                self.subscribed = method == "POST"
                return {"success": True}
        if len(parts) == 2 and parts[1] == "messages" and parts[0] in self.numbers and method == "POST":
            return self._messages(record["body"])
        if len(parts) == 2 and parts[1] == "message_templates" and parts[0] in self.wabas:
            return self._templates(method, record)
        if len(parts) == 2 and parts[1] == "whatsapp_business_profile" and parts[0] in self.numbers:
            if method == "GET":
                fields = ((record["query"].get("fields") or [""])[0]).split(",")
                return {"data": [{"messaging_product": "whatsapp",
                                  **{k: v for k, v in self.profile.items() if k in fields}}]}
            if method == "POST":
                return self._update_profile(record["body"])
        if parts == ["app"] and method == "GET":
            return {"id": APP_ID, "name": "Tacos Inc messaging", "link": "https://www.facebook.com/games/?app_id="
                    + APP_ID}
        if len(parts) == 2 and parts == [APP_ID, "uploads"] and method == "POST":
            return self._open_upload(record["query"])
        if len(parts) == 1 and parts[0] in self.sessions and method == "POST":
            return self._upload(parts[0], record)
        raise GraphError(400, 100, f"Unsupported {method} request. Object with ID '{parts[0] if parts else ''}' "
                                   "does not exist, cannot be loaded due to missing permissions, or does not "
                                   "support this operation.", type_="GraphMethodException", subcode=33)

    # Message templates.

    def _templates(self, method: str, record: dict):
        query = {key: values[0] for key, values in record["query"].items()}
        if method == "GET":
            try:
                limit = int(query.get("limit", "25"))
                start = int(base64.b64decode(query["after"]).decode()) if query.get("after") else 0
            except ValueError:
                raise invalid("Param limit and after must be a number and a cursor.")
            fields = query.get("fields", "name,status,id").split(",")
            page = self.templates[start:start + limit]
            answer = {"data": [{k: v for k, v in t.items() if k in fields} for t in page]}
            if page:
                cursors = {"before": base64.b64encode(str(start).encode()).decode(),
                           "after": base64.b64encode(str(start + len(page)).encode()).decode()}
                answer["paging"] = {"cursors": cursors}
                if start + len(page) < len(self.templates):
                    answer["paging"]["next"] = f"{self.url}/next?after={cursors['after']}"
            return answer
        if method == "POST":
            return self._create_template(record["body"])
        if method == "DELETE":
            name = query.get("name", "")
            if not any(t["name"] == name for t in self.templates):
                raise GraphError(400, 100, "(#100) Invalid parameter", subcode=2593002, data={
                    "messaging_product": "whatsapp", "details": f"Message template \"{name}\" was not found."})
            self.templates = [t for t in self.templates if t["name"] != name]
            return {"success": True}
        raise invalid(f"Unsupported {method} on message_templates.")

    def _create_template(self, body):
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        name, category, language = body.get("name"), body.get("category"), body.get("language")
        if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name):
            raise invalid("Param name must contain only lowercase characters, numbers and underscores.")
        if category not in TEMPLATE_CATEGORIES:
            raise invalid(f"Param category must be one of {sorted(TEMPLATE_CATEGORIES)}.")
        if language not in LANGUAGES:
            raise invalid("Param language is not a supported language.")
        components = body.get("components")
        if not isinstance(components, list) or not components:
            raise invalid("The parameter components is required.")
        kinds = [c.get("type") if isinstance(c, dict) else None for c in components]
        if kinds.count("BODY") != 1 or any(k not in ("HEADER", "BODY", "FOOTER", "BUTTONS") for k in kinds) \
                or len(set(kinds)) != len(kinds):
            raise invalid("Param components must hold one BODY and at most one HEADER, FOOTER and BUTTONS.")
        for component in components:
            kind = component["type"]
            if kind == "BODY":
                _string(component.get("text"), "components.BODY.text", 1024)
            elif kind == "HEADER":
                if component.get("format", "TEXT") == "TEXT":
                    _string(component.get("text"), "components.HEADER.text", 60)
            elif kind == "FOOTER":
                _string(component.get("text"), "components.FOOTER.text", 60)
            elif not isinstance(component.get("buttons"), list) or not 1 <= len(component["buttons"]) <= 10:
                raise invalid("Param components.BUTTONS.buttons must contain 1 to 10 buttons.")
        if any(t["name"] == name and t["language"] == language for t in self.templates):
            raise GraphError(400, 100, "(#100) Invalid parameter", subcode=2388024, data={
                "messaging_product": "whatsapp",
                "details": f"Content in this language already exists for {name}."})
        template = {"id": str(900_000_000_000 + len(self.templates)), "name": name, "language": language,
                    "category": category, "status": "PENDING", "components": components}
        self.templates.append(template)
        return {"id": template["id"], "status": "PENDING", "category": category}

    # The business profile and its photo.

    def _update_profile(self, body):
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            raise invalid("The parameter messaging_product is required.")
        changes = {k: v for k, v in body.items() if k != "messaging_product"}
        for key, value in changes.items():
            if key in PROFILE_LIMITS:
                if not isinstance(value, str) or len(value) > PROFILE_LIMITS[key]:
                    raise invalid(f"Param {key} must be at most {PROFILE_LIMITS[key]} characters long.")
            elif key == "vertical":
                if value not in VERTICALS:
                    raise invalid("Param vertical is not a valid vertical.")
            elif key == "websites":
                if not isinstance(value, list) or len(value) > 2 or not all(
                        isinstance(v, str) and v.startswith(("http://", "https://")) for v in value):
                    raise invalid("Param websites must be at most 2 http(s) URLs.")
            elif key == "profile_picture_handle":
                if value not in self.uploads:
                    raise invalid("Param profile_picture_handle is not a valid upload handle.")
            else:
                raise invalid(f"Param {key} is not a business profile field.")
        handle = changes.pop("profile_picture_handle", None)
        self.profile.update(changes)
        if handle is not None:
            self.profile["profile_picture_url"] = f"{self.url}/pps/{len(self.uploads)}.jpg"
        return {"success": True}

    def _open_upload(self, query):
        query = {key: values[0] for key, values in query.items()}
        if query.get("file_type") not in UPLOAD_TYPES:
            raise invalid(f"Param file_type must be one of {sorted(UPLOAD_TYPES)}.")
        if not query.get("file_name"):
            raise invalid("The parameter file_name is required.")
        try:
            length = int(query.get("file_length", ""))
        except ValueError:
            raise invalid("The parameter file_length is required.")
        if length <= 0:
            raise invalid("Param file_length must be positive.")
        session = "upload:" + base64.urlsafe_b64encode(f"session{len(self.sessions)}".encode()).decode().rstrip("=")
        self.sessions[session] = {"length": length, "type": query["file_type"], "name": query["file_name"]}
        return {"id": session}

    def _upload(self, session: str, record: dict):
        auth = record["headers"].get("Authorization") or ""
        if not auth.startswith("OAuth "):
            raise GraphError(400, 190, "The upload takes the token as Authorization: OAuth <token>.")
        if record["headers"].get("file_offset") != "0":
            raise invalid("The header file_offset is required (0 for a new upload).")
        content = record["raw"]
        if len(content) != self.sessions[session]["length"]:
            raise invalid("The file's length is not the session's file_length.")
        handle = "4::" + base64.b64encode(f"{session}:{len(self.uploads)}".encode()).decode()
        self.uploads[handle] = content
        return {"h": handle}

    # Messages.

    def _messages(self, body):
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        if body.get("messaging_product") != "whatsapp":
            raise invalid("The parameter messaging_product is required.")
        if "status" in body:
            return self._read(body)
        to = body.get("to")
        if not isinstance(to, str) or not to.lstrip("+").isdigit():
            raise invalid("The parameter to is required.")
        if body.get("recipient_type", "individual") != "individual":
            raise invalid("Param recipient_type must be individual.")
        kind = body.get("type", "text")
        if kind not in TYPES:
            raise invalid(f"Param type must be one of {sorted(TYPES)}.")
        content = body.get(kind)
        if not isinstance(content, dict):
            raise invalid(f"The parameter {kind} is required.")
        getattr(self, f"_check_{kind}")(content)
        wa_id = to.lstrip("+")
        if wa_id in self.undeliverable:
            raise GraphError(400, 131026, "(#131026) Message Undeliverable", data={
                "messaging_product": "whatsapp", "details": "Message Undeliverable."})
        if wa_id in self.closed and kind != "template":
            raise GraphError(400, 131047, "(#131047) Re-engagement message", subcode=2494010, data={
                "messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours "
                "have passed since the customer last replied to this number."})
        self.sent.append(body)
        message = {"id": wamid(next(self._ids))}
        if kind == "template":
            message["message_status"] = "accepted"
        return {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": wa_id}], "messages": [message]}

    def _read(self, body):
        if body.get("status") != "read":
            raise invalid("Param status must be read.")
        if not isinstance(body.get("message_id"), str) or not body["message_id"].startswith("wamid."):
            raise invalid("The parameter message_id is required.")
        typing = body.get("typing_indicator")
        if typing is not None and typing != {"type": "text"}:
            raise invalid("Param typing_indicator.type must be text.")
        self.reads.append(body)
        return {"success": True}

    # Each type's object.

    def _check_text(self, text: dict) -> None:
        _string(text.get("body"), "text.body", 4096)

    def _check_image(self, image: dict) -> None:
        link = image.get("link")
        if link is None and not isinstance(image.get("id"), str):
            raise invalid("The parameter image.link or image.id is required.")
        if link is not None and not (isinstance(link, str) and link.startswith(("https://", "http://"))):
            raise invalid("Param image.link must be a valid http or https URL.")
        _string(image.get("caption"), "image.caption", 1024, required=False)

    def _check_location(self, location: dict) -> None:
        for key, bound in (("latitude", 90), ("longitude", 180)):
            value = location.get(key)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise invalid(f"The parameter location.{key} is required.")
            if isinstance(value, bool) or not -bound <= number <= bound:
                raise invalid(f"Param location.{key} is out of range.")

    def _check_template(self, template: dict) -> None:
        _string(template.get("name"), "template.name", 512)
        language = template.get("language")
        _string(language.get("code") if isinstance(language, dict) else None, "template.language.code", 20)
        if not isinstance(template.get("components", []), list):
            raise invalid("Param template.components must be an array.")

    def _check_interactive(self, interactive: dict) -> None:
        kind = interactive.get("type")
        checks = {"button": self._buttons, "list": self._list, "cta_url": self._cta_url,
                  "location_request_message": self._location_request}
        if kind not in checks:
            raise invalid(f"Param interactive.type must be one of {sorted(checks)}.")
        body = interactive.get("body")
        _string(body.get("text") if isinstance(body, dict) else None, "interactive.body.text",
                LIST_BODY_LIMIT if kind == "list" else BODY_LIMIT)
        header = interactive.get("header")
        if header is not None:
            self._header(header, kind)
        action = interactive.get("action")
        if not isinstance(action, dict):
            raise invalid("The parameter interactive.action is required.")
        checks[kind](action)

    @staticmethod
    def _header(header, kind: str) -> None:
        if not isinstance(header, dict) or header.get("type") not in ("text", "image"):
            raise invalid("Param interactive.header.type must be text or image.")
        if header["type"] == "text":
            _string(header.get("text"), "interactive.header.text", 60)
        elif kind not in ("button", "cta_url"):
            raise invalid(f"Param interactive.header.type must be text for {kind} messages.")
        elif not isinstance(header.get("image"), dict) or not str(header["image"].get("link", "")).startswith(
                ("https://", "http://")):
            raise invalid("The parameter interactive.header.image.link is required.")

    @staticmethod
    def _buttons(action: dict) -> None:
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not buttons:
            raise invalid("The parameter interactive.action.buttons is required.")
        if len(buttons) > 3:
            raise invalid("Param interactive.action.buttons must contain at most 3 elements.")
        ids = []
        for number, button in enumerate(buttons):
            reply = button.get("reply") if isinstance(button, dict) and button.get("type") == "reply" else None
            if not isinstance(reply, dict):
                raise invalid(f"Param interactive.action.buttons[{number}].type must be reply.")
            _string(reply.get("id"), f"interactive.action.buttons[{number}].reply.id", 256)
            _string(reply.get("title"), f"interactive.action.buttons[{number}].reply.title", 20)
            ids.append(reply["id"])
        if len(set(ids)) != len(ids):
            raise invalid("Button IDs must be unique within a message.")

    @staticmethod
    def _list(action: dict) -> None:
        _string(action.get("button"), "interactive.action.button", 20)
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise invalid("Param interactive.action.sections must contain 1 to 10 elements.")
        ids = []
        for number, section in enumerate(sections):
            rows = section.get("rows") if isinstance(section, dict) else None
            if not isinstance(rows, list) or not rows:
                raise invalid(f"The parameter interactive.action.sections[{number}].rows is required.")
            if len(sections) > 1 or "title" in section:
                _string(section.get("title"), f"interactive.action.sections[{number}].title", 24)
            for row in rows:
                if not isinstance(row, dict):
                    raise invalid("Param interactive.action.sections.rows must be objects.")
                _string(row.get("id"), "interactive.action.sections.rows.id", 200)
                _string(row.get("title"), "interactive.action.sections.rows.title", 24)
                _string(row.get("description"), "interactive.action.sections.rows.description", 72, required=False)
                ids.append(row["id"])
        if len(ids) > 10:
            raise invalid("Param interactive.action.sections must contain at most 10 rows in total.")
        if len(set(ids)) != len(ids):
            raise invalid("Row IDs must be unique within a message.")

    @staticmethod
    def _cta_url(action: dict) -> None:
        parameters = action.get("parameters")
        if action.get("name") != "cta_url" or not isinstance(parameters, dict):
            raise invalid("The parameter interactive.action.parameters is required (name cta_url).")
        _string(parameters.get("display_text"), "interactive.action.parameters.display_text", 20)
        if not (isinstance(parameters.get("url"), str) and parameters["url"].startswith("https://")):
            raise invalid("Param interactive.action.parameters.url must be a valid https URL.")

    @staticmethod
    def _location_request(action: dict) -> None:
        if action.get("name") != "send_location":
            raise invalid("Param interactive.action.name must be send_location.")


# The webhook bodies Meta posts (object whatsapp_business_account).

def webhook(*values: dict, field: str = "messages", waba_id: str = WABA_ID) -> dict:
    """One entry for the WABA with a change of `field` per value."""
    return {"object": "whatsapp_business_account", "entry": [
        {"id": waba_id, "changes": [{"value": value, "field": field} for value in values]}]}


def _metadata(phone_number_id: str) -> dict:
    return {"display_phone_number": "15550133700", "phone_number_id": phone_number_id}


def messages_value(*messages: dict, name: str = USER_NAME, wa_id: str = USER,
                   phone_number_id: str = PHONE_NUMBER_ID) -> dict:
    """A change value with the user's messages and their contact."""
    return {"messaging_product": "whatsapp", "metadata": _metadata(phone_number_id),
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": list(messages)}


def message(id_: str, kind: str, content: dict, *, sender: str = USER, context: str = "") -> dict:
    """A user's message of `kind` with its object `content`."""
    found = {"from": sender, "id": id_, "timestamp": str(int(time.time())), "type": kind, kind: content}
    if context:
        found["context"] = {"from": "15550133700", "id": context}
    return found


def text(id_: str, body: str, **kwargs) -> dict:
    return message(id_, "text", {"body": body}, **kwargs)


def image(id_: str, media_id: str, caption: str = "", **kwargs) -> dict:
    content = {"mime_type": "image/png", "sha256": "0" * 64, "id": media_id}
    if caption:
        content["caption"] = caption
    return message(id_, "image", content, **kwargs)


def location(id_: str, latitude: float, longitude: float, name: str = "", address: str = "", **kwargs) -> dict:
    content = {"latitude": latitude, "longitude": longitude}
    content.update({k: v for k, v in (("name", name), ("address", address)) if v})
    return message(id_, "location", content, **kwargs)


def button_reply(id_: str, reply_id: str, title: str, **kwargs) -> dict:
    return message(id_, "interactive", {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
                   **kwargs)


def list_reply(id_: str, reply_id: str, title: str, **kwargs) -> dict:
    return message(id_, "interactive", {"type": "list_reply", "list_reply": {"id": reply_id, "title": title}},
                   **kwargs)


def status(wamid_: str, state: str, *, recipient: str = USER, code: int = 0, title: str = "") -> dict:
    """A status of a message the business sent; a failed one with its error."""
    found = {"id": wamid_, "status": state, "timestamp": str(int(time.time())), "recipient_id": recipient}
    if state in ("sent", "delivered"):
        found["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        found["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if state == "failed":
        found["errors"] = [{"code": code, "title": title, "message": title,
                            "error_data": {"details": title},
                            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
    return found


def statuses_value(*statuses: dict, phone_number_id: str = PHONE_NUMBER_ID) -> dict:
    return {"messaging_product": "whatsapp", "metadata": _metadata(phone_number_id), "statuses": list(statuses)}
