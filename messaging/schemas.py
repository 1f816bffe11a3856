"""The REST API's request bodies as JSON Schemas (draft 2020-12, the
dialect of OpenAPI 3.1): the one definition both the validation
(messaging/validators.py) and the OpenAPI document
(messaging/api/openapi.py) are made from, so the two cannot drift.

Every limit (length, item count, size, enum) is written here and nowhere
else; the ones an operator may change come from settings (README "Input
limits"), read when this module is imported. `x-maxBytes` (an extension
keyword, checked by validators.py) bounds a value's size as compact UTF-8
JSON: JSON Schema cannot say "at most 4 KB serialised".
Rules across fields (what each message type takes, what each role may
send, defaults) live in validators.py.

`x-errors` (an OpenAPI extension) holds the error description of a node for
a JSON Schema keyword, overriding validators.py's defaults. A template may
use {name} (the field's path, e.g. `items[0].title`), {parent} (the path of
the object holding it), {value}, {given} (how many an array holds), {enum}
("a, b, c"), {either} ("a, b or c"), the node's own keywords ({maxLength},
{maxItems}...) and {root[...]} (a field of the whole body). The schema of
the first failing keyword, in the order written here, names the error:
fields are checked in the order they are listed, and `required` before or
after them as it is placed.

A key whose value is null counts as absent unless its schema takes null,
and so does an empty string where a URL or an email is expected: clients
send both for "not given".
"""

from django.conf import settings

from messaging.events import SUBSCRIBABLE_TRIGGERS
from messaging.integrations.registry import REGISTRY
from messaging.models.templates import TEMPLATE_NAME_MAX_LENGTH

ROLES = ["appUser", "appMaker"]
MESSAGE_TYPES = ["text", "image", "carousel", "list", "location"]
ITEM_SIZES = ["compact", "large"]
SDK_PLATFORMS = ["ios", "android", "web", "other"]
ACTIVITY_TYPES = ["typing:start", "typing:stop"]

# What each action type carries: (required, optional) fields besides
# `type` and `metadata`. The validator keeps these and drops the rest.
ACTION_TYPE_FIELDS = {
    "link": (("text", "uri"), ("default",)),
    "buy": (("text", "amount"), ("currency",)),
    "postback": (("text", "payload"), ()),
    "reply": (("text", "payload"), ("iconUrl",)),
    "locationRequest": (("text",), ()),
    "share": ((), ()),
}
MESSAGE_ACTION_TYPES = ["link", "buy", "postback", "reply", "locationRequest"]
ITEM_ACTION_TYPES = ["link", "postback", "share"]
ACTION_TYPES = list(ACTION_TYPE_FIELDS)


def string(max_length: int, **extra) -> dict:
    return {"type": "string", "maxLength": max_length, **extra}


def required_string(max_length: int) -> dict:
    """A string that must hold more than spaces."""
    return {"type": "string", "pattern": r"\S", "maxLength": max_length}


def nullable(schema: dict) -> dict:
    """A field an update clears with null."""
    return {**schema, "type": [schema["type"], "null"]}


BOOL = {"type": "boolean"}
# What a URI holds (RFC 3986: unreserved, reserved and % escapes; no
# spaces, controls, <>"{}|\^` or anything beyond ASCII), and the same but
# for the characters that end a host.
URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
URL_HOST = r"[A-Za-z0-9\-._~:\[\]@!$&'()*+,;=%]"
# Printable ASCII: ids, tokens and secrets.
TOKEN_CHAR = "[!-~]"
HTTP_URL = {
    "type": "string",
    "maxLength": 2000,
    "format": "uri",
    # A URI is printable ASCII (RFC 3986): other characters, spaces and
    # controls are sent percent-encoded (what a browser does with them).
    "pattern": rf"^[Hh][Tt][Tt][Pp][Ss]?://{URL_HOST}+{URL_CHAR}*$",
    "x-errors": {"pattern": "{name} must be an http or https URL.", "format": "{name} must be an http or https URL."},
}
EMAIL = {
    "type": "string",
    "maxLength": 255,
    "format": "email",
    "x-errors": {"format": "{name} must be an email address."},
}


# A flat JSON object (the reference's "flat JSON object"): the shape, as
# responses show it; request bodies bound its size too (`flat`).
FLAT = {
    "type": "object",
    "additionalProperties": {
        "type": ["string", "number", "boolean", "null"],
        "x-errors": {"type": "{parent} must be a flat JSON object: {name} is nested."},
    },
    "description": "A flat JSON object (no nested objects or arrays).",
    "x-errors": {"type": "{name} must be a flat JSON object."},
}


def flat(max_bytes: int) -> dict:
    """FLAT of at most `max_bytes` as compact JSON."""
    return {
        **FLAT,
        "x-maxBytes": max_bytes,
        "description": f"A flat JSON object (no nested objects or arrays), at most {max_bytes} bytes "
        "as JSON.",
        "x-errors": {**FLAT["x-errors"],
                     "x-maxBytes": "{name} must be at most {x-maxBytes} bytes as JSON ({size} given)."},
    }


METADATA = flat(settings.PARLEY_MAX_METADATA_BYTES)
PROPERTIES = flat(settings.PARLEY_MAX_PROPERTIES_BYTES)
OBJECT_ERRORS = {"type": "{name} must be an object."}

# ------------------------------------------------------------------ messages

ACTION_FIELDS = {
    "text": required_string(1000),
    "uri": {
        "type": "string",
        "maxLength": 2000,
        "format": "uri",
        # A link action opens its URI: http(s), or a phone call or an email
        # (tel:, mailto:); never javascript:, data: or an app's own scheme.
        "pattern": rf"^(?:[Hh][Tt][Tt][Pp][Ss]?://{URL_HOST}+{URL_CHAR}*|(?:[Tt][Ee][Ll]|[Mm][Aa][Ii][Ll][Tt][Oo]):{URL_CHAR}+)$",
        "description": "An http, https, tel: or mailto: URI.",
        "x-errors": {"pattern": "{name} must be an http, https, tel: or mailto: URI (e.g. https://example.org).",
                     "format": "{name} must be an http, https, tel: or mailto: URI (e.g. https://example.org)."},
    },
    "default": BOOL,
    "amount": {
        "type": "integer",
        "exclusiveMinimum": 0,
        "description": "In cents. Needs an active stripe integration on the app.",
        "x-errors": {
            "type": "{name} must be a positive integer, in cents.",
            "exclusiveMinimum": "{name} must be a positive integer, in cents.",
        },
    },
    "currency": {
        "type": "string",
        "pattern": "^[A-Za-z]{3}$",
        "x-errors": {"pattern": "{name} must be a 3-letter currency code (USD, CAD...)."},
    },
    "payload": required_string(1000),
    "iconUrl": HTTP_URL,
    "metadata": METADATA,
}


def _action(types: list) -> dict:
    return {
        "type": "object",
        "description": "An action button; the fields it needs depend on its type.",
        "x-errors": OBJECT_ERRORS,
        "properties": {"type": {"enum": types}, **ACTION_FIELDS},
        "required": ["type"],
        "allOf": [
            {"if": {"properties": {"type": {"const": t}}, "required": ["type"]},
             "then": {"required": list(needs)}}
            for t, (needs, _) in ACTION_TYPE_FIELDS.items()
            if needs and t in types
        ],
    }


MESSAGE_ACTION = _action(MESSAGE_ACTION_TYPES)
ITEM_ACTION = _action(ITEM_ACTION_TYPES)

ITEM = {
    "type": "object",
    "x-errors": OBJECT_ERRORS,
    "properties": {
        "title": required_string(1000),
        "description": string(2000),
        "mediaUrl": HTTP_URL,
        "mediaType": string(100, description="Needs mediaUrl; guessed from it when left out."),
        "size": {"enum": ITEM_SIZES},
        "actions": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": ITEM_ACTION,
            "x-errors": {
                "required": "{name} is required ({minItems} to {maxItems} actions).",
                "minItems": "{name} must hold {minItems} to {maxItems} actions ({given} given).",
                "maxItems": "{name} must hold {minItems} to {maxItems} actions ({given} given).",
            },
        },
        "metadata": METADATA,
    },
    "required": ["title", "actions"],
}

COORDINATES = {
    "type": "object",
    "x-errors": {"type": "{name} must be an object with lat and long."},
    "properties": {
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
    },
    "required": ["lat", "long"],
}

DESTINATION = {
    "type": "object",
    "description": "appMaker only: send to this one channel of the user (400 if the user has no "
    "active client there).",
    "x-errors": {
        "type": "{name} must be an object with integrationType or integrationId.",
        "oneOf": "{name} needs exactly one of integrationType or integrationId.",
    },
    "properties": {"integrationType": required_string(20), "integrationId": required_string(24)},
    "oneOf": [{"required": ["integrationType"]}, {"required": ["integrationId"]}],
}

# override (Sunshine Conversations' field, a Parley extension to v1): per
# channel type, a message in that platform's own format sent instead of the
# one Parley renders. WhatsApp's is how a business writes to a user outside
# the 24-hour window: a Cloud API message of type `template`.
OVERRIDE_MAX_BYTES = 16_384
WHATSAPP_TEMPLATE_ERROR = ("{name} must be a WhatsApp Cloud API message of type template: type \"template\" "
                           "and a template with a name, a language with its code, and components if it has any.")
WHATSAPP_TEMPLATE = {
    "type": "object",
    "description": "A WhatsApp Cloud API message object of type template (an approved message template).",
    "x-errors": {"type": WHATSAPP_TEMPLATE_ERROR, "required": WHATSAPP_TEMPLATE_ERROR,
                 "additionalProperties": WHATSAPP_TEMPLATE_ERROR},
    "properties": {
        "type": {"const": "template", "x-errors": {
            "const": "{name} must be template: outside the 24-hour window WhatsApp takes only templates."}},
        "template": {
            "type": "object",
            "x-errors": {"type": WHATSAPP_TEMPLATE_ERROR, "required": WHATSAPP_TEMPLATE_ERROR,
                         "additionalProperties": WHATSAPP_TEMPLATE_ERROR},
            "properties": {
                "name": required_string(512),
                "namespace": string(512),
                "language": {
                    "type": "object",
                    "x-errors": {"type": "{name} must be an object with a code (en_US...).",
                                 "required": "{name} must be an object with a code (en_US...).",
                                 "additionalProperties": "{name} takes code and policy."},
                    "properties": {"code": required_string(20), "policy": {"enum": ["deterministic"]}},
                    "required": ["code"],
                    "additionalProperties": False,
                },
                "components": {
                    "type": "array",
                    "maxItems": 20,
                    "items": {"type": "object", "x-errors": OBJECT_ERRORS},
                },
            },
            "required": ["name", "language"],
            "additionalProperties": False,
        },
    },
    "required": ["type", "template"],
    "additionalProperties": False,
}
OVERRIDE = {
    "type": "object",
    "description": "appMaker only: per channel type, a message in that platform's own format, sent there "
    "instead of the rendered one. whatsapp: an object whose payload is a Cloud API template message, which is how a "
    "message reaches a WhatsApp user outside the 24-hour window (a free-form one is not sent there).",
    "x-maxBytes": OVERRIDE_MAX_BYTES,
    "x-errors": {"type": "{name} must be an object keyed by channel type (whatsapp).",
                 "additionalProperties": "{name} takes whatsapp only.",
                 "x-maxBytes": "{name} must be at most {x-maxBytes} bytes as JSON ({size} given)."},
    "properties": {
        "whatsapp": {
            "type": "object",
            "x-errors": {"type": "{name} must be an object with a payload.",
                         "required": "{name} must be an object with a payload.",
                         "additionalProperties": "{name} takes payload only."},
            "properties": {"payload": WHATSAPP_TEMPLATE},
            "required": ["payload"],
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

MESSAGE = {
    "type": "object",
    "description": "Which fields a message takes depends on its type and role (see the reference): "
    "text needs text unless it has actions; image needs mediaUrl; carousel and list (appMaker "
    "only) need items; location (appUser only) needs coordinates. Actions are appMaker only.",
    "x-errors": {"type": "The message must be a JSON object."},
    "required": ["role", "type"],
    "properties": {
        "role": {"enum": ROLES},
        "type": {"enum": MESSAGE_TYPES},
        "text": string(settings.PARLEY_MAX_TEXT_LENGTH),
        "mediaUrl": HTTP_URL,
        "mediaType": string(100, description="An image/* type; guessed from mediaUrl when left out."),
        "actions": {
            "type": "array",
            "maxItems": settings.PARLEY_MAX_MESSAGE_ACTIONS,
            "items": MESSAGE_ACTION,
            "x-errors": {"maxItems": "{name} is limited to {maxItems} actions ({given} given)."},
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10,
            "items": ITEM,
            "x-errors": {
                "minItems": "a {root[type]} message needs at least {minItems} item.",
                "maxItems": "a {root[type]} message is limited to {maxItems} items ({given} given).",
            },
        },
        "coordinates": COORDINATES,
        "name": string(255),
        "email": EMAIL,
        "avatarUrl": {**HTTP_URL, "description": "Defaults to the Gravatar of email (d=mp)."},
        "metadata": METADATA,
        "payload": string(1000),
        "destination": DESTINATION,
        "override": OVERRIDE,
    },
}

# A Parley extension of POST /messages: a message sent from one of the app's
# templates (v1.1 `templates`, the dashboard's canned replies). The template
# gives the content; the sender may add who it is from, metadata and the
# destination.
TEMPLATE_SENDER_FIELDS = ("name", "email", "avatarUrl", "metadata", "destination")
TEMPLATE_MESSAGE = {
    "type": "object",
    "description": "Parley extension: send the stored message of one of the app's templates (GET "
    "/v1.1/apps/{appId}/templates), rendered and sent as any business message. 404 when the app has no "
    "such template.",
    "x-errors": {"type": "The message must be a JSON object.",
                 "additionalProperties": "a template message takes role, type, templateId and "
                 + ", ".join(TEMPLATE_SENDER_FIELDS) + ": the template gives the rest."},
    "required": ["role", "type", "templateId"],
    "properties": {
        "role": {"enum": ["appMaker"], "x-errors": {"enum": "template messages can only be sent with the "
                                                            "appMaker role."}},
        "type": {"enum": ["template"]},
        "templateId": required_string(64),
        **{key: MESSAGE["properties"][key] for key in TEMPLATE_SENDER_FIELDS},
    },
    "additionalProperties": False,
}
# The body of POST /messages as the document shows it: a message, or one
# sent from a template (validators.validate_posted_message tells which).
POSTED_MESSAGE = {"oneOf": [MESSAGE, TEMPLATE_MESSAGE]}

# POST /appusers/{id}/images: the image and the message fields a form carries.
IMAGE_FORM_FIELDS = ("role", "text", "name", "email", "avatarUrl", "payload")
IMAGE_FORM = {
    "type": "object",
    "properties": {
        "source": {"type": "string", "contentMediaType": "application/octet-stream"},
        **{key: MESSAGE["properties"][key] for key in IMAGE_FORM_FIELDS},
    },
    "required": ["source", "role"],
}

ACTIVITY = {
    "type": "object",
    "properties": {
        "role": {"enum": ["appMaker"], "description": "Defaults to appMaker."},
        "type": {"enum": ACTIVITY_TYPES},
        "name": string(255),
        "avatarUrl": HTTP_URL,
    },
    "required": ["type"],
}

# ------------------------------------------------------------- the inbox

CONVERSATION_STATUSES = ["open", "snoozed", "resolved"]

# ----------------------------------------------------------------- app users

NON_EMPTY_ERRORS = {"type": "{name} must be a non-empty string.", "pattern": "{name} must be a non-empty string."}
USER_ID = {**required_string(255), "not": {"pattern": "/"},
           "x-errors": {**NON_EMPTY_ERRORS, "not": "{name} must not contain '/'."}}

ISO_TIME = ("{name} must be an ISO 8601 time (YYYY-MM-DDThh:mm:ss.sssZ) with a timezone, "
            "from year 1 to 9999 in UTC.")
PROFILE_FIELDS = {
    "givenName": nullable(string(255)),
    "surname": nullable(string(255)),
    "email": nullable(string(255)),
    "signedUpAt": {"type": "string", "format": "date-time", "x-errors": {"type": ISO_TIME, "format": ISO_TIME}},
    "properties": nullable(PROPERTIES),
}
PROFILE = {"type": "object", "description": "Additive: only the fields given change.",
           "properties": PROFILE_FIELDS}

APP_USER = {
    "type": "object",
    "properties": {"userId": USER_ID, **PROFILE_FIELDS, "credentialRequired": BOOL},
    "required": ["userId"],
}

EVENT = {
    "type": "object",
    "properties": {
        "name": {**required_string(255), "x-errors": NON_EMPTY_ERRORS},
        "appUser": {**PROFILE, "description": "Profile changes applied before the event.",
                    "x-errors": {"type": "{name} must be an object of profile fields."}},
    },
    "required": ["name"],
}

# The channels whose users are known by a phone number: the ones linkChannel
# links and the Notification API can start a conversation on.
PHONE_CHANNELS = ["twilio"]
# The Notification API writes first to a phone number on these (WhatsApp
# only with a template in message.override.whatsapp).
NOTIFICATION_CHANNELS = ["twilio", "whatsapp"]
PHONE_NUMBER_DESCRIPTION = ("E.164 once spaces, dashes, dots and parentheses are removed (+, country code, "
                            "7 to 15 digits).")

# linkChannel's channels: Smooch's phone channels, and email (a Parley
# extension: `address`, confirmed by a signed link in an email).
LINK_CHANNELS = PHONE_CHANNELS + ["email"]
_LINK_PHONE = {"type": "string", "description": PHONE_NUMBER_DESCRIPTION,
               "x-errors": {"required": "{name} is required to link {root[type]}."}}
_LINK_ADDRESS = {"type": "string", "format": "email", "maxLength": 254,
                 "description": "Parley extension: the email address to link (type email). A confirmation "
                                "email with a signed link is sent unless skipConfirmation; it needs an active "
                                "email or mailgun integration.",
                 "x-errors": {"required": "{name} is required to link email.",
                              "format": "{name} must be an email address."}}
LINK = {
    "type": "object",
    "properties": {
        "type": {"enum": LINK_CHANNELS, "x-errors": {
            "enum": "{name} must be {either}: they are the only channels that can be linked through the API."}},
        "phoneNumber": _LINK_PHONE,
        "address": _LINK_ADDRESS,
        "skipConfirmation": BOOL,
    },
    "required": ["type"],
    "allOf": [
        {"if": {"properties": {"type": {"const": "email"}}, "required": ["type"]},
         "then": {"properties": {"address": _LINK_ADDRESS}, "required": ["address"]},
         "else": {"properties": {"phoneNumber": _LINK_PHONE}, "required": ["phoneNumber"]}},
    ],
}

DEVICE = {
    "type": "object",
    "x-errors": OBJECT_ERRORS,
    "properties": {
        "id": required_string(255),
        "platform": {"enum": SDK_PLATFORMS, "x-errors": {"enum": "{name} must be {either}."}},
        "appVersion": string(50),
        "pushNotificationToken": string(512),
        "info": PROPERTIES,
    },
    "required": ["id", "platform"],
}
INIT = {"type": "object", "properties": {
    "device": DEVICE, "userId": USER_ID,
    "authCode": {**required_string(1000), "description": "A code from GET .../appusers/{id}/authcode: "
                 "the device joins that user's conversation (single use, 10 minutes)."},
}, "required": ["device"], "not": {"required": ["userId", "authCode"]},
    "x-errors": {"not": "userId and authCode are mutually exclusive: an authCode names its user."}}

DEVICE_UPDATE = {
    "type": "object",
    "description": "Additive: only the fields given change (info keys merge); null clears.",
    "properties": {
        "appVersion": nullable(string(50)),
        "pushNotificationToken": nullable(string(512)),
        "info": nullable(PROPERTIES),
    },
}

# POST /appusers/{id}/pushToken (smooch-core 3.x updatePushToken).
PUSH_TOKEN = {
    "type": "object",
    "properties": {"deviceId": required_string(255), "token": required_string(512)},
    "required": ["deviceId", "token"],
}
# POST /appusers/{id}/conversation/postback: the postback action pressed.
POSTBACK = {"type": "object", "properties": {"actionId": required_string(64)}, "required": ["actionId"]}
# POST /appusers/merge: each user by `_id` or `userId` (one of them).
_MERGED_USER = {
    "type": "object",
    "properties": {"_id": required_string(255), "userId": USER_ID},
    "propertyNames": {"enum": ["_id", "userId"],
                      "x-errors": {"enum": "{value} is not a way to name a user here (_id, userId)."}},
    "anyOf": [{"required": ["_id"]}, {"required": ["userId"]}],
    "x-errors": {"type": "{name} must be an object with the user's _id or userId.",
                 "anyOf": "{name} must name a user by _id or userId."},
}
MERGE = {
    "type": "object",
    "properties": {"surviving": _MERGED_USER, "discarded": _MERGED_USER},
    "required": ["surviving", "discarded"],
}

# ------------------------------------------------------------------ webhooks

TRIGGER = {
    "type": "string",
    "enum": list(SUBSCRIBABLE_TRIGGERS),
    "x-errors": {
        "type": "{parent} must be an array of strings.",
        "enum": "unknown trigger {value!r}: triggers are case sensitive, one of {enum}.",
    },
}
TRIGGERS = {
    "type": "array",
    "minItems": 1,
    "items": TRIGGER,
    "description": "Defaults to [\"message\"]. \"message\" means message:appUser and "
    "message:appMaker, \"*\" every trigger of Smooch's. payment:success is accepted (Smooch lists it) but "
    "never emitted: Parley takes no payments. Parley's own conversation:status and conversation:assigned "
    "(the inbox) are sent only to webhooks that name them, never through \"*\".",
    "x-errors": {"type": "{name} must be an array of strings.", "minItems": "{name} must name at least one trigger."},
}
WEBHOOK_FIELDS = {
    "target": {**HTTP_URL, "description": "Loopback and private addresses are refused unless "
               "PARLEY_WEBHOOK_ALLOW_PRIVATE is set."},
    "triggers": TRIGGERS,
}
WEBHOOK = {"type": "object", "properties": WEBHOOK_FIELDS, "required": ["target"]}
WEBHOOK_UPDATE = {"type": "object", "properties": {
    **WEBHOOK_FIELDS,
    "enabled": {**BOOL, "description": "Parley extension: true enables a webhook again (one a 410 Gone "
                "disabled: its disabledReason is cleared and its waiting events are sent); false stops "
                "sending until it is enabled."},
}}

# The largest Unix time a date can hold (9999-12-31T23:59:59Z).
UNIX_TIME_MAX = 253402300799
UNIX_TIME = {
    "type": "number",
    "minimum": 0,
    "maximum": UNIX_TIME_MAX,
    "description": "Unix time in seconds (e.g. 1471995721.586).",
    "x-errors": {"type": "{name} must be a Unix time in seconds (e.g. 1471995721.586).",
                 "minimum": "{name} must be a Unix time in seconds from 0 to {maximum}.",
                 "maximum": "{name} must be a Unix time in seconds from 0 to {maximum}."},
}
# PATCH .../conversation (Parley extension): the team's inbox.
CONVERSATION_UPDATE = {
    "type": "object",
    "description": "Parley extension: the conversation's inbox status and assignee. Any of the fields; "
    "those left out stay as they are.",
    "properties": {
        "status": {"enum": CONVERSATION_STATUSES,
                   "description": "open, snoozed (until snoozedUntil; a timer reopens it then) or resolved. "
                   "A new user message reopens a snoozed or resolved conversation."},
        "snoozedUntil": {**UNIX_TIME, "description": "Unix time in seconds, in the future: required with "
                         "status snoozed, refused otherwise."},
        "assigneeEmail": {**nullable(EMAIL), "description": "The email of a member of the app's team, or null "
                          "to unassign."},
    },
    "anyOf": [{"required": ["status"]}, {"required": ["snoozedUntil"]}, {"required": ["assigneeEmail"]}],
    # snoozedUntil comes with status snoozed, and only with it (that it is
    # in the future is checked at the time of the call: validators.py).
    # (A `required` error is told by the missing property's x-errors.)
    "dependentSchemas": {"snoozedUntil": {
        "properties": {"status": {"const": "snoozed", "x-errors": {
            "const": "snoozedUntil can only be given with status snoozed.",
            "required": "snoozedUntil can only be given with status snoozed."}}},
        "required": ["status"],
    }},
    "if": {"properties": {"status": {"const": "snoozed"}}, "required": ["status"]},
    "then": {"properties": {"snoozedUntil": {"x-errors": {
        "required": "snoozedUntil is required when status is snoozed."}}}, "required": ["snoozedUntil"]},
    "x-errors": {"type": "The body must be a JSON object.",
                 "anyOf": "The body must give status, snoozedUntil or assigneeEmail."},
}

WEBHOOK_REDELIVER = {
    "type": "object",
    "properties": {"since": {**UNIX_TIME, "description": "Every failed event created at or after this "
                             "Unix time (seconds) is sent again."}},
    "required": ["since"],
}
WEBHOOK_ROTATE = {
    "type": "object",
    "properties": {"secret": {
        "enum": ["signing", "apiKey"],
        "description": "signing: a new signingSecret; the previous one keeps signing beside it for 24 hours "
        "(webhook-signature then carries both). apiKey: a new secret (X-API-Key) at once.",
    }},
    "required": ["secret"],
}

# -------------------------------------------------------------- integrations

INTEGRATION_DISPLAY_NAME_MAX = 100
INTEGRATION_PROPERTY_MAX = 2000

# The channel types the integrations API creates: those that declare the
# properties they take (`fields`, messaging/integrations/base.Field).
CONNECTABLE = {type_: cls for type_, cls in sorted(REGISTRY.items()) if cls.fields}
CONNECTABLE_TYPES = list(CONNECTABLE)
_ONE_OF_TYPES = f"type must be one of: {', '.join(CONNECTABLE_TYPES)}."

DISPLAY_NAME_ERROR = f"displayName must be a string of at most {INTEGRATION_DISPLAY_NAME_MAX} characters."
INTEGRATION_DISPLAY_NAME = {
    "type": "string",
    "maxLength": INTEGRATION_DISPLAY_NAME_MAX,
    "description": "Shown in the dashboard; defaults to what the platform tells (a bot's name).",
    "x-errors": {"type": DISPLAY_NAME_ERROR, "maxLength": DISPLAY_NAME_ERROR},
}


def _channel_properties(cls, *, partial: bool) -> dict:
    """What one channel type takes, generated from its declared fields: each
    a non-blank string of at most INTEGRATION_PROPERTY_MAX characters, the
    required ones required unless `partial` (an update), and no other key
    but `type` and `displayName`: as strict as
    messaging.services.integrations._clean, which checks the same fields."""
    names = [spec.name for spec in cls.fields]
    takes = ", ".join([*names, "displayName"])
    properties = {}
    for spec in cls.fields:
        description = (spec.label + (" (secret: stored encrypted, never returned)" if spec.secret else "")
                       + ("" if spec.required else " (optional)") + (f". {spec.help}" if spec.help else ""))
        if spec.choices:
            properties[spec.name] = {
                "enum": list(spec.choices),
                "description": description,
                "x-errors": {"enum": f"{{name}} must be one of: {', '.join(spec.choices)}."},
            }
            continue
        properties[spec.name] = {
            **required_string(INTEGRATION_PROPERTY_MAX),
            # Ids, tokens, secrets and addresses travel in the platform's
            # URLs and headers (HTTP headers take Latin-1 at most): printable
            # ASCII without spaces (around it is trimmed). Free text (a
            # sender's name) takes any.
            **({} if spec.free_text else {"allOf": [{
                "pattern": rf"^\s*{TOKEN_CHAR}+\s*$",
                "x-errors": {"pattern": "{name} must be printable ASCII characters without spaces."}}]}),
            "description": description,
            "x-errors": {
                "required": f"{{name}} is required for {cls.type} integrations.",
                "type": "{name} must be a non-empty string.",
                "pattern": "{name} must be a non-empty string.",
                "maxLength": f"{{name}} is longer than {INTEGRATION_PROPERTY_MAX} characters.",
            },
        }
    return {
        "propertyNames": {
            "enum": ["type", *names, "displayName"],
            "x-errors": {"enum": f"{{value}} is not a property of {cls.type} integrations (they take {takes})."},
        },
        "properties": {**properties, "displayName": INTEGRATION_DISPLAY_NAME},
        "required": [] if partial else [spec.name for spec in cls.fields if spec.required],
    }


def _integration(*, partial: bool) -> dict:
    """The integrations API's body: `type` picks the channel, whose own
    properties follow (the ones the official clients send: Telegram
    `token`, Twilio `accountSid`, `authToken`, `phoneNumberSid`...)."""
    return {
        "type": "object",
        "description": (
            "The properties of the integration's own type: "
            + "; ".join(f"{t}: {', '.join(f.name for f in cls.fields)}" for t, cls in CONNECTABLE.items())
            + (". An update changes only the properties given; new credentials are checked with the "
               "platform first. `type` may be left out, or must be the integration's own."
               if partial else ". The credentials are checked with the platform before anything is stored.")
        ),
        "properties": {"type": {"enum": CONNECTABLE_TYPES,
                                "x-errors": {"enum": _ONE_OF_TYPES, "required": _ONE_OF_TYPES}}},
        "required": [] if partial else ["type"],
        "allOf": [
            {"if": {"properties": {"type": {"const": type_}}, "required": ["type"]},
             "then": _channel_properties(cls, partial=partial)}
            for type_, cls in CONNECTABLE.items()
        ],
    }


INTEGRATION = _integration(partial=False)
INTEGRATION_UPDATE = _integration(partial=True)

# ------------------------------------------------------------- notifications

NOTIFICATION_DESTINATION = {
    "type": "object",
    "description": "The integration (one of the app's, of a type that takes a phone number) and the "
    "user's id on it.",
    "x-errors": {"type": "{name} must be an object with integrationId and destinationId."},
    "properties": {
        "integrationId": {**required_string(24), "x-errors": NON_EMPTY_ERRORS},
        "destinationId": {**required_string(64), "description": "The phone number: " + PHONE_NUMBER_DESCRIPTION,
                          "x-errors": NON_EMPTY_ERRORS},
    },
    "required": ["integrationId", "destinationId"],
}

NOTIFICATION_AUTHOR = {
    "type": "object",
    "description": "Who the message is from; the message's own name, email and avatarUrl win.",
    "x-errors": OBJECT_ERRORS,
    "properties": {
        "role": {"enum": ["appMaker"], "description": "Defaults to appMaker, the only role accepted."},
        "name": MESSAGE["properties"]["name"],
        "email": MESSAGE["properties"]["email"],
        "avatarUrl": MESSAGE["properties"]["avatarUrl"],
    },
}

NOTIFICATION = {
    "type": "object",
    "description": "A first message to someone who never wrote in, by SMS or as a WhatsApp template "
    "(message.override.whatsapp): the app user whose client on "
    "the integration has that phone number, created with the client when there is none.",
    "properties": {
        "destination": NOTIFICATION_DESTINATION,
        "author": NOTIFICATION_AUTHOR,
        "message": {
            **MESSAGE,
            "description": "A message as POST /appusers/{appUserId}/messages takes it, from the business "
            "(role appMaker, which may be left out), without a destination of its own.",
            "required": ["type"],
            "properties": {**{k: v for k, v in MESSAGE["properties"].items() if k != "destination"},
                           "role": {"enum": ["appMaker"]}},
            "not": {"required": ["destination"]},
            "x-errors": {"type": "{name} must be a JSON object.",
                         "not": "message.destination: the notification's destination is given beside "
                                "the message."},
        },
    },
    "required": ["destination", "message"],
}

# ------------------------------------------------------- apps and keys (account scope)

APP_NAME_MAX = 100  # App.name
KEY_NAME_MAX = 100  # ApiKey.name
MAX_ALLOWED_ORIGINS = 50  # as the dashboard's widget form
LOG_RETENTION_DAYS_MAX = 3650  # messaging.services.logs.MAX_RETENTION_DAYS
ORIGIN_ERROR = ("{name} must be an origin as browsers send it: http:// or https://, a lower-case host and an "
                "optional port, without a path (e.g. https://shop.example).")
ORIGIN = {
    "type": "string",
    "maxLength": 300,
    # (format uri: a bracketed host must be a real IPv6 address.)
    "format": "uri",
    "pattern": r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)"
               r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?$",
    "x-errors": {"pattern": ORIGIN_ERROR, "maxLength": ORIGIN_ERROR, "format": ORIGIN_ERROR},
}
# Smooch's own app settings (maskCreditCardNumbers, useAnimalNames,
# echoPostback, conversationRetentionSeconds...) name features Parley does
# not have: they are refused by name rather than stored and ignored.
APP_SETTINGS = {
    "type": "object",
    "description": "Parley's app settings; each one given replaces that setting, the others stay.",
    "properties": {
        "requireUserJwt": {**BOOL, "description": "A userId needs an appUser-scope JWT (on for new apps): the "
                           "app token alone reaches anonymous users only."},
        "allowedOrigins": {"type": "array", "items": ORIGIN, "maxItems": MAX_ALLOWED_ORIGINS,
                           "description": "The origins allowed to embed the Web Messenger; empty: any.",
                           "x-errors": {"maxItems": "{name} holds at most {maxItems} origins ({given} given)."}},
        "logRetentionDays": {"type": "integer", "minimum": 1, "maximum": LOG_RETENTION_DAYS_MAX,
                             "description": "How long the app's log entries are kept."},
    },
    "additionalProperties": False,
    "x-errors": {**OBJECT_ERRORS, "additionalProperties": "settings takes requireUserJwt, allowedOrigins and "
                 "logRetentionDays only (Smooch's other app settings are features Parley does not have)."},
}
APP_FIELDS = {
    "name": {**required_string(APP_NAME_MAX), "x-errors": {"pattern": "{name} must not be empty."}},
    "settings": APP_SETTINGS,
    "metadata": {**METADATA, "description": "A flat JSON object of your own about the app; replaced whole."},
}
APP_CREATE = {"type": "object", "properties": APP_FIELDS, "required": ["name"]}
APP_UPDATE = {"type": "object", "properties": APP_FIELDS,
              "description": "Only the fields given change."}
KEY_CREATE = {"type": "object", "properties": {"name": required_string(KEY_NAME_MAX)}, "required": ["name"]}
SERVICE_ACCOUNT_NAME_MAX = 100  # ServiceAccount.name
SERVICE_ACCOUNT = {"type": "object", "properties": {"name": required_string(SERVICE_ACCOUNT_NAME_MAX)},
                   "required": ["name"], "description": "POST and PUT /serviceaccounts...: the account's name."}

# ---------------------------------------------------------------- templates

TEMPLATE_NAME_MAX = TEMPLATE_NAME_MAX_LENGTH


def _template(*, partial: bool) -> dict:
    """POST / PUT .../templates: a name and a message body as POST
    /appusers/{id}/messages takes it (checked by the same validator, in
    messaging.services.templates; role and destination are not stored)."""
    return {
        "type": "object",
        "properties": {
            "name": {**required_string(TEMPLATE_NAME_MAX), "description": "Unique within the app.",
                     "x-errors": NON_EMPTY_ERRORS},
            "message": {"type": "object", "description": "A message body (type, text, actions, items...), "
                        "as POST /appusers/{appUserId}/messages takes it.",
                        "x-errors": {"type": "{name} must be a message object (type, text, actions...)."}},
        },
        "propertyNames": {"enum": ["name", "message"],
                          "x-errors": {"enum": "{value} is not a property of a template (name, message)."}},
        "required": [] if partial else ["name", "message"],
        **({"minProperties": 1, "x-errors": {"minProperties": "Give name or message to update."}}
           if partial else {}),
    }


TEMPLATE_CREATE = _template(partial=False)
TEMPLATE_UPDATE = _template(partial=True)


# ----------------------------------------------- WhatsApp business management

# A WhatsApp integration's message templates and business profile
# (messaging.services.whatsapp_business), with Meta's own rules and limits.
WA_TEMPLATE_CATEGORIES = ["AUTHENTICATION", "MARKETING", "UTILITY"]
WA_COMPONENT_TYPES = ["HEADER", "BODY", "FOOTER", "BUTTONS"]
WA_COMPONENTS_MAX = 10
WA_TEMPLATE_NAME = "^[a-z0-9_]{1,512}$"
WA_TEMPLATE_KEYS = ["name", "category", "language", "components", "allow_category_change"]
WA_TEMPLATE_CREATE = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": WA_TEMPLATE_NAME,
                 "x-errors": {"type": "name must be lowercase letters, digits and underscores, at most 512.",
                              "pattern": "name must be lowercase letters, digits and underscores, at most 512."}},
        "category": {"enum": WA_TEMPLATE_CATEGORIES},
        "language": {"type": "string", "pattern": "^[a-z]{2,3}(_[A-Z]{2})?$",
                     "x-errors": {"pattern": "language must be a language code such as en or en_US."}},
        "components": {
            "type": "array", "minItems": 1, "maxItems": WA_COMPONENTS_MAX,
            "items": {"type": "object", "properties": {"type": {"enum": WA_COMPONENT_TYPES}},
                      "required": ["type"], "x-errors": OBJECT_ERRORS},
            "x-errors": {"minItems": f"components must be a list of 1 to {WA_COMPONENTS_MAX} components.",
                         "maxItems": f"components must be a list of 1 to {WA_COMPONENTS_MAX} components."},
        },
        "allow_category_change": BOOL,
    },
    "required": ["name", "category", "language", "components"],
    "propertyNames": {"enum": WA_TEMPLATE_KEYS, "x-errors": {
        "enum": "{value} is not a property of a message template (" + ", ".join(WA_TEMPLATE_KEYS) + ")."}},
    "description": "Meta's message template: components hold one BODY (Meta checks the rest).",
}
WA_PROFILE_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
WA_WEBSITES_MAX = 2
WA_VERTICALS = ["UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE",
                "GROCERY", "GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL",
                "RESTAURANT", "NOT_A_BIZ"]
WA_PROFILE_KEYS = ["about", "address", "description", "email", "vertical", "websites"]
WA_PROFILE_UPDATE = {
    "type": "object",
    "properties": {
        **{key: string(limit) for key, limit in WA_PROFILE_LIMITS.items()},
        "email": {**EMAIL, "maxLength": WA_PROFILE_LIMITS["email"]},
        "vertical": {"enum": WA_VERTICALS},
        "websites": {"type": "array", "maxItems": WA_WEBSITES_MAX, "items": {**HTTP_URL, "maxLength": 256},
                     "x-errors": {"maxItems": f"websites holds at most {WA_WEBSITES_MAX} URLs."}},
    },
    "propertyNames": {"enum": WA_PROFILE_KEYS, "x-errors": {
        "enum": "{value} is not a field of a WhatsApp business profile that can be changed ("
                + ", ".join(WA_PROFILE_KEYS) + "; the photo has its own call)."}},
    "minProperties": 1,
    "x-errors": {"minProperties": "Give the profile's fields to change (" + ", ".join(WA_PROFILE_KEYS) + ")."},
    "description": "Only the fields given change.",
}

# ----------------------------------------------------------------- attachments

ATTACHMENT_REMOVE = {
    "type": "object",
    "properties": {"mediaUrl": {**required_string(2000), "x-errors": NON_EMPTY_ERRORS}},
    "required": ["mediaUrl"],
}

# ---------------------------------------------------------------- persistent menus

MENU_ITEMS_MAX = 5  # the reference's "1 to 5 menu items"
MENU_NAME_MAX = 100  # Menu.name
# An item's text: Telegram's command description holds 256 (Messenger shows
# 30, and messaging.integrations.messenger clips to that).
MENU_TEXT_MAX = 256
MENU_PAYLOAD_MAX = 1000  # as a postback action's
MENU_ITEM_TYPES = ["link", "postback"]
MENU_ITEM = {
    "type": "object",
    "description": "A link ({text, uri}) or a postback ({text, payload}); `_id` is Parley's (kept when given "
                   "back from an earlier answer).",
    "x-errors": OBJECT_ERRORS,
    "properties": {
        "type": {"enum": MENU_ITEM_TYPES},
        "text": {**required_string(MENU_TEXT_MAX), "x-errors": NON_EMPTY_ERRORS},
        "uri": HTTP_URL,
        "payload": {**required_string(MENU_PAYLOAD_MAX), "x-errors": NON_EMPTY_ERRORS},
        "_id": {"type": "string", "maxLength": 24},
    },
    "propertyNames": {"enum": ["type", "text", "uri", "payload", "_id"],
                      "x-errors": {"enum": "{value} is not a property of a menu item (type, text, uri, payload)."}},
    "required": ["type", "text"],
    "allOf": [
        {"if": {"properties": {"type": {"const": "link"}}, "required": ["type"]},
         "then": {"required": ["uri"]}},
        {"if": {"properties": {"type": {"const": "postback"}}, "required": ["type"]},
         "then": {"required": ["payload"]}},
    ],
}
MENU = {
    "type": "object",
    "properties": {
        "name": {**string(MENU_NAME_MAX), "description": "Defaults to \"Menu\" where a channel shows a name."},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MENU_ITEMS_MAX,
            "items": MENU_ITEM,
            "x-errors": {
                "required": "{name} is required: {minItems} to {maxItems} menu items.",
                "minItems": "{name} must hold {minItems} to {maxItems} menu items ({given} given).",
                "maxItems": "{name} must hold {minItems} to {maxItems} menu items ({given} given).",
            },
        },
    },
    "propertyNames": {"enum": ["name", "items"],
                      "x-errors": {"enum": "{value} is not a property of a menu (name, items)."}},
    "required": ["items"],
}
