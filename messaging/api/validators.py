"""Request bodies checked before any write, with the rules of the Smooch v1
reference. Each validator returns clean values or raises `ValidationError`
(a 400 `bad_request` with a precise description); nothing is stored until
a body has passed.

`validate_message(data, role=, app_user=)` is also what the SDK websocket
consumer calls for widget messages: keep its signature stable.
"""

import hashlib
import ipaddress
import mimetypes
import re
from datetime import datetime
from urllib.parse import urlparse

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.dateparse import parse_datetime

from messaging.ids import new_id
from messaging.services.errors import ServiceError

ROLES = ("appUser", "appMaker")
MESSAGE_TYPES = ("text", "image", "carousel", "list", "location")
MESSAGE_ACTION_TYPES = ("link", "buy", "postback", "reply", "locationRequest")
ITEM_ACTION_TYPES = ("link", "postback", "share")
QUICK_REPLY_TYPES = frozenset({"reply", "locationRequest"})
MAX_ITEMS = 10
MAX_ITEM_ACTIONS = 3
ITEM_SIZES = ("compact", "large")
SDK_PLATFORMS = ("ios", "android", "web", "other")

# Smooch's webhook triggers (reference: "Webhook triggers").
WEBHOOK_TRIGGERS = (
    "message",
    "message:appUser",
    "message:appMaker",
    "postback",
    "conversation:start",
    "conversation:read",
    "merge:appUser",
    "delivery:success",
    "delivery:failure",
    "payment:success",
    "*",
)

_http_url = URLValidator(schemes=["http", "https"])
_email = EmailValidator()
_E164_JUNK = re.compile(r"[\s\-().]")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


class ValidationError(ServiceError):
    status = 400
    code = "bad_request"


def _fail(description: str):
    raise ValidationError(description)


# ---------------------------------------------------------------- primitives


def _string(data: dict, key: str, where: str = "", *, required=False, allow_empty=False,
            max_length: int | None = None) -> str | None:
    name = f"{where}{key}"
    if key not in data or data[key] is None:
        if required:
            _fail(f"{name} is required.")
        return None
    value = data[key]
    if not isinstance(value, str):
        _fail(f"{name} must be a string.")
    if not value.strip() and not allow_empty:
        if required:
            _fail(f"{name} must not be empty.")
        return None
    if max_length and len(value) > max_length:
        _fail(f"{name} must be at most {max_length} characters.")
    return value


def _url(data: dict, key: str, where: str = "", *, required=False) -> str | None:
    value = _string(data, key, where, required=required, max_length=2000)
    if value is None:
        return None
    try:
        _http_url(value)
    except DjangoValidationError:
        _fail(f"{where}{key} must be an http or https URL.")
    return value


def _flat_object(data: dict, key: str, where: str = "") -> dict | None:
    """A flat JSON object: string keys, scalar values (the reference's
    "flat JSON object")."""
    if key not in data or data[key] is None:
        return None
    value = data[key]
    if not isinstance(value, dict):
        _fail(f"{where}{key} must be a flat JSON object.")
    for k, v in value.items():
        if isinstance(v, (dict, list)):
            _fail(f"{where}{key} must be a flat JSON object: {where}{key}.{k} is nested.")
    return value


def _bool(data: dict, key: str, where: str = "") -> bool | None:
    if key not in data or data[key] is None:
        return None
    if not isinstance(data[key], bool):
        _fail(f"{where}{key} must be true or false.")
    return data[key]


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
    role = data.get("role")
    if role is None:
        _fail("role is required.")
    if role not in ROLES:
        _fail("role must be appUser or appMaker.")
    return role


def validate_message(data: dict, *, role: str, app_user) -> dict:
    """A message body (Smooch's POST /messages fields) as the model's field
    values, with `_id`s added to actions and items, the author's name and
    avatar defaulted, and `destination` checked against the user's clients."""
    if not isinstance(data, dict):
        _fail("The message must be a JSON object.")
    if role not in ROLES:
        _fail("role must be appUser or appMaker.")
    type_ = data.get("type")
    if type_ is None:
        _fail("type is required.")
    if type_ not in MESSAGE_TYPES:
        _fail("type must be one of text, image, carousel, list, location.")
    if type_ in ("carousel", "list") and role != "appMaker":
        _fail(f"{type_} messages can only be sent with the appMaker role.")
    if type_ == "location" and role != "appUser":
        _fail("location messages can only be sent with the appUser role.")

    fields = {"type": type_}
    text = _string(data, "text", max_length=10_000)
    actions = _message_actions(data, role=role, type_=type_, app_user=app_user)

    if type_ == "text":
        if text is None and not actions:
            _fail("text is required for a text message (optional only when actions are provided).")
    elif type_ == "image":
        fields["media_url"] = _url(data, "mediaUrl", required=True)
    elif type_ in ("carousel", "list"):
        fields["items"] = _items(data, type_)
    elif type_ == "location":
        fields["coordinates"] = _coordinates(data)
        if text is None:
            c = fields["coordinates"]
            text = f"Location shared:\nhttps://maps.google.com/maps?q={c['lat']},{c['long']}"

    if type_ != "image" and data.get("mediaUrl") is not None:
        _fail("mediaUrl is only allowed in image messages (items have their own mediaUrl).")
    if type_ not in ("carousel", "list") and data.get("items") is not None:
        _fail("items are only allowed in carousel and list messages.")
    if type_ == "image":
        media_type = _string(data, "mediaType", max_length=100)
        if media_type is not None and not media_type.startswith("image/"):
            _fail("mediaType of an image message must be an image/* type.")
        fields["media_type"] = media_type or guess_media_type(fields["media_url"])

    fields["text"] = text or ""
    fields["actions"] = actions
    fields["metadata"] = _flat_object(data, "metadata")
    fields["payload"] = _string(data, "payload", max_length=1000) or ""

    name = _string(data, "name", max_length=255)
    email = _string(data, "email", max_length=255)
    if email is not None:
        try:
            _email(email.strip())
        except DjangoValidationError:
            _fail("email must be an email address.")
        email = email.strip()
    avatar_url = _url(data, "avatarUrl")
    if name is None and role == "appUser" and app_user is not None:
        name = f"{app_user.given_name} {app_user.surname}".strip() or None
    if avatar_url is None and email:
        avatar_url = gravatar_url(email)
    fields["name"] = name or ""
    fields["email"] = email or ""
    fields["avatar_url"] = avatar_url or ""
    fields["destination"] = _destination(data, role=role, app_user=app_user)
    return fields


def _message_actions(data: dict, *, role: str, type_: str, app_user) -> list:
    raw = data.get("actions")
    if raw is None:
        return []
    if not isinstance(raw, list):
        _fail("actions must be an array.")
    if not raw:
        return []
    if role != "appMaker":
        _fail("actions can only be sent with the appMaker role.")
    if type_ == "carousel":
        _fail("carousel messages take no message-level actions: put them in items.")
    if type_ == "location":
        _fail("location messages take no actions.")
    actions = [
        _action(a, f"actions[{i}].", MESSAGE_ACTION_TYPES, app_user=app_user)
        for i, a in enumerate(raw)
    ]
    kinds = {a["type"] for a in actions}
    if kinds & QUICK_REPLY_TYPES and kinds - QUICK_REPLY_TYPES:
        _fail("reply and locationRequest actions can only be sent alone or together, "
              "not with other action types.")
    if type_ == "list" and kinds & QUICK_REPLY_TYPES:
        _fail("list messages take link, buy or postback actions, not reply or locationRequest.")
    return actions


def _action(raw, where: str, allowed: tuple, *, app_user) -> dict:
    if not isinstance(raw, dict):
        _fail(f"{where[:-1]} must be an object.")
    type_ = raw.get("type")
    if type_ is None:
        _fail(f"{where}type is required.")
    if type_ not in allowed:
        _fail(f"{where}type must be one of {', '.join(allowed)}.")
    action = {"_id": new_id(), "type": type_}
    if type_ != "share":
        action["text"] = _string(raw, "text", where, required=True, max_length=1000)
    if type_ == "link":
        uri = _string(raw, "uri", where, required=True, max_length=2000)
        parsed = urlparse(uri)
        if not parsed.scheme or not (parsed.netloc or parsed.path):
            _fail(f"{where}uri must be an absolute URI (e.g. https://example.org).")
        action["uri"] = uri
        default = _bool(raw, "default", where)
        if default is not None:
            action["default"] = default
    elif type_ == "buy":
        amount = raw.get("amount")
        if amount is None:
            _fail(f"{where}amount is required.")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            _fail(f"{where}amount must be a positive integer, in cents.")
        action["amount"] = amount
        currency = _string(raw, "currency", where)
        if currency is not None:
            if not re.fullmatch(r"[A-Za-z]{3}", currency):
                _fail(f"{where}currency must be a 3-letter currency code (USD, CAD...).")
            action["currency"] = currency.lower()
        if app_user is not None and not _has_stripe(app_user):
            _fail(f"{where}: buy actions need an active stripe integration on this app.")
    elif type_ in ("postback", "reply"):
        action["payload"] = _string(raw, "payload", where, required=True, max_length=1000)
        if type_ == "reply":
            icon = _url(raw, "iconUrl", where)
            if icon is not None:
                action["iconUrl"] = icon
    metadata = _flat_object(raw, "metadata", where)
    if metadata is not None:
        action["metadata"] = metadata
    return action


def _has_stripe(app_user) -> bool:
    from messaging.models import Integration, IntegrationStatus

    return Integration.objects.filter(
        app_id=app_user.app_id, type="stripe", status=IntegrationStatus.ACTIVE
    ).exists()


def _items(data: dict, type_: str) -> list:
    raw = data.get("items")
    if raw is None:
        _fail(f"items is required for a {type_} message.")
    if not isinstance(raw, list):
        _fail("items must be an array.")
    if not raw:
        _fail(f"a {type_} message needs at least 1 item.")
    if len(raw) > MAX_ITEMS:
        _fail(f"a {type_} message is limited to {MAX_ITEMS} items ({len(raw)} given).")
    items = []
    for i, item in enumerate(raw):
        where = f"items[{i}]."
        if not isinstance(item, dict):
            _fail(f"items[{i}] must be an object.")
        clean = {"_id": new_id(), "title": _string(item, "title", where, required=True, max_length=1000)}
        description = _string(item, "description", where, max_length=2000)
        if description is not None:
            clean["description"] = description
        media_url = _url(item, "mediaUrl", where)
        if media_url is not None:
            clean["mediaUrl"] = media_url
            media_type = _string(item, "mediaType", where, max_length=100)
            clean["mediaType"] = media_type or guess_media_type(media_url)
            if not clean["mediaType"]:
                del clean["mediaType"]
        elif item.get("mediaType") is not None:
            _fail(f"{where}mediaType needs a mediaUrl.")
        size = item.get("size")
        if size is not None:
            if size not in ITEM_SIZES:
                _fail(f"{where}size must be compact or large.")
            clean["size"] = size
        actions = item.get("actions")
        if actions is None:
            _fail(f"{where}actions is required (1 to {MAX_ITEM_ACTIONS} actions).")
        if not isinstance(actions, list):
            _fail(f"{where}actions must be an array.")
        if not 1 <= len(actions) <= MAX_ITEM_ACTIONS:
            _fail(f"{where}actions must hold 1 to {MAX_ITEM_ACTIONS} actions ({len(actions)} given).")
        clean["actions"] = [
            _action(a, f"{where}actions[{j}].", ITEM_ACTION_TYPES, app_user=None)
            for j, a in enumerate(actions)
        ]
        metadata = _flat_object(item, "metadata", where)
        if metadata is not None:
            clean["metadata"] = metadata
        items.append(clean)
    return items


def _coordinates(data: dict) -> dict:
    raw = data.get("coordinates")
    if raw is None:
        _fail("coordinates is required for a location message.")
    if not isinstance(raw, dict):
        _fail("coordinates must be an object with lat and long.")
    clean = {}
    for key, limit in (("lat", 90), ("long", 180)):
        value = raw.get(key)
        if value is None:
            _fail(f"coordinates.{key} is required.")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(f"coordinates.{key} must be a number.")
        if not -limit <= value <= limit:
            _fail(f"coordinates.{key} must be between -{limit} and {limit}.")
        clean[key] = value
    return clean


def _destination(data: dict, *, role: str, app_user) -> dict | None:
    raw = data.get("destination")
    if raw is None:
        return None
    if role != "appMaker":
        _fail("destination can only be given with the appMaker role.")
    if not isinstance(raw, dict):
        _fail("destination must be an object with integrationType or integrationId.")
    integration_type = _string(raw, "integrationType", "destination.", max_length=20)
    integration_id = _string(raw, "integrationId", "destination.", max_length=24)
    if bool(integration_type) == bool(integration_id):
        _fail("destination needs exactly one of integrationType or integrationId.")
    from messaging.models import Client

    clients = Client.objects.filter(app_user=app_user, active=True, pending=False)
    if integration_type:
        if not clients.filter(platform=integration_type).exists():
            _fail(f"destination: this user has no active {integration_type} client.")
        return {"integrationType": integration_type}
    if not clients.filter(integration_id=integration_id, integration__app_id=app_user.app_id).exists():
        _fail(f"destination: this user has no active client on integration {integration_id}.")
    return {"integrationId": integration_id}


def validate_activity(data: dict) -> dict:
    """POST conversation/activity: role (default appMaker, as the seed's
    calls omit it), type typing:start|typing:stop, optional name, avatarUrl."""
    role = data.get("role", "appMaker")
    if role != "appMaker":
        _fail("role must be appMaker.")
    type_ = data.get("type")
    if type_ is None:
        _fail("type is required.")
    if type_ not in ("typing:start", "typing:stop"):
        _fail("type must be typing:start or typing:stop.")
    return {
        "type": type_,
        "name": _string(data, "name", max_length=255) or "",
        "avatar_url": _url(data, "avatarUrl") or "",
    }


# ----------------------------------------------------------------- app users

PROFILE_FIELDS = {"givenName": "given_name", "surname": "surname", "email": "email"}


def validate_profile(data: dict) -> dict:
    """givenName, surname, email, signedUpAt, properties (all optional) as
    model field values; only the keys present are returned (updates are
    additive)."""
    fields = {}
    for key, field in PROFILE_FIELDS.items():
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                _fail(f"{key} must be a string.")
            if value is not None and len(value) > 255:
                _fail(f"{key} must be at most 255 characters.")
            fields[field] = (value or "").strip()
    if "signedUpAt" in data:
        fields["signed_up_at"] = _iso_datetime(data["signedUpAt"], "signedUpAt")
    if "properties" in data:
        properties = _flat_object(data, "properties")
        fields["properties"] = properties or {}
    return fields


def _iso_datetime(value, name: str) -> datetime:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but out of range (month 13, offset +99:00)
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        _fail(f"{name} must be an ISO 8601 time (YYYY-MM-DDThh:mm:ss.sssZ).")
    return parsed


def validate_user_id(data: dict, *, required: bool) -> str | None:
    value = data.get("userId")
    if value is None:
        if required:
            _fail("userId is required.")
        return None
    if not isinstance(value, str) or not value.strip():
        _fail("userId must be a non-empty string.")
    if len(value) > 255:
        _fail("userId must be at most 255 characters.")
    if "/" in value:
        _fail("userId must not contain '/'.")
    return value


def validate_link(data: dict) -> dict:
    """POST /appusers/{id}/channels: type (twilio only, as Smooch) and its
    entity, phoneNumber, normalised to E.164."""
    type_ = data.get("type")
    if type_ is None:
        _fail("type is required.")
    if type_ != "twilio":
        _fail("type must be twilio: it is the only channel that can be linked through the API.")
    phone = data.get("phoneNumber")
    if phone is None:
        _fail("phoneNumber is required to link twilio.")
    if not isinstance(phone, str):
        _fail("phoneNumber must be a string.")
    normalised = _E164_JUNK.sub("", phone)
    if not normalised.startswith("+"):
        _fail("phoneNumber must start with + and the country code (e.g. +1 212-555-2368).")
    if not _E164.fullmatch(normalised):
        _fail("phoneNumber is not a valid phone number (+, country code, then 7 to 15 digits).")
    skip = _bool(data, "skipConfirmation") or False
    return {"type": type_, "phone_number": normalised, "skip_confirmation": skip}


def validate_device(data: dict) -> dict:
    """POST /v1/init's device: id and platform required; appVersion,
    pushNotificationToken, info (flat) optional."""
    device = data.get("device")
    if device is None:
        _fail("device is required.")
    if not isinstance(device, dict):
        _fail("device must be an object.")
    device_id = _string(device, "id", "device.", required=True, max_length=255)
    platform = device.get("platform")
    if platform is None:
        _fail("device.platform is required.")
    if platform not in SDK_PLATFORMS:
        _fail("device.platform must be ios, android, web or other.")
    return {
        "id": device_id,
        "platform": platform,
        "app_version": _string(device, "appVersion", "device.", max_length=50),
        "push_token": _string(device, "pushNotificationToken", "device.", max_length=512),
        "info": _flat_object(device, "info", "device."),
    }


def validate_device_update(data: dict) -> dict:
    """PUT /appusers/{id}/devices/{deviceId}: additive; only the given
    fields change (info keys merge)."""
    fields = {}
    if "appVersion" in data:
        fields["app_version"] = _string(data, "appVersion", max_length=50) or ""
    if "pushNotificationToken" in data:
        fields["push_token"] = _string(data, "pushNotificationToken", max_length=512) or ""
    if "info" in data:
        fields["info"] = _flat_object(data, "info") or {}
    return fields


# ------------------------------------------------------------------ webhooks


def _is_private_host(host: str) -> bool:
    """Literal loopback/private/link-local addresses and localhost. Names
    that resolve to such addresses are refused by the sender at send time
    (DNS can change after configuration)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


def validate_webhook(data: dict, *, partial: bool) -> dict:
    fields = {}
    if "target" in data or not partial:
        target = data.get("target")
        if target is None:
            _fail("target is required.")
        if not isinstance(target, str):
            _fail("target must be a string.")
        try:
            _http_url(target)
        except DjangoValidationError:
            _fail("target must be an http or https URL.")
        if len(target) > 2000:
            _fail("target must be at most 2000 characters.")
        if not settings.PARLEY_WEBHOOK_ALLOW_PRIVATE and _is_private_host(urlparse(target).hostname or ""):
            _fail("target must not be a loopback or private address "
                  "(set PARLEY_WEBHOOK_ALLOW_PRIVATE to allow it).")
        fields["target"] = target
    if "triggers" in data:
        triggers = data["triggers"]
        if not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers):
            _fail("triggers must be an array of strings.")
        if not triggers:
            _fail("triggers must name at least one trigger.")
        unknown = [t for t in triggers if t not in WEBHOOK_TRIGGERS]
        if unknown:
            _fail(f"unknown trigger {unknown[0]!r}: triggers are case sensitive, one of "
                  + ", ".join(WEBHOOK_TRIGGERS) + ".")
        fields["triggers"] = list(dict.fromkeys(triggers))
    elif not partial:
        fields["triggers"] = ["message"]
    return fields

