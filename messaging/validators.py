"""Request bodies checked before any write, with the rules of the Smooch v1
reference. Each validator returns clean values or raises `ValidationError`
(a 400 `bad_request` with a precise description); nothing is stored until
a body has passed.

The shape of each body (types, lengths, counts, enums) is its JSON Schema in
messaging/schemas.py, the same one the OpenAPI document serves; this
module adds what a schema does not say well: the rules across fields (what
each message type and role may carry), normalisation and defaults. It never
reads the database: whether a `destination` names a client of the user is
the delivery engine's question, and whether a `buy` action has a payment
integration the message service's, both asked before anything is written.

The REST API, the SDK websocket consumer (widget messages) and the
dashboard's composer all check bodies here, so the module belongs to the
engine, not to messaging/api. Keep `validate_message(data, role=,
app_user=)`'s signature stable.
"""

import hashlib
import mimetypes
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlparse

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.utils.dateparse import parse_datetime
import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema import ValidationError as SchemaError
from jsonschema.validators import extend

from messaging import jsonbody, outbound, schemas
from messaging.ids import is_id, new_id
from messaging.jsonbody import path_name, serialised_size
from messaging.services.errors import ServiceError

QUICK_REPLY_TYPES = frozenset({"reply", "locationRequest"})

_email = EmailValidator()
_E164_JUNK = re.compile(r"[\s\-().]")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ValidationError(ServiceError):
    status = 400
    code = "bad_request"


def _fail(description: str):
    raise ValidationError(description)


# ------------------------------------------------------- schemas and errors

# Only these formats are asserted (jsonschema's own checkers depend on which
# optional packages are installed). "uri" is RFC 3986 as jsonschema-rs
# checks it: the checker a client's JSON Schema tooling (and schemathesis)
# uses, so the document and the validators agree; each URL's pattern then
# narrows the schemes.
FORMATS = FormatChecker(formats=())
_URI = jsonschema_rs.validator_for({"type": "string", "format": "uri"}, validate_formats=True)


@FORMATS.checks("uri")
def _is_uri(value) -> bool:
    return not isinstance(value, str) or _URI.is_valid(value)


@FORMATS.checks("email")
def _is_email(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        _email(value.strip())
    except DjangoValidationError:
        return False
    return True


def _parse_time(value: str):
    """An aware datetime that every database and `iso()` can hold, or None.
    In range means once in UTC too: 9999-12-31T23:59:59-01:00 is past
    datetime.max in UTC (OverflowError when stored or shown)."""
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well-formed but out of range (month 13, offset +99:00)
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    try:
        # In UTC: PostgreSQL refuses an offset past 15:59 (-16:42 is valid
        # RFC 3339, and was a 500 found by the fuzzer).
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


@FORMATS.checks("date-time")
def _is_time(value) -> bool:
    return not isinstance(value, str) or _parse_time(value) is not None


TYPE_ERRORS = {
    "string": "{name} must be a string.",
    "boolean": "{name} must be true or false.",
    "array": "{name} must be an array.",
    "object": "{name} must be an object.",
    "number": "{name} must be a number.",
    "integer": "{name} must be an integer.",
}
ERRORS = {
    "required": "{name} is required.",
    "maxLength": "{name} must be at most {maxLength} characters.",
    "pattern": "{name} must not be empty.",
    "minimum": "{name} must be between {minimum} and {maximum}.",
    "maximum": "{name} must be between {minimum} and {maximum}.",
}


_name = path_name  # `items[0].title`: the decoder names its faults the same way


def _describe(error, root) -> str:
    """The description of the first failing keyword: the node's `x-errors`
    template for it, or the default (see messaging/schemas.py)."""
    keyword, node, path = error.validator, error.schema, list(error.absolute_path)
    if keyword == "required":
        missing = next(p for p in error.validator_value if p not in error.instance)
        path.append(missing)
        node = node.get("properties", {}).get(missing, {})
    template = node.get("x-errors", {}).get(keyword)
    if template is None:
        if keyword == "type":
            types = error.validator_value
            template = TYPE_ERRORS[types[0] if isinstance(types, list) else types]
        elif keyword == "enum":
            many = len(error.validator_value) > 2
            template = "{name} must be one of {enum}." if many else "{name} must be {either}."
        else:
            template = ERRORS.get(keyword, "{name} is not valid: {message}")
    enum = [str(v) for v in node.get("enum", ())]
    either = " or ".join(enum) if len(enum) < 3 else ", ".join(enum[:-1]) + " or " + enum[-1]
    value = error.instance
    return template.format_map({
        **node,
        "name": _name(path) or "The body",
        "parent": _name(path[:-1]),
        "value": value,
        "given": len(value) if isinstance(value, (list, dict, str)) else None,
        "size": serialised_size(value) if keyword == "x-maxBytes" else None,
        "enum": ", ".join(enum),
        "either": either,
        "root": defaultdict(str, root if isinstance(root, dict) else {}),
        "message": error.message,
    })


BLANK_IS_ABSENT = frozenset({"uri", "email"})


def _present(instance, schema: dict):
    """The body as the rules read it: a key whose value is null counts as
    absent unless its schema takes null, and so does a blank string where a
    URL or an email is expected."""
    properties = schema.get("properties")
    if isinstance(instance, dict) and properties is not None:
        clean = {}
        for key, value in instance.items():
            node = properties.get(key, {})
            types = node.get("type")
            if value is None and not ("null" in types if isinstance(types, list) else types == "null"):
                continue
            if isinstance(value, str) and node.get("format") in BLANK_IS_ABSENT and not value.strip():
                continue
            clean[key] = _present(value, node)
        return clean
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [_present(value, schema["items"]) for value in instance]
    return instance


# What messaging.jsonbody refuses in any string or key (NUL, lone
# surrogates), and the integers it takes (64-bit signed), as JSON Schema.
STORABLE_TEXT = r"^[^\x00\ud800-\udfff]*$"
INT_RANGE = {"minimum": jsonbody.INT_MIN, "maximum": jsonbody.INT_MAX}


def as_read(schema):
    """`schema` as the API reads a body with it, for the OpenAPI document:
    what `_present` counts as absent (null, unless the node takes null; a
    blank URL or email) is allowed where the field is optional, and what
    the decoder refuses (messaging.jsonbody: NUL bytes and lone surrogates
    in strings and keys, integers past 64 bits) is excluded. A fuzzer that
    reads the document then sends what the API takes, and only that."""
    if isinstance(schema, list):
        return [as_read(node) for node in schema]
    if not isinstance(schema, dict):
        return schema
    node = {key: (value if key in ("enum", "const", "x-errors", "required", "pattern") else as_read(value))
            for key, value in schema.items() if key != "properties"}
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types and "enum" not in schema and "const" not in schema:
        node = {"allOf": [node, {"pattern": STORABLE_TEXT}]} if "pattern" in schema else {
            **node, "pattern": STORABLE_TEXT}
    if "integer" in types:
        node = {**INT_RANGE, **node}
    if "object" in types or "properties" in schema:
        node.setdefault("propertyNames", {"pattern": STORABLE_TEXT})
    if "properties" in schema:
        required = set(schema.get("required", ()))
        node["properties"] = {}
        absent_forms = {}
        for key, prop in schema["properties"].items():
            read = as_read(prop)
            if key not in required and isinstance(prop, dict):
                absent_forms[key] = _absent_forms(prop)
                if absent_forms[key]:
                    read = {"anyOf": [read, *absent_forms[key]]}
            node["properties"][key] = read
        # A branch "one of these is required" (CONVERSATION_UPDATE) needs
        # the key present as the rules read it: not null or blank.
        for combinator in ("anyOf", "oneOf"):
            for branch in node.get(combinator, ()):
                for key in branch.get("required", ()):
                    if absent_forms.get(key):
                        branch.setdefault("properties", {})[key] = {"not": {"anyOf": absent_forms[key]}}
    return node


def _absent_forms(prop: dict) -> list[dict]:
    """The values `_present` drops for an optional field of schema `prop`."""
    types = prop.get("type")
    forms = [] if "null" in (types if isinstance(types, list) else [types]) else [{"type": "null"}]
    if prop.get("format") in BLANK_IS_ABSENT:
        forms.append({"type": "string", "pattern": r"^\s*$"})
    return forms


def takes_empty(schema: dict) -> bool:
    """Whether `{}` passes `schema`: an empty request body is read as `{}`
    (messaging.api.auth), so the document makes the body optional then."""
    try:
        Schema(schema).check({})
    except ValidationError:
        return False
    return True


def _max_bytes(validator, limit, instance, schema):
    """`x-maxBytes` (see messaging/schemas.py): the value's size as compact
    JSON. Only objects carry it (metadata, properties, info), and the body
    they sit in is at most PARLEY_MAX_JSON_BODY_BYTES: one dumps each."""
    if isinstance(instance, dict) and serialised_size(instance) > limit:
        yield SchemaError(f"{serialised_size(instance)} bytes is over {limit}")


BodyValidator = extend(Draft202012Validator, {"x-maxBytes": _max_bytes})


class Schema:
    """One request body's schema, checked as validators.py checks it."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.validator = BodyValidator(schema, format_checker=FORMATS)

    def check(self, data) -> dict:
        """`data` as the rules read it (see _present), or ValidationError
        with the description of its first failing keyword."""
        body = _present(data, self.schema)
        error = next(self.validator.iter_errors(body), None)
        if error is not None:
            _fail(_describe(error, body))
        return body


MESSAGE = Schema(schemas.MESSAGE)
TEMPLATE_MESSAGE = Schema(schemas.TEMPLATE_MESSAGE)
ROLE = Schema({"type": "object", "properties": {"role": schemas.MESSAGE["properties"]["role"]},
               "required": ["role"]})
ACTIVITY = Schema(schemas.ACTIVITY)
PROFILE = Schema(schemas.PROFILE)
APP_USER = Schema(schemas.APP_USER)
EVENT = Schema(schemas.EVENT)
USER_ID = Schema({"type": "object", "properties": {"userId": schemas.USER_ID}})
USER_ID_REQUIRED = Schema({**USER_ID.schema, "required": ["userId"]})
LINK = Schema(schemas.LINK)
INIT = Schema(schemas.INIT)
DEVICE_UPDATE = Schema(schemas.DEVICE_UPDATE)
PUSH_TOKEN = Schema(schemas.PUSH_TOKEN)
POSTBACK = Schema(schemas.POSTBACK)
MERGE = Schema(schemas.MERGE)
WEBHOOK = Schema(schemas.WEBHOOK)
WEBHOOK_UPDATE = Schema(schemas.WEBHOOK_UPDATE)
WEBHOOK_REDELIVER = Schema(schemas.WEBHOOK_REDELIVER)
WEBHOOK_ROTATE = Schema(schemas.WEBHOOK_ROTATE)
INTEGRATION = Schema(schemas.INTEGRATION)
INTEGRATION_UPDATE = Schema(schemas.INTEGRATION_UPDATE)
NOTIFICATION = Schema(schemas.NOTIFICATION)
APP_CREATE = Schema(schemas.APP_CREATE)
APP_UPDATE = Schema(schemas.APP_UPDATE)
KEY_CREATE = Schema(schemas.KEY_CREATE)
SERVICE_ACCOUNT = Schema(schemas.SERVICE_ACCOUNT)
CONVERSATION_UPDATE = Schema(schemas.CONVERSATION_UPDATE)
TEMPLATE_CREATE = Schema(schemas.TEMPLATE_CREATE)
TEMPLATE_UPDATE = Schema(schemas.TEMPLATE_UPDATE)
WA_TEMPLATE_CREATE = Schema(schemas.WA_TEMPLATE_CREATE)
WA_PROFILE_UPDATE = Schema(schemas.WA_PROFILE_UPDATE)
ATTACHMENT_REMOVE = Schema(schemas.ATTACHMENT_REMOVE)


MENU = Schema(schemas.MENU)


def _text(value) -> str | None:
    """An optional string: None when absent or only spaces."""
    return value if isinstance(value, str) and value.strip() else None


def gravatar_url(email: str) -> str:
    """Gravatar for an author's email; `d=mp` shows a neutral silhouette when
    the address has no Gravatar (documented in the OpenAPI description).
    The base URL is settings.PARLEY_GRAVATAR_URL (www.gravatar.com unless set)."""
    digest = hashlib.md5(email.strip().lower().encode()).hexdigest()
    return f"{settings.PARLEY_GRAVATAR_URL}{digest}?d=mp"


def guess_media_type(url: str) -> str:
    media_type, _ = mimetypes.guess_type(urlparse(url).path)
    return media_type or ""


# ------------------------------------------------------------------ messages


def validate_role(data: dict) -> str:
    return ROLE.check(data)["role"]


def validate_message(data: dict, *, role: str, app_user) -> dict:
    """A message body (Smooch's POST /messages fields) as the model's field
    values, with `_id`s added to actions and items and the author's name
    and avatar defaulted. `role` is the caller's (the SDK's bodies carry
    none)."""
    if not isinstance(data, dict):
        _fail(schemas.MESSAGE["x-errors"]["type"])
    body = _present({**data, "role": role}, schemas.MESSAGE)
    type_ = body.get("type")
    if type_ in schemas.MESSAGE_TYPES and role in schemas.ROLES:
        # Before the shapes: a field the type or role does not take is
        # refused as such, whatever its value.
        _check_fields_of_type(body, role, type_)
    MESSAGE.check(body)

    text = _text(body.get("text"))
    actions = [_clean_action(a) for a in body.get("actions", [])]
    kinds = {a["type"] for a in actions}
    if kinds & QUICK_REPLY_TYPES and kinds - QUICK_REPLY_TYPES:
        _fail("reply and locationRequest actions can only be sent alone or together, "
              "not with other action types.")
    if type_ == "list" and kinds & QUICK_REPLY_TYPES:
        _fail("list messages take link, buy or postback actions, not reply or locationRequest.")

    fields = {"type": type_}
    if type_ == "text" and text is None and not actions:
        _fail("text is required for a text message (optional only when actions are provided).")
    if type_ == "image":
        fields["media_url"] = body["mediaUrl"]
        media_type = _text(body.get("mediaType"))
        if media_type is not None and not media_type.startswith("image/"):
            _fail("mediaType of an image message must be an image/* type.")
        fields["media_type"] = media_type or guess_media_type(body["mediaUrl"])
    elif type_ in ("carousel", "list"):
        fields["items"] = [_clean_item(item, f"items[{i}].") for i, item in enumerate(body["items"])]
    elif type_ == "location":
        c = fields["coordinates"] = {"lat": body["coordinates"]["lat"], "long": body["coordinates"]["long"]}
        if text is None:
            text = location_text(c)

    fields["text"] = text or ""
    fields["actions"] = actions
    fields["metadata"] = body.get("metadata")
    fields["payload"] = _text(body.get("payload")) or ""

    name = _text(body.get("name"))
    email = body["email"].strip() if "email" in body else None
    avatar_url = body.get("avatarUrl")
    if name is None and role == "appUser" and app_user is not None:
        name = app_user.full_name or None
    if avatar_url is None and email:
        avatar_url = gravatar_url(email)
    fields["name"] = name or ""
    fields["email"] = email or ""
    fields["avatar_url"] = avatar_url or ""
    fields["override"] = body.get("override")
    destination = body.get("destination")
    fields["destination"] = None if destination is None else {
        key: destination[key] for key in ("integrationType", "integrationId") if key in destination
    }
    return fields


def is_template_message(data) -> bool:
    """Whether a POST /messages body asks to send one of the app's
    templates (schemas.TEMPLATE_MESSAGE) rather than a message of its own."""
    return isinstance(data, dict) and data.get("type") == "template"


def validate_template_message(data: dict) -> tuple[str, dict]:
    """A message sent from a template: the template's id and the sender's
    fields as given (name, email, avatarUrl, metadata, destination). The
    templates service lays them over the stored message, which then passes
    `validate_message` like any body."""
    body = TEMPLATE_MESSAGE.check(data)
    return body["templateId"], {key: body[key] for key in schemas.TEMPLATE_SENDER_FIELDS if key in body}


def location_text(coordinates: dict) -> str:
    """The text of a location message sent without one (as Smooch shows it)."""
    return f"Location shared:\nhttps://maps.google.com/maps?q={coordinates['lat']},{coordinates['long']}"


def _check_fields_of_type(body: dict, role: str, type_: str) -> None:
    """What a message of this type, sent with this role, may carry."""
    if type_ in ("carousel", "list") and role != "appMaker":
        _fail(f"{type_} messages can only be sent with the appMaker role.")
    if type_ == "location" and role != "appUser":
        _fail("location messages can only be sent with the appUser role.")
    if body.get("actions"):  # an empty array is no actions
        if role != "appMaker":
            _fail("actions can only be sent with the appMaker role.")
        if type_ == "carousel":
            _fail("carousel messages take no message-level actions: put them in items.")
        if type_ == "location":
            _fail("location messages take no actions.")
    if type_ == "image" and "mediaUrl" not in body:
        _fail("mediaUrl is required.")
    if type_ != "image" and "mediaUrl" in body:
        _fail("mediaUrl is only allowed in image messages (items have their own mediaUrl).")
    if type_ in ("carousel", "list") and "items" not in body:
        _fail(f"items is required for a {type_} message.")
    if type_ not in ("carousel", "list") and "items" in body:
        _fail("items are only allowed in carousel and list messages.")
    if type_ == "location" and "coordinates" not in body:
        _fail("coordinates is required for a location message.")
    if "destination" in body and role != "appMaker":
        _fail("destination can only be given with the appMaker role.")
    if "override" in body and role != "appMaker":
        _fail("override can only be given with the appMaker role.")


def _clean_action(raw: dict) -> dict:
    """The fields the action's type carries, with an `_id`."""
    required, optional = schemas.ACTION_TYPE_FIELDS[raw["type"]]
    action = {"_id": new_id(), "type": raw["type"]}
    for key in (*required, *optional, "metadata"):
        if key in raw:
            action[key] = raw[key]
    if "amount" in action:
        action["amount"] = int(action["amount"])  # 5.0 is an integer to JSON Schema
    if "currency" in action:
        action["currency"] = action["currency"].lower()
    return action


def _clean_item(raw: dict, where: str) -> dict:
    item = {"_id": new_id(), "title": raw["title"]}
    if _text(raw.get("description")) is not None:
        item["description"] = raw["description"]
    if "mediaUrl" in raw:
        item["mediaUrl"] = raw["mediaUrl"]
        media_type = _text(raw.get("mediaType")) or guess_media_type(raw["mediaUrl"])
        if media_type:
            item["mediaType"] = media_type
    elif _text(raw.get("mediaType")) is not None:
        _fail(f"{where}mediaType needs a mediaUrl.")
    if "size" in raw:
        item["size"] = raw["size"]
    item["actions"] = [_clean_action(a) for a in raw["actions"]]
    if "metadata" in raw:
        item["metadata"] = raw["metadata"]
    return item


def validate_activity(data: dict) -> dict:
    """POST conversation/activity: role (default appMaker, as the seed's
    calls omit it), type typing:start|typing:stop, optional name, avatarUrl."""
    body = ACTIVITY.check(data)
    return {
        "type": body["type"],
        "name": _text(body.get("name")) or "",
        "avatar_url": body.get("avatarUrl", ""),
    }


# ----------------------------------------------------------------- app users

PROFILE_FIELDS = {"givenName": "given_name", "surname": "surname", "email": "email"}


def _profile(body: dict) -> dict:
    fields = {field: (body[key] or "").strip() for key, field in PROFILE_FIELDS.items() if key in body}
    if "signedUpAt" in body:
        fields["signed_up_at"] = _parse_time(body["signedUpAt"])
    if "properties" in body:
        fields["properties"] = body["properties"] or {}
    return fields


def validate_profile(data: dict) -> dict:
    """givenName, surname, email, signedUpAt, properties (all optional) as
    model field values; only the keys present are returned (updates are
    additive, and null clears a field)."""
    return _profile(PROFILE.check(data))


def validate_app_user(data: dict) -> dict:
    """POST /appusers: userId, the profile fields and credentialRequired."""
    body = APP_USER.check(data)
    return {"user_id": body["userId"], "profile": _profile(body),
            "credential_required": body.get("credentialRequired", False)}


def validate_event(data: dict) -> dict:
    """POST /appusers/{id}/events: the event's name and the profile changes
    (`appUser`, as smooch-core sends it) applied before it."""
    body = EVENT.check(data)
    return {"name": body["name"], "profile": _profile(body.get("appUser", {}))}


def validate_user_id(data: dict, *, required: bool) -> str | None:
    return (USER_ID_REQUIRED if required else USER_ID).check(data).get("userId")


def validate_link(data: dict) -> dict:
    """POST /appusers/{id}/channels: type (twilio, as Smooch, or email, a
    Parley extension) and its entity: phoneNumber normalised to E.164, or
    the email address, lower-cased (what inbound mail is matched by)."""
    body = LINK.check(data)
    if body["type"] == "email":
        entity = body["address"].strip().lower()
    else:
        entity = _phone_number(body["phoneNumber"], "phoneNumber")
    return {"type": body["type"], "address": entity, "skip_confirmation": body.get("skipConfirmation", False)}


def _phone_number(raw: str, name: str) -> str:
    """`raw` in E.164 once spaces, dashes, dots and parentheses are removed."""
    normalised = _E164_JUNK.sub("", raw)
    if not normalised.startswith("+"):
        _fail(f"{name} must start with + and the country code (e.g. +1 212-555-2368).")
    if not _E164.fullmatch(normalised):
        _fail(f"{name} is not a valid phone number (+, country code, then 7 to 15 digits).")
    return normalised


def validate_device(data: dict) -> dict:
    """POST /v1/init's device: id and platform required; appVersion,
    pushNotificationToken, info (flat) optional. The whole init body is
    checked (userId too)."""
    device = INIT.check(data)["device"]
    return {
        "id": device["id"],
        "platform": device["platform"],
        "app_version": _text(device.get("appVersion")),
        "push_token": _text(device.get("pushNotificationToken")),
        "info": device.get("info"),
    }


def validate_auth_code(data: dict) -> str | None:
    """POST /v1/init's `authCode` (GET .../authcode's), or None."""
    return INIT.check(data).get("authCode")


def validate_device_update(data: dict) -> dict:
    """PUT /appusers/{id}/devices/{deviceId}: additive; only the given
    fields change (info keys merge), null clears."""
    body = DEVICE_UPDATE.check(data)
    fields = {}
    if "appVersion" in body:
        fields["app_version"] = _text(body["appVersion"]) or ""
    if "pushNotificationToken" in body:
        fields["push_token"] = _text(body["pushNotificationToken"]) or ""
    if "info" in body:
        fields["info"] = body["info"] or {}
    return fields


def validate_push_token(data: dict) -> tuple[str, str]:
    """POST /appusers/{id}/pushToken: (deviceId, token)."""
    body = PUSH_TOKEN.check(data)
    return body["deviceId"], body["token"]


def validate_postback(data: dict) -> str:
    """POST .../conversation/postback: the pressed action's `_id`."""
    return POSTBACK.check(data)["actionId"]


def validate_merge(data: dict) -> tuple[str, str]:
    """POST /appusers/merge: the surviving and the discarded user's refs
    (an `_id`, else a `userId`)."""
    body = MERGE.check(data)
    return tuple(body[role].get("_id") or body[role]["userId"] for role in ("surviving", "discarded"))


# ------------------------------------------------------------------ webhooks


def validate_webhook(data: dict, *, partial: bool) -> dict:
    body = (WEBHOOK_UPDATE if partial else WEBHOOK).check(data)
    fields = {}
    if "target" in body:
        target = body["target"]
        private = outbound.is_private_literal(urlparse(target).hostname or "")
        if private and not settings.PARLEY_WEBHOOK_ALLOW_PRIVATE:
            _fail(f"target must not be a loopback or private address ({private}; "
                  "set PARLEY_WEBHOOK_ALLOW_PRIVATE to allow it).")
        fields["target"] = target
    if "triggers" in body:
        fields["triggers"] = list(dict.fromkeys(body["triggers"]))
    elif not partial:
        fields["triggers"] = ["message"]
    if partial and "enabled" in body:  # an update's only (WEBHOOK_UPDATE checked it)
        fields["enabled"] = body["enabled"]
    return fields


def from_unix(seconds) -> datetime:
    """An aware UTC datetime from Unix seconds (int, float or Decimal, from
    0 to schemas.UNIX_TIME_MAX), exact to the millisecond."""
    millis = int((Decimal(str(seconds)) * 1000).to_integral_value())
    return EPOCH + timedelta(milliseconds=millis)


def validate_redelivery(data: dict) -> datetime:
    """POST /webhooks/{webhookId}/redeliver: `since`, as a datetime."""
    return from_unix(WEBHOOK_REDELIVER.check(data)["since"])


def validate_rotation(data: dict) -> str:
    """POST /webhooks/{webhookId}/rotate: which secret, "signing" or "apiKey"."""
    return WEBHOOK_ROTATE.check(data)["secret"]


# ----------------------------------------------------------------- the inbox


def validate_conversation_update(data: dict) -> dict:
    """PATCH .../conversation (Parley extension): any of `status`,
    `snoozed_until` (a datetime, in the future, exactly when the status is
    snoozed) and `assignee_email` (None to unassign), only the keys given.
    Whether the email is a member of the app's team is the inbox service's
    question (messaging.services.inbox), asked before it writes."""
    body = CONVERSATION_UPDATE.check(data)
    changes = {}
    status = body.get("status")
    if "snoozedUntil" in body and status != "snoozed":
        _fail("snoozedUntil can only be given with status snoozed.")
    if status == "snoozed":
        if "snoozedUntil" not in body:
            _fail("snoozedUntil is required when status is snoozed.")
        until = from_unix(body["snoozedUntil"])
        if until <= datetime.now(UTC):
            _fail("snoozedUntil must be in the future.")
        changes["snoozed_until"] = until
    if status is not None:
        changes["status"] = status
    if "assigneeEmail" in body:
        email = body["assigneeEmail"]
        changes["assignee_email"] = email.strip() if email is not None else None
    return changes


# -------------------------------------------------------------- integrations


def validate_integration(data: dict, *, type_: str | None = None) -> dict:
    """The integrations API's body: for a new integration (`type_` None) or
    an update of one of type `type_`, whose own properties it is checked
    against (an update may leave `type` out). Returns the body as the
    service takes it (messaging.services.integrations, which checks the
    same declared fields again for the dashboard's forms)."""
    if type_ is None:
        return INTEGRATION.check(data)
    body = _present(data, INTEGRATION_UPDATE.schema)
    if body.get("type", type_) != type_:
        _fail("type cannot be changed: delete the integration and create another.")
    if type_ not in schemas.CONNECTABLE:
        _fail(f"{type_} integrations cannot be changed through the API.")
    return INTEGRATION_UPDATE.check({**body, "type": type_})


# ------------------------------------------------------------- notifications


def validate_notification(data: dict) -> dict:
    """POST /notifications: the integration, the phone number (E.164) and
    the message's field values, from the business (as `validate_message`
    returns them, with the destination set to the integration). The
    author's name, email and avatarUrl apply where the message has none."""
    body = NOTIFICATION.check(data)
    destination = body["destination"]
    phone_number = _phone_number(destination["destinationId"], "destination.destinationId")
    author = body.get("author", {})
    message = {**{key: author[key] for key in ("name", "email", "avatarUrl") if key in author},
               **body["message"]}
    message.pop("role", None)
    fields = validate_message(message, role="appMaker", app_user=None)
    fields["destination"] = {"integrationId": destination["integrationId"]}
    return {"integration_id": destination["integrationId"], "phone_number": phone_number, "fields": fields}


# ------------------------------------------------------- apps and keys (account scope)

DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _origin(origin: str) -> str:
    """An origin as browsers send it: the default port dropped (the schema
    took only lower-case scheme://host[:port], a port up to 65535)."""
    scheme, _, rest = origin.partition("://")
    port = DEFAULT_PORTS[scheme]
    return origin[: -len(port)] if origin.endswith(port) else origin


def validate_app(data: dict, *, partial: bool) -> dict:
    """POST /apps (`partial` False: name required) and PUT /apps/{appId}:
    the fields given, as messaging.services.apps.configure_app takes them
    (name stripped, origins normalised and deduplicated)."""
    body = (APP_UPDATE if partial else APP_CREATE).check(data)
    fields = {}
    if "name" in body:
        fields["name"] = body["name"].strip()
    if "settings" in body:
        settings_ = dict(body["settings"])
        if "allowedOrigins" in settings_:
            settings_["allowedOrigins"] = list(dict.fromkeys(_origin(o) for o in settings_["allowedOrigins"]))
        fields["settings"] = settings_
    if "metadata" in body:
        fields["metadata"] = body["metadata"]
    return fields


def validate_key(data: dict) -> str:
    """POST /apps/{appId}/keys: the key's name, stripped."""
    return KEY_CREATE.check(data)["name"].strip()


def validate_service_account(data: dict) -> str:
    """POST / PUT /serviceaccounts...: the account's name, stripped."""
    return SERVICE_ACCOUNT.check(data)["name"].strip()


def validate_template(data, *, partial: bool) -> dict:
    """POST / PUT .../templates: `name` and `message` (the message itself is
    checked by messaging.services.templates, as POST /messages checks it)."""
    return (TEMPLATE_UPDATE if partial else TEMPLATE_CREATE).check(data)



# ------------------------------------------------ WhatsApp business, attachments

def validate_whatsapp_template(data) -> dict:
    """POST .../integrations/{id}/messageTemplates: Meta's template, with
    the one rule across components JSON Schema does not say here: a BODY."""
    body = WA_TEMPLATE_CREATE.check(data)
    if not any(component["type"] == "BODY" for component in body["components"]):
        _fail("components must hold a BODY component.")
    return body


def validate_whatsapp_profile(data) -> dict:
    """PUT .../integrations/{id}/profile: the fields to change."""
    return WA_PROFILE_UPDATE.check(data)


def validate_attachment_removal(data) -> str:
    """POST /attachments/remove: the mediaUrl the upload answered."""
    return ATTACHMENT_REMOVE.check(data)["mediaUrl"]


# What each menu item type keeps besides `type`, `text` and `_id`.
MENU_ITEM_FIELDS = {"link": "uri", "postback": "payload"}


def validate_menu(data) -> dict:
    """PUT /menu, POST and PUT /integrations/{id}/menu: `{"name", "items"}`
    with 1 to 5 items, each item reduced to what its type carries and given
    an `_id` (a well-formed one sent back from an earlier answer is kept,
    so a client that GETs, edits and PUTs keeps its ids)."""
    body = MENU.check(data)
    items, seen = [], set()
    for item in body["items"]:
        field = MENU_ITEM_FIELDS[item["type"]]
        given = item.get("_id", "")
        item_id = given if is_id(given) and given not in seen else new_id()
        seen.add(item_id)
        items.append({"_id": item_id, "type": item["type"], "text": item["text"].strip(), field: item[field]})
    return {"name": (body.get("name") or "").strip(), "items": items}
