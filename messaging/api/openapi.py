"""The OpenAPI 3.1 document of Parley's REST API, served at
GET /v1/openapi.json.

Kept true by tests/api: every route Django resolves under /v1/ must be here
(tests/api/test_openapi.py), and every response the API tests receive is
validated against the schema of its path, method and status
(tests/api/conftest.py). Objects are closed (`additionalProperties: false`)
so a key added to a response without documenting it fails the suite.
"""

import copy

from messaging import schemas, validators
from messaging.api.views.apps import APPS_PAGE, APPS_PAGE_MAX
from messaging.api.views.integrations import LIST_LIMIT, MAX_OFFSET
from messaging.api.views.service_accounts import PAGE as SERVICE_ACCOUNTS_PAGE
from messaging.api.views.service_accounts import PAGE_MAX as SERVICE_ACCOUNTS_PAGE_MAX
from messaging.api.views.templates import LIST_LIMIT as TEMPLATES_LIMIT
from messaging.api.views.webhooks import EVENT_STATES, EVENTS_PAGE, EVENTS_PAGE_MAX
from messaging.integrations.registry import REGISTRY
from messaging.models import IntegrationStatus
from messaging.services import media
from messaging.services import whatsapp_business as wa_business
from messaging.services.webhook_config import ROTATION_OVERLAP
from messaging.webhooks.sender import RESPONSE_SNIPPET


def _obj(properties: dict, required=(), **extra) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }


STR = {"type": "string"}
BOOL = {"type": "boolean"}
NUM = {"type": "number"}
INT = {"type": "integer"}
URI = {"type": "string", "format": "uri"}
DATETIME = {"type": "string", "format": "date-time"}
FLAT = schemas.FLAT
OVERLAP_HOURS = ROTATION_OVERLAP.total_seconds() / 3600


def _counts(node: dict) -> dict:
    """An array's item counts, as the request schema has them."""
    return {key: node[key] for key in ("minItems", "maxItems") if key in node}

EMPTY = _obj({}, description="An empty JSON object.")

ERROR = _obj(
    {"error": _obj({"code": STR, "description": STR}, ["code", "description"])},
    ["error"],
)

ACTION = _obj(
    {
        "_id": STR,
        "type": {"enum": schemas.ACTION_TYPES},
        "text": STR,
        "uri": STR,
        "payload": STR,
        "amount": INT,
        "currency": STR,
        "default": BOOL,
        "iconUrl": URI,
        "metadata": FLAT,
    },
    ["_id", "type"],
)

ITEM = _obj(
    {
        "_id": STR,
        "title": STR,
        "description": STR,
        "mediaUrl": URI,
        "mediaType": STR,
        "size": {"enum": schemas.ITEM_SIZES},
        "actions": {"type": "array", "items": ACTION, **_counts(schemas.ITEM["properties"]["actions"])},
        "metadata": FLAT,
    },
    ["_id", "title", "actions"],
)

MESSAGE = _obj(
    {
        "_id": STR,
        "authorId": {**STR, "description": "The app user's `_id` on their own messages; on a business "
                     "message an opaque id of the API key or dashboard member that sent it (never the key "
                     "id; the app's `_id` when none is known)."},
        "role": {"enum": schemas.ROLES},
        "type": {"enum": schemas.MESSAGE_TYPES},
        "name": STR,
        "email": STR,
        "avatarUrl": {
            **URI,
            "description": "Given, or from Gravatar for `email`: "
            "https://www.gravatar.com/avatar/<md5 of the trimmed, lower-cased email>?d=mp "
            "(d=mp: a neutral silhouette when the address has no Gravatar).",
        },
        "text": STR,
        "mediaUrl": URI,
        "mediaType": STR,
        "actions": {"type": "array", "items": ACTION},
        "items": {"type": "array", "items": ITEM, **_counts(schemas.MESSAGE["properties"]["items"])},
        "coordinates": _obj({"lat": NUM, "long": NUM}, ["lat", "long"]),
        "metadata": FLAT,
        "payload": STR,
        "source": _obj({"type": STR, "id": STR, "integrationId": STR}, ["type"]),
        "destination": _obj({"integrationType": STR, "integrationId": STR}),
        "received": {**NUM, "description": "Unix time in seconds, to the millisecond."},
    },
    ["_id", "authorId", "role", "type", "received"],
)

CONVERSATION = _obj(
    {
        "_id": STR,
        "unreadCount": INT,
        "status": {"enum": schemas.CONVERSATION_STATUSES,
                   "description": "Parley extension (the team's inbox), for app and account credentials only."},
        "snoozedUntil": {**NUM, "description": "Parley extension: Unix time in seconds; only while snoozed."},
        "assigneeEmail": {**STR, "format": "email",
                          "description": "Parley extension: the team member it is assigned to; left out "
                          "when unassigned."},
    },
    ["_id", "unreadCount"],
)
CONVERSATION_BODY = _obj({"conversation": CONVERSATION}, ["conversation"])

CLIENT = _obj(
    {
        "id": STR,
        "_id": STR,
        "platform": STR,
        "integrationId": STR,
        "displayName": STR,
        "active": BOOL,
        "lastSeen": DATETIME,
        "linkedAt": DATETIME,
        "appVersion": STR,
        "pushNotificationToken": STR,
        "info": FLAT,
        # Parley extension: true when the user's id there was not proven
        # (an email from an address alone); left out otherwise.
        "unverified": BOOL,
    },
    ["id", "platform", "active"],
)

APP_USER = _obj(
    {
        "_id": STR,
        "userId": STR,
        "givenName": STR,
        "surname": STR,
        "email": STR,
        "signedUpAt": DATETIME,
        "properties": FLAT,
        "conversationStarted": BOOL,
        "credentialRequired": BOOL,
        "clients": {"type": "array", "items": CLIENT},
        "pendingClients": {"type": "array", "items": CLIENT},
    },
    ["_id", "properties", "conversationStarted", "credentialRequired"],
)

WEBHOOK = _obj(
    {
        "_id": STR,
        "triggers": {"type": "array", "items": schemas.TRIGGER, "description": schemas.TRIGGERS["description"]},
        "secret": {**STR, "description": "Sent as the X-API-Key header of each call."},
        "target": URI,
        "signingSecret": {**STR, "pattern": "^whsec_", "description": "Parley extension: the Standard Webhooks "
                          "signing secret (whsec_ + base64 key) of webhook-signature: v1,<base64 HMAC-SHA256 of "
                          "\"<webhook-id>.<webhook-timestamp>.<body>\">. For "
                          f"{OVERLAP_HOURS:g} hours after a rotation the previous secret's signature follows, "
                          "space-separated."},
        "enabled": {**BOOL, "description": "Parley extension: false while nothing is sent (a 410 Gone from the "
                    "target, or PUT enabled: false); PUT enabled: true sends again."},
        "disabledReason": {**STR, "description": "Parley extension, on a disabled webhook: why (e.g. the "
                           "target answered 410 Gone); left out when it was disabled through the API."},
        "failingSince": {**DATETIME, "description": "Parley extension: since when every attempt has failed "
                         "(left out once one succeeds)."},
    },
    ["_id", "triggers", "secret", "target", "signingSecret", "enabled"],
)
WEBHOOK_BODY = _obj({"webhook": WEBHOOK}, ["webhook"])

WEBHOOK_ATTEMPT = _obj(
    {
        "number": {**INT, "description": "1 for the first attempt; counted again from 1 after a re-delivery."},
        "at": DATETIME,
        "status": {**INT, "description": "The target's HTTP status; left out when it gave no answer."},
        "latencyMs": INT,
        "response": {**STR, "description": f"The first {RESPONSE_SNIPPET} characters of the answer."},
        "error": {**STR, "description": "Why the attempt failed; left out when it succeeded."},
    },
    ["number", "at", "latencyMs"],
)

WEBHOOK_EVENT = _obj(
    {
        "_id": STR,
        "trigger": {**STR, "description": "The trigger it was sent for (webhook:test for a test event)."},
        "state": {"enum": EVENT_STATES, "description": "pending: waiting for its next attempt (or "
                  "re-delivered); delivered: a 2xx came back; failed: given up (after 6 attempts, or a "
                  "410 Gone)."},
        "createdAt": DATETIME,
        "deliveredAt": {**DATETIME, "description": "When a 2xx came back."},
        "nextAttemptAt": {**DATETIME, "description": "When a pending event is tried next (a disabled "
                          "webhook's events wait until it is enabled)."},
        "attempts": {"type": "array", "items": WEBHOOK_ATTEMPT, "description": "Every attempt, oldest first."},
        "payload": {"type": "object", "description": "The body posted (Smooch's webhook body)."},
        "webhookId": {**STR, "description": "The Standard Webhooks webhook-id header every attempt and "
                      "re-delivery of this event carried (the receiver's idempotency key)."},
    },
    ["_id", "trigger", "state", "createdAt", "attempts", "payload", "webhookId"],
)
WEBHOOK_EVENT_BODY = _obj({"event": WEBHOOK_EVENT}, ["event"])

MENU_ITEM = _obj({"_id": STR, "type": {"enum": schemas.MENU_ITEM_TYPES}, "text": STR, "uri": URI, "payload": STR},
                 ["_id", "type", "text"])
MENU_OBJECT = _obj({"name": STR, "items": {"type": "array", "items": MENU_ITEM, "maxItems": schemas.MENU_ITEMS_MAX}},
                   ["items"])

INIT_APP = _obj(
    {
        "_id": STR,
        "name": STR,
        "hasIcon": BOOL,
        "apnEnabled": BOOL,
        "iconUrl": {**URI, "description": "Parley extra: the widget's icon."},
        "accentColor": {**STR, "description": "Parley extra: the widget's accent colour."},
        "greeting": {**STR, "description": "Parley extra: the widget's greeting."},
        "menu": {**MENU_OBJECT, "description": "Parley extra: the app's persistent menu, which the widget shows "
                 "(left out when the app has none)."},
    },
    ["hasIcon", "apnEnabled"],
)

# `address`: a linked email address (Parley extension).
CHANNEL = _obj({"type": STR, "phoneNumber": STR, "userId": STR, "address": STR}, ["type"])

DELIVERY = _obj(
    {
        "_id": STR,
        "messageId": STR,
        "clientId": STR,
        "purpose": {"enum": ["destination", "preferred", "silent", "failover"]},
        "state": {"enum": ["queued", "sent", "delivered", "read", "failed"]},
        "attempts": INT,
    },
    ["_id", "messageId", "clientId", "purpose", "state"],
)

def _integration() -> dict:
    """An integration as the API returns it (messaging.wire.integration_json):
    the public properties of every connectable channel, what the platform
    told about itself (its own keys), Parley's inbound URL and status; never
    a secret property (the schema refuses their names)."""
    fields = [spec for cls in schemas.CONNECTABLE.values() for spec in cls.fields]
    public = sorted({spec.name for spec in fields if not spec.secret})
    secret = sorted({spec.name for spec in fields if spec.secret} - set(public))
    properties = {
        "_id": STR,
        "type": STR,
        "status": {"enum": [status.value for status in IntegrationStatus],
                   "description": "error: the platform refused the stored credentials (see error); nothing "
                   "is sent until they are updated or a connection test passes."},
        "displayName": STR,
        "inboundUrl": {**URI, "description": "Parley extra: where the platform posts this integration's events "
                       "(registered with the platform where it has an API for it)."},
        "error": {**STR, "description": "Parley extra: the platform's last refusal."},
        "errorAt": DATETIME,
        "lastInboundAt": {**DATETIME, "description": "Parley extra: the last event received from the platform."},
        "createdAt": DATETIME,
        **{name: STR for name in public},
    }
    extra = {
        "patternProperties": {"^[a-z][A-Za-z0-9]*$": {
            "type": ["string", "number", "boolean"],
            "description": "What the platform told about the integration when it was checked (a bot's "
            "username, a phone number).",
        }},
    }
    if secret:
        extra["not"] = {"anyOf": [{"required": [name]} for name in secret],
                        "description": "Secret properties are never returned."}
    return _obj(properties, ["_id", "type", "status"], **extra)


INTEGRATION = _integration()
INTEGRATION_BODY = _obj({"integration": INTEGRATION}, ["integration"])

TEMPLATE = _obj({"_id": STR, "name": STR,
                 "message": {"type": "object", "description": "The message body as given (without role and "
                             "destination)."},
                 "createdAt": {**STR, "format": "date-time"}, "updatedAt": {**STR, "format": "date-time"}},
                ["_id", "name", "message", "createdAt", "updatedAt"])
TEMPLATE_BODY = _obj({"template": TEMPLATE}, ["template"])

ATTACHMENT_BODY = _obj({"mediaUrl": {**URI, "description": "Where the file is served (a private one's carries "
                                     "its signature)."},
                        "mediaType": {"enum": sorted(set(media.SERVED_TYPES.values())),
                                      "description": "Decided by the file's content."}},
                       ["mediaUrl", "mediaType"])
ATTACHMENT_FORM = {"type": "object", "properties": {"source": {"type": "string",
                   "contentMediaType": "application/octet-stream"}}, "required": ["source"]}
ATTACHMENT_QUERY = [
    {"name": "access", "in": "query", "required": True, "schema": {"enum": list(media.ATTACHMENT_ACCESS)}},
    {"name": "for", "in": "query", "required": False, "schema": {"enum": ["message"]},
     "description": "message: the file is kept with the user's (appUserId, userId or conversationId) and "
     "erased with them."},
    *({"name": name, "in": "query", "required": False, "schema": STR}
      for name in ("appUserId", "userId", "conversationId")),
]
WA_TEMPLATE = _obj({"id": STR, "name": STR, "language": STR, "category": STR, "status": STR,
                    "components": {"type": "array", "items": {"type": "object"}}, "rejected_reason": STR},
                   ["name"], description="The WhatsApp Cloud API's message template (its own keys).")
WA_PROFILE_FIELDS = {
    **{key: {"type": "string", "maxLength": limit} for key, limit in schemas.WA_PROFILE_LIMITS.items()},
    "vertical": {"enum": schemas.WA_VERTICALS},
    "websites": {"type": "array", "items": URI},
}
WA_PROFILE = _obj({**WA_PROFILE_FIELDS, "photoUrl": URI}, description="The number's WhatsApp business "
                  "profile; fields without a value are left out.")
WA_NOTE = ("The integration must be a WhatsApp one (400 otherwise; 404 for another app's). A refusal of the "
           "WhatsApp Cloud API is 400 platform_refused with its reason, an unreachable one 502.")
PLATFORM_DOWN = (ERROR, "The WhatsApp Cloud API could not be reached or failed")
MENU_BODY = _obj({"menu": MENU_OBJECT}, ["menu"], description="No menu reads as {\"menu\": {\"items\": []}}.")
MENU_PUSH = ("Channels with a menu of their own get it after the change commits: Messenger's persistent menu "
             "(Messenger Profile API), Telegram's bot commands (postback items; a command sent back is the "
             "item's postback). The web widget shows the app's menu.")

APP_USER_BODY = _obj({"appUser": APP_USER}, ["appUser"])
LINK_REQUEST = _obj({"integrationId": STR, "type": STR, "code": STR, "url": STR},
                    ["integrationId", "type", "code"])
MESSAGE_BODY = _obj({"message": MESSAGE, "conversation": CONVERSATION}, ["message", "conversation"])

# ------------------------------------------------------------ operations

R401 = "Missing or invalid credentials"
R403 = "Valid credentials without access"
R429 = ("Too many requests: past a rate limit (per API key, per app user, per app token and client "
        "address, or on /v1/init per client address); the description names the limit")
RETRY_AFTER = {"description": "Seconds until the limit's window ends", "required": True,
               "schema": {"type": "integer", "minimum": 1}}
R503 = ("Temporarily unavailable: the database (or, for app-token calls, Redis) is down for a moment; "
        "nothing was done, try again after Retry-After")
RETRY_LATER = {"description": "Seconds to wait before trying again", "required": True,
               "schema": {"type": "integer", "minimum": 1}}


# `offset`: what messaging.api.query.number takes (at most 2^31 - 1).
OFFSET = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}
_TYPE = "|".join(sorted(REGISTRY))
# `types`: channel types, comma-separated (blank entries are skipped).
TYPES = {"type": "string", "pattern": rf"^\s*(?:{_TYPE})?\s*(?:,\s*(?:{_TYPE})?\s*)*$"}


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(op_id, summary, responses: dict, *, body=None, security=("jwt", "appToken"), multipart=None,
        description=None, query=None):
    errors = {400: "Bad request", 401: R401, 403: R403, 404: "Not found"}
    if body is not None or multipart is not None:
        errors[413] = "The request body is too large"
    if security:
        errors[429] = R429
        errors[503] = R503
    result = {
        "operationId": op_id,
        "summary": summary,
        "security": [{name: []} for name in security],
        "responses": {
            **{str(code): _json(schema, desc) for code, (schema, desc) in responses.items()},
            **{str(code): _json(ERROR, desc) for code, desc in errors.items() if code not in responses},
        },
    }
    if security:
        result["responses"]["429"]["headers"] = {"Retry-After": RETRY_AFTER}
        result["responses"]["503"]["headers"] = {"Retry-After": RETRY_LATER}
    if description:
        result["description"] = description
    if body is not None:
        result["requestBody"] = {"required": not validators.takes_empty(body),
                                 "content": {"application/json": {"schema": validators.as_read(body)}}}
    if multipart is not None:
        result["requestBody"] = {"required": True,
                                 "content": {"multipart/form-data": {"schema": validators.as_read(multipart)}}}
    if query:
        result["parameters"] = query
    return result


APP_ONLY = ("jwt",)
PARLEY_WEBHOOKS = "Parley extension, not in Smooch v1."

# Paths relative to /v1, as registered for both /v1/... and /v1/apps/{appId}/...
APP_PATHS = {
    "/appusers": {
        "post": _op("createAppUser", "Pre-create an app user", {201: (APP_USER_BODY, "Created"),
                    409: (ERROR, "userId already exists")},
                    body=schemas.APP_USER,
                    security=APP_ONLY),
    },
    "/appusers/merge": {
        "post": _op("mergeUsers", "Merge the discarded user into the surviving one (both of this app)",
                    {200: (APP_USER_BODY, "The surviving user")}, body=schemas.MERGE, security=APP_ONLY,
                    description="Messages (with their deliveries), clients, notes and log lines move to the "
                    "surviving user; a property or profile field both have keeps the surviving user's value; the "
                    "discarded user is deleted and merge:appUser fires. 404 when either is not a user of this "
                    "app, 400 for a user merged with itself."),
    },
    "/appusers/{appUserId}": {
        "get": _op("getAppUser", "Get an app user", {200: (APP_USER_BODY, "OK")}),
        "put": _op("updateAppUser", "Update an app user (additive)", {200: (APP_USER_BODY, "OK")},
                   body=schemas.PROFILE),
        "delete": _op("deleteAppUser", "Delete an app user and all their data (messages, clients, log "
                      "entries, uploaded images)", {200: (EMPTY, "Deleted")}, security=APP_ONLY),
    },
    "/appusers/{appUserId}/profile": {
        "delete": _op("deleteAppUserProfile", "Clear givenName, surname, email, properties and each "
                      "client's displayName and info", {200: (APP_USER_BODY, "OK")}, security=APP_ONLY),
    },
    "/appusers/{appUserId}/events": {
        "post": _op("trackEvent", "Track an event", {201: (_obj({"conversationUpdated": BOOL},
                    ["conversationUpdated"]), "Created")},
                    body=schemas.EVENT),
    },
    "/appusers/{appUserId}/devices/{deviceId}": {
        "put": _op("updateDevice", "Update a device (additive)", {200: (_obj({"device": CLIENT},
                   ["device"]), "OK")}, body=schemas.DEVICE_UPDATE),
    },
    "/appusers/{appUserId}/channels": {
        "get": _op("getChannels", "The user's channel entities",
                   {200: (_obj({"channels": {"type": "array", "items": CHANNEL}}, ["channels"]), "OK")}),
        "post": _op("linkChannel", "Link a channel (twilio + phoneNumber); pending until confirmed "
                    "unless skipConfirmation (app-scope JWT only)", {200: (APP_USER_BODY, "OK"),
                    409: (ERROR, "Already linked")},
                    body=schemas.LINK),
    },
    "/appusers/{appUserId}/integrations/viber/qrcode": {
        "get": _op("getViberQRCode", "The Viber deep link that opens the app's Viber bot linked to this user "
                   "(viber://pa?chatURI=...&context=...; draw it as a QR code); 404 without a Viber integration",
                   {200: (_obj({"url": {"type": "string"}}, ["url"]), "OK")}),
    },
    "/appusers/{appUserId}/integrations/{channel}/ping": {
        "post": _op("pingChannel", "A test message to the user on one channel (a type such as telegram, or an "
                    "integration _id), sent through the delivery engine; 404 when the user has no client there",
                    {200: (MESSAGE_BODY, "Sent")}, security=APP_ONLY),
    },
    "/appusers/{appUserId}/linkrequest": {
        "get": _op("getLinkRequests", "The links and codes that link another channel to this user",
                   {200: (_obj({"linkRequests": {"type": "array", "items": LINK_REQUEST}}, ["linkRequests"]),
                          "OK")},
                   query=[{"name": "integrationIds", "in": "query", "required": True, "schema": STR,
                           "description": "Comma-separated integration _ids of this app (messenger, telegram, "
                           "viber, whatsapp, twilio, line)."}]),
    },
    "/appusers/{appUserId}/transferrequest": {
        "get": _op("transferRequest", "The link requests for every integration of one type (smooch-core 3.x)",
                   {200: (_obj({"transferRequests": {"type": "array", "items": LINK_REQUEST}},
                               ["transferRequests"]), "OK")},
                   query=[{"name": "type", "in": "query", "required": True, "schema": STR,
                           "description": "The channel type, such as messenger."}]),
    },
    "/appusers/{appUserId}/authcode": {
        "get": _op("getAuthCode", "A single-use code (10 minutes) that /v1/init takes as authCode: the device "
                   "joins this user's conversation", {200: (_obj({"authCode": STR}, ["authCode"]), "OK")},
                   security=APP_ONLY),
    },
    "/appusers/{appUserId}/businesssystems": {
        "get": _op("getBusinessSystems", "The business systems the user is known in: none can be connected "
                   "to Parley", {200: (_obj({"businessSystems": {"type": "array", "maxItems": 0}},
                                            ["businessSystems"]), "OK")}),
    },
    "/appusers/{appUserId}/pushToken": {
        "post": _op("updatePushToken", "Store a device's push token (push itself is refused: Parley sends no "
                    "APNs or FCM notifications)", {200: (_obj({"device": CLIENT}, ["device"]), "OK")},
                    body=schemas.PUSH_TOKEN),
    },
    "/appusers/{appUserId}/integrations/wechat/qrcode": {
        "get": _op("getWeChatQRCode", "Refused (501): Parley has no WeChat channel",
                   {501: (ERROR, "Not implemented")}),
    },
    "/appusers/{appUserId}/stripe/customer": {
        "post": _op("updateStripeCustomer", "Refused (501): Parley takes no payments; use a link action",
                    {501: (ERROR, "Not implemented")}),
    },
    "/appusers/{appUserId}/stripe/transaction": {
        "post": _op("createStripeTransaction", "Refused (501): Parley takes no payments; use a link action",
                    {501: (ERROR, "Not implemented")}),
    },
    "/stripe/account": {
        "get": _op("getStripeAccount", "Refused (501): Parley takes no payments; use a link action",
                   {501: (ERROR, "Not implemented")}, security=APP_ONLY),
    },
    "/appusers/{appUserId}/channels/{channel}": {
        "delete": _op("unlinkChannel", "Unlink a channel", {200: (EMPTY, "OK")}),
    },
    "/appusers/{appUserId}/messages": {
        "get": _op("getMessages", "Up to 100 messages, oldest first",
                   {200: (_obj({"conversation": CONVERSATION, "messages": {"type": "array", "items": MESSAGE},
                                "next": URI, "previous": URI}, ["conversation", "messages"]), "OK")},
                   query=[{"name": n, "in": "query", "required": False, "schema": NUM,
                           "description": f"Unix time in seconds: messages strictly {n} it."}
                          for n in ("before", "after")]),
        "post": _op("postMessage", "Post a message (appMaker needs an app-scope JWT)",
                    {201: (MESSAGE_BODY, "Created")}, body=schemas.POSTED_MESSAGE,
                    description="Parley extension: `{\"role\": \"appMaker\", \"type\": \"template\", "
                    "\"templateId\": ...}` sends one of the app's templates (404 when it has no such template)."),
        "delete": _op("deleteMessages", "Delete all messages", {200: (EMPTY, "OK")}, security=APP_ONLY),
    },
    "/appusers/{appUserId}/messages/{messageId}": {
        "delete": _op("deleteMessage", "Delete one message", {200: (EMPTY, "OK")}, security=APP_ONLY),
    },
    "/appusers/{appUserId}/messages/{messageId}/deliveries/{deliveryId}/resend": {
        "post": _op("resendDelivery", "Resend a failed delivery (Parley extension)",
                    {200: (_obj({"delivery": DELIVERY}, ["delivery"]), "Queued again"),
                     409: (ERROR, "The delivery has not failed")}, security=APP_ONLY,
                    description="Parley extension, not in Smooch v1: a delivery that ended `failed` is "
                    "queued again as a new attempt."),
    },
    "/appusers/{appUserId}/conversation": {
        "get": _op("getConversation", "The user's conversation", {200: (CONVERSATION_BODY, "OK")}),
        "patch": _op("updateConversation", "The conversation's inbox status and assignee (Parley extension)",
                     {200: (CONVERSATION_BODY, "OK")}, body=schemas.CONVERSATION_UPDATE, security=APP_ONLY,
                     description="Parley extension, not in Smooch v1: status open, snoozed (with snoozedUntil, "
                     "in the future) or resolved, and assigneeEmail (a member of the app's team, or null). "
                     "A change fires conversation:status or conversation:assigned to the webhooks that name "
                     "those triggers (never through \"*\"). 400 with nothing changed for a bad value or an "
                     "email that is not a member of the app's team."),
    },
    "/appusers/{appUserId}/conversation/postback": {
        "post": _op("postPostback", "The user pressed a postback button of a recent business message (the "
                    "postback webhook fires); 404 when no recent message has that action",
                    {200: (EMPTY, "OK")}, body=schemas.POSTBACK),
    },
    "/appusers/{appUserId}/conversation/read": {
        "post": _op("resetUnreadCount", "The user read the conversation", {200: (EMPTY, "OK")}),
    },
    "/appusers/{appUserId}/conversation/activity": {
        "post": _op("typingActivity", "typing:start / typing:stop from the business (role defaults to "
                    "appMaker)", {200: (CONVERSATION_BODY, "OK")},
                    body=schemas.ACTIVITY, security=APP_ONLY),
    },
    "/appusers/{appUserId}/images": {
        "post": _op("uploadImage", "Upload an image (JPEG, PNG, GIF or WebP by content) and post it",
                    {201: (MESSAGE_BODY, "Created"), 413: (ERROR, "Too large")},
                    multipart=schemas.IMAGE_FORM),
    },
    "/webhooks": {
        "get": _op("listWebhooks", "List webhooks",
                   {200: (_obj({"webhooks": {"type": "array", "items": WEBHOOK}}, ["webhooks"]), "OK")},
                   security=APP_ONLY),
        "post": _op("createWebhook", "Create a webhook", {201: (WEBHOOK_BODY, "Created")}, body=schemas.WEBHOOK,
                    security=APP_ONLY),
    },
    "/webhooks/{webhookId}": {
        "get": _op("getWebhook", "Get a webhook", {200: (WEBHOOK_BODY, "OK")}, security=APP_ONLY),
        "put": _op("updateWebhook", "Update a webhook", {200: (WEBHOOK_BODY, "OK")},
                   body=schemas.WEBHOOK_UPDATE, security=APP_ONLY,
                   description="`enabled` is a Parley extension: true enables a webhook a 410 Gone disabled."),
        "delete": _op("deleteWebhook", "Delete a webhook", {200: (EMPTY, "OK")}, security=APP_ONLY),
    },
    "/webhooks/{webhookId}/events": {
        "get": _op("listWebhookEvents", "The webhook's recorded events with their attempts, newest first "
                   "(Parley extension)",
                   {200: (_obj({"events": {"type": "array", "items": WEBHOOK_EVENT},
                                "hasMore": {**BOOL, "description": "More follow past this page (ask again with "
                                            "offset + limit)."}}, ["events", "hasMore"]), "OK")},
                   security=APP_ONLY, description=PARLEY_WEBHOOKS, query=[
                       {"name": "state", "in": "query", "required": False, "schema": {"enum": EVENT_STATES},
                        "description": "Only events in this state."},
                       {"name": "since", "in": "query", "required": False,
                        "schema": {"type": "number", "minimum": 0, "maximum": schemas.UNIX_TIME_MAX},
                        "description": "Unix time in seconds: only events created at or after it."},
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": EVENTS_PAGE_MAX,
                                   "default": EVENTS_PAGE}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": OFFSET},
                   ]),
    },
    "/webhooks/{webhookId}/events/{eventId}/redeliver": {
        "post": _op("redeliverWebhookEvent", "Send one recorded event again (Parley extension)",
                    {202: (WEBHOOK_EVENT_BODY, "Pending again")}, security=APP_ONLY,
                    description="The event goes back to pending, due at once, with a fresh set of attempts "
                    "(the earlier ones stay recorded) and the same webhook-id. " + PARLEY_WEBHOOKS),
    },
    "/webhooks/{webhookId}/redeliver": {
        "post": _op("redeliverFailedWebhookEvents", "Send again every failed event since a time (Parley "
                    "extension)", {202: (_obj({"count": {**INT, "description": "How many events are pending "
                                                         "again."}}, ["count"]), "Pending again")},
                    body=schemas.WEBHOOK_REDELIVER, security=APP_ONLY,
                    description="For a receiver that was down: every failed event of the webhook created at "
                    "or after `since` goes back to pending, as one re-delivery does. " + PARLEY_WEBHOOKS),
    },
    "/webhooks/{webhookId}/test": {
        "post": _op("sendWebhookTestEvent", "Send a test event (Parley extension)",
                    {202: (WEBHOOK_EVENT_BODY, "Pending")}, security=APP_ONLY,
                    description="A webhook:test event ({trigger, app: {_id}, version, webhook: {_id}, "
                    "timestamp}) to this webhook only, whatever its triggers, sent and recorded like any "
                    "other. " + PARLEY_WEBHOOKS),
    },
    "/webhooks/{webhookId}/rotate": {
        "post": _op("rotateWebhookSecret", "Rotate a secret of the webhook (Parley extension)",
                    {200: (WEBHOOK_BODY, "Rotated")}, body=schemas.WEBHOOK_ROTATE, security=APP_ONLY,
                    description=PARLEY_WEBHOOKS),
    },
    "/integrations": {
        "get": _op("listIntegrations", "List integrations, oldest first",
                   {200: (_obj({"integrations": {"type": "array", "items": INTEGRATION},
                                "hasMore": {**BOOL, "description": "Parley extra: more follow past this page "
                                            "(ask again with offset + limit)."}},
                               ["integrations", "hasMore"]), "OK")},
                   security=APP_ONLY, query=[
                       {"name": "types", "in": "query", "required": False, "schema": TYPES,
                        "description": "Channel types, comma-separated (e.g. telegram,twilio): only "
                        "integrations of these types."},
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT, "default": LIST_LIMIT}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": OFFSET},
                   ]),
        "post": _op("createIntegration", "Connect a channel: the credentials are checked with the platform "
                    "and Parley's inbound URL registered there before anything is stored",
                    {201: (INTEGRATION_BODY, "Created"),
                     501: (ERROR, "Not implemented: types apn, fcm, twitter and messagebird")},
                    body=schemas.INTEGRATION, security=APP_ONLY,
                    description="400 `platform_refused` with the platform's reason when it refuses the "
                    "credentials or the webhook registration. 501 `not_implemented` for the types Parley "
                    "deliberately does not connect (apn, fcm: push to native apps; twitter; messagebird), "
                    "with a description naming the channel to use instead."),
    },
    "/integrations/{integrationId}": {
        "get": _op("getIntegration", "Get an integration", {200: (INTEGRATION_BODY, "OK")}, security=APP_ONLY),
        "put": _op("updateIntegration", "Update an integration (new credentials are checked with the "
                   "platform first)", {200: (INTEGRATION_BODY, "OK")}, body=schemas.INTEGRATION_UPDATE,
                   security=APP_ONLY),
        "delete": _op("deleteIntegration", "Delete an integration (its inbound URL is unregistered with the "
                      "platform)", {200: (EMPTY, "Deleted")}, security=APP_ONLY),
    },
    "/integrations/{integrationId}/messageTemplates": {
        "get": _op("listMessageTemplates", "The WhatsApp Business Account's message templates, a page at a time",
                   {200: (_obj({"messageTemplates": {"type": "array", "items": WA_TEMPLATE},
                                "after": {**STR, "description": "The next page's cursor, when there is one."}},
                               ["messageTemplates"]), "OK"), 502: PLATFORM_DOWN},
                   security=APP_ONLY, description=WA_NOTE, query=[
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": wa_business.PAGE_MAX,
                                   "default": wa_business.PAGE_DEFAULT}},
                       {"name": "after", "in": "query", "required": False, "schema": STR},
                   ]),
        "post": _op("createMessageTemplate", "Submit a message template for Meta's review",
                    {201: (_obj({"messageTemplate": WA_TEMPLATE}, ["messageTemplate"]), "Created"),
                     502: PLATFORM_DOWN},
                    body=schemas.WA_TEMPLATE_CREATE, security=APP_ONLY, description=WA_NOTE),
    },
    "/integrations/{integrationId}/messageTemplates/{templateName}": {
        "delete": _op("deleteMessageTemplate", "Delete a message template (every language of that name)",
                      {200: (EMPTY, "Deleted"), 502: PLATFORM_DOWN}, security=APP_ONLY, description=WA_NOTE),
    },
    "/integrations/{integrationId}/profile": {
        "get": _op("getIntegrationProfile", "The WhatsApp business profile of the integration's number",
                   {200: (_obj({"profile": WA_PROFILE}, ["profile"]), "OK"), 502: PLATFORM_DOWN},
                   security=APP_ONLY, description=WA_NOTE),
        "put": _op("updateIntegrationProfile", "Change fields of the WhatsApp business profile",
                   {200: (EMPTY, "Updated"), 502: PLATFORM_DOWN}, body=schemas.WA_PROFILE_UPDATE,
                   security=APP_ONLY, description=WA_NOTE),
    },
    "/integrations/{integrationId}/profile/photo": {
        "put": _op("updateIntegrationProfilePhoto", "Upload the business profile's photo (JPEG or PNG by content)",
                   {200: (EMPTY, "Updated"), 413: (ERROR, "Too large"), 502: PLATFORM_DOWN},
                   multipart=ATTACHMENT_FORM, security=APP_ONLY, description=WA_NOTE),
    },
    "/attachments": {
        "post": _op("uploadAttachment", "Upload a file to use in messages: an image, a PDF, an Office file, "
                    "MP4, MP3 or Ogg (checked by content)",
                    {201: (ATTACHMENT_BODY, "Created"), 413: (ERROR, "Too large")},
                    multipart=ATTACHMENT_FORM, security=APP_ONLY, query=ATTACHMENT_QUERY,
                    description="404 when the user named is not the app's."),
    },
    "/attachments/remove": {
        "post": _op("removeAttachment", "Delete a file the app uploaded: its URL answers 404 from then on",
                    {200: (EMPTY, "Deleted")}, body=schemas.ATTACHMENT_REMOVE, security=APP_ONLY,
                    description="404 when the URL is not one of the app's files."),
    },
    "/menu": {
        "get": _op("getMenu", "Get the app's persistent menu", {200: (MENU_BODY, "OK")}, security=APP_ONLY),
        "put": _op("updateMenu", "Set the app's persistent menu (1 to 5 link or postback items)",
                   {200: (MENU_BODY, "OK")}, body=schemas.MENU, security=APP_ONLY, description=MENU_PUSH),
        "delete": _op("deleteMenu", "Remove the app's persistent menu", {200: (MENU_BODY, "Removed")},
                      security=APP_ONLY, description=MENU_PUSH),
    },
    "/integrations/{integrationId}/menu": {
        "get": _op("getIntegrationMenu", "Get the integration's own menu (it overrides the app's there)",
                   {200: (MENU_BODY, "OK")}, security=APP_ONLY),
        "post": _op("createIntegrationMenu", "Give the integration a menu of its own",
                    {201: (MENU_BODY, "Created"), 409: (ERROR, "The integration has a menu (PUT replaces it)")},
                    body=schemas.MENU, security=APP_ONLY, description=MENU_PUSH),
        "put": _op("updateIntegrationMenu", "Replace the integration's own menu (created when it has none)",
                   {200: (MENU_BODY, "OK")}, body=schemas.MENU, security=APP_ONLY, description=MENU_PUSH),
        "delete": _op("deleteIntegrationMenu", "Remove the integration's own menu: it shows the app's again",
                      {200: (MENU_BODY, "Removed")}, security=APP_ONLY, description=MENU_PUSH),
    },
    "/templates": {
        "get": _op("listTemplates", "List the app's message templates, by name",
                   {200: (_obj({"templates": {"type": "array", "items": TEMPLATE},
                                "hasMore": {**BOOL, "description": "More follow past this page."}},
                               ["templates", "hasMore"]), "OK")},
                   security=APP_ONLY, query=[
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": TEMPLATES_LIMIT,
                                   "default": TEMPLATES_LIMIT}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": OFFSET},
                   ]),
        "post": _op("createTemplate", "Create a message template (the dashboard's canned replies are these)",
                    {201: (TEMPLATE_BODY, "Created"), 409: (ERROR, "The app has a template of that name")},
                    body=schemas.TEMPLATE_CREATE, security=APP_ONLY,
                    description="The message is checked as POST /appusers/{appUserId}/messages checks a "
                    "body from the business; 409 when the app has a template of that name."),
    },
    "/templates/{templateId}": {
        "get": _op("getTemplate", "Get a message template", {200: (TEMPLATE_BODY, "OK")}, security=APP_ONLY),
        "put": _op("updateTemplate", "Change a template's name, message or both",
                   {200: (TEMPLATE_BODY, "OK"), 409: (ERROR, "The app has a template of that name")},
                   body=schemas.TEMPLATE_UPDATE, security=APP_ONLY),
        "delete": _op("deleteTemplate", "Delete a message template", {200: (EMPTY, "Deleted")},
                      security=APP_ONLY),
    },
    "/notifications": {
        "post": _op("postNotification", "Start a conversation by SMS with a phone number that never wrote in",
                    {201: (_obj({"notification": _obj({"_id": {**STR, "description": "The message's _id, as "
                                 "webhooks name it."}}, ["_id"])}, ["notification"]), "Created")},
                    body=schemas.NOTIFICATION, security=APP_ONLY,
                    description="The app user whose client on the integration has that phone number gets "
                    "the message; when there is none, the user and the client are created. 404 when the "
                    "integration is not one of the app's; 400 when it does not take phone numbers or the "
                    "message is not valid (then nothing is stored)."),
    },
}

APP_OBJECT = _obj(
    {
        "_id": STR,
        "appToken": {**STR, "description": "What the Web Messenger and the SDKs start with."},
        "name": STR,
        "settings": _obj({
            "requireUserJwt": BOOL,
            "allowedOrigins": {"type": "array", "items": STR},
            "logRetentionDays": INT,
        }, ["requireUserJwt", "allowedOrigins", "logRetentionDays"],
            description="Parley's app settings (not Smooch's: see the request body)."),
        "metadata": FLAT,
    },
    ["_id", "appToken", "name", "settings", "metadata"],
)
APP_BODY = _obj({"app": APP_OBJECT}, ["app"])
KEY = _obj({"_id": STR, "name": STR,
            "secret": {**STR, "description": "Only in the answer to POST .../keys: Parley shows a secret once."}},
           ["_id", "name"])
KEY_BODY = _obj({"key": KEY}, ["key"])
ACCOUNT = ("jwt",)
ACCOUNT_NOTE = "An account-scope JWT of the app's team (an app-scope JWT is refused with 403)."
SERVICE_ACCOUNT = _obj({"_id": STR, "name": STR}, ["_id", "name"],
                      description="A named API identity of the team; its keys are account-scope keys.")
SERVICE_ACCOUNT_BODY = _obj({"serviceAccount": SERVICE_ACCOUNT}, ["serviceAccount"])
SERVICE_ACCOUNT_NOTE = ("An account-scope JWT of the team (an app-scope JWT is refused with 403); another "
                        "team's service account or key is a 404.")

# The team's own routes (account scope), relative to /v1.
DEPLOYMENTS_REFUSED = {501: (ERROR, "Not implemented: connect the WhatsApp Cloud API as a whatsapp integration")}

ACCOUNT_PATHS = {
    "/whatsapp/deployments": {
        "get": _op("listDeployments", "Refused (501)", DEPLOYMENTS_REFUSED, security=ACCOUNT),
        "post": _op("createDeployment", "Refused (501)", DEPLOYMENTS_REFUSED, security=ACCOUNT),
    },
    "/whatsapp/deployments/{deploymentId}": {
        "get": _op("getDeployment", "Refused (501)", DEPLOYMENTS_REFUSED, security=ACCOUNT),
        "delete": _op("deleteDeployment", "Refused (501)", DEPLOYMENTS_REFUSED, security=ACCOUNT),
    },
    "/whatsapp/deployments/{deploymentId}/activate": {
        "post": _op("activateDeployment", "Refused (501)", DEPLOYMENTS_REFUSED, security=ACCOUNT),
    },
    "/whatsapp/deployments/{deploymentId}/code/confirm": {
        "post": _op("confirmDeploymentCode", "Refused (501)", DEPLOYMENTS_REFUSED, security=ACCOUNT),
    },
    "/apps": {
        "get": _op("listApps", "The team's apps, oldest first",
                   {200: (_obj({"apps": {"type": "array", "items": APP_OBJECT}, "hasMore": BOOL, "offset": INT},
                               ["apps", "hasMore", "offset"]), "OK")},
                   security=ACCOUNT, description=ACCOUNT_NOTE + " `serviceAccountId` lists the apps that "
                   "service account's keys reach: account-scope keys reach every app of the team, so all of "
                   "them; another team's account, or none, is a 404.", query=[
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": APPS_PAGE_MAX, "default": APPS_PAGE}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": OFFSET},
                       {"name": "serviceAccountId", "in": "query", "required": False, "schema": STR},
                   ]),
        "post": _op("createApp", "Create an app (requireUserJwt on unless settings say otherwise)",
                    {201: (APP_BODY, "Created")}, body=schemas.APP_CREATE, security=ACCOUNT,
                    description=ACCOUNT_NOTE),
    },
    "/apps/{appId}": {
        "get": _op("getApp", "Get an app", {200: (APP_BODY, "OK")}, security=ACCOUNT, description=ACCOUNT_NOTE),
        "put": _op("updateApp", "Update an app's name, settings or metadata", {200: (APP_BODY, "OK")},
                   body=schemas.APP_UPDATE, security=ACCOUNT, description=ACCOUNT_NOTE),
        "delete": _op("deleteApp", "Delete an app and everything it owns (keys, users, messages...)",
                      {200: (EMPTY, "Deleted")}, security=ACCOUNT, description=ACCOUNT_NOTE),
    },
    "/apps/{appId}/sdks": {
        "get": _op("getSdkIds", "What each SDK starts with: the app token (Parley has no per-SDK integrations)",
                   {200: (_obj({p: STR for p in ("android", "ios", "web")}, ["android", "ios", "web"]), "OK")},
                   security=ACCOUNT, description=ACCOUNT_NOTE),
    },
    "/apps/{appId}/keys": {
        "get": _op("listAppKeys", "The app's active app-scope keys, oldest first (no secrets)",
                   {200: (_obj({"keys": {"type": "array", "items": KEY}}, ["keys"]), "OK")}, security=ACCOUNT,
                   description=ACCOUNT_NOTE),
        "post": _op("createAppKey", "Create an app-scope key; its secret is in this answer only",
                    {201: (KEY_BODY, "Created")}, body=schemas.KEY_CREATE, security=ACCOUNT,
                    description=ACCOUNT_NOTE),
    },
    "/apps/{appId}/keys/{keyId}": {
        "get": _op("getAppKey", "Get an app-scope key (no secret)", {200: (KEY_BODY, "OK")}, security=ACCOUNT,
                   description=ACCOUNT_NOTE),
        "delete": _op("deleteAppKey", "Revoke a key: JWTs it signed are refused from then on",
                      {200: (EMPTY, "Revoked")}, security=ACCOUNT, description=ACCOUNT_NOTE),
    },
    "/apps/{appId}/keys/{keyId}/jwt": {
        "get": _op("getAppJwt", "An app-scope JWT signed with the key (HS256, kid = the key id, no expiry)",
                   {200: (_obj({"jwt": STR}, ["jwt"]), "OK")}, security=ACCOUNT, description=ACCOUNT_NOTE),
    },
    "/serviceaccounts": {
        "get": _op("listServiceAccounts", "The team's service accounts, oldest first",
                   {200: (_obj({"serviceAccounts": {"type": "array", "items": SERVICE_ACCOUNT},
                                "hasMore": BOOL, "offset": INT}, ["serviceAccounts", "hasMore", "offset"]), "OK")},
                   security=ACCOUNT, description=SERVICE_ACCOUNT_NOTE, query=[
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": SERVICE_ACCOUNTS_PAGE_MAX,
                                   "default": SERVICE_ACCOUNTS_PAGE}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": OFFSET},
                   ]),
        "post": _op("createServiceAccount", "Create a service account", {201: (SERVICE_ACCOUNT_BODY, "Created")},
                    body=schemas.SERVICE_ACCOUNT, security=ACCOUNT, description=SERVICE_ACCOUNT_NOTE),
    },
    "/serviceaccounts/{serviceAccountId}": {
        "get": _op("getServiceAccount", "Get a service account", {200: (SERVICE_ACCOUNT_BODY, "OK")},
                   security=ACCOUNT, description=SERVICE_ACCOUNT_NOTE),
        "put": _op("updateServiceAccount", "Rename a service account", {200: (SERVICE_ACCOUNT_BODY, "OK")},
                   body=schemas.SERVICE_ACCOUNT, security=ACCOUNT, description=SERVICE_ACCOUNT_NOTE),
        "delete": _op("deleteServiceAccount", "Delete a service account and revoke its keys",
                      {200: (EMPTY, "Deleted")}, security=ACCOUNT, description=SERVICE_ACCOUNT_NOTE),
    },
    "/serviceaccounts/{serviceAccountId}/keys": {
        "get": _op("listServiceAccountKeys", "The account's active keys, oldest first (no secrets)",
                   {200: (_obj({"keys": {"type": "array", "items": KEY}}, ["keys"]), "OK")}, security=ACCOUNT,
                   description=SERVICE_ACCOUNT_NOTE),
        "post": _op("createServiceAccountKey", "Create an account-scope key; its secret is in this answer only",
                    {201: (KEY_BODY, "Created")}, body=schemas.KEY_CREATE, security=ACCOUNT,
                    description=SERVICE_ACCOUNT_NOTE),
    },
    "/serviceaccounts/{serviceAccountId}/keys/{keyId}": {
        "get": _op("getServiceAccountKey", "Get a key (no secret)", {200: (KEY_BODY, "OK")}, security=ACCOUNT,
                   description=SERVICE_ACCOUNT_NOTE),
        "delete": _op("deleteServiceAccountKey", "Revoke a key: JWTs it signed are refused from then on",
                      {200: (EMPTY, "Revoked")}, security=ACCOUNT, description=SERVICE_ACCOUNT_NOTE),
    },
    "/serviceaccounts/{serviceAccountId}/keys/{keyId}/jwt": {
        "get": _op("getServiceAccountJwt", "An account-scope JWT signed with the key (HS256, kid = the key id, "
                   "no expiry)", {200: (_obj({"jwt": STR}, ["jwt"]), "OK")}, security=ACCOUNT,
                   description=SERVICE_ACCOUNT_NOTE),
    },
}

TOP_PATHS = {
    "/init": {
        "post": _op("init", "An SDK starts on a device", {200: (_obj({"app": INIT_APP, "appUser": APP_USER},
                    ["app", "appUser"]), "OK")},
                    body=schemas.INIT,
                    description="403 when app.settings.allowedOrigins is set and the Origin is not in it."),
    },
    "/ping": {
        "get": _op("ping", "Liveness: a trivial JSON view", {200: (_obj({"ok": BOOL}, ["ok"]), "OK")},
                   security=()),
    },
    "/openapi.json": {
        "get": _op("openapi", "This document", {200: ({"type": "object"}, "OK")}, security=()),
    },
}


def _path_params(path: str) -> list[dict]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": n, "in": "path", "required": True, "schema": STR} for n in names]


def document() -> dict:
    paths = {}
    for prefix, table in (("/v1", TOP_PATHS), ("/v1", ACCOUNT_PATHS), ("/v1", APP_PATHS), ("/v1/apps/{appId}", APP_PATHS)):
        for path, ops in table.items():
            full = prefix + path
            item = copy.deepcopy(ops)
            params = _path_params(full)
            if params:
                item["parameters"] = params
            if prefix != "/v1":
                for op in item.values():
                    if isinstance(op, dict) and "operationId" in op:
                        op["operationId"] += "ForApp"
                        op["security"] = [{"jwt": []}]
            paths[full] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley REST API",
            "version": "1",
            "description": (
                "Wire-compatible with the Smooch v1 REST API. Every path also answers under /v1.1/. "
                "App-scope JWTs and app tokens use /v1/...; account-scope JWTs address an app of "
                "their team at /v1/apps/{appId}/..., the team's apps and their keys at /v1/apps..., and its service accounts at /v1/serviceaccounts.... Errors are {\"error\": {\"code\", \"description\"}}. "
                "Keys without a value are left out, never null. In a request body, a null value counts "
                "as absent (unless the field says null clears it), and so does an empty string where a URL "
                "or an email is expected. Request schemas carry `x-errors`: the error description "
                "given when a keyword fails. Author avatars default to Gravatar "
                "with d=mp. Parley extensions: the resend endpoint, /v1/ping, the widget keys of "
                "init's app, an integration's inboundUrl, error, errorAt and lastInboundAt, the "
                "integrations list's hasMore, a webhook's signingSecret, enabled, disabledReason and "
                "failingSince (PUT takes enabled), and its events, redeliver, test and rotate calls; "
                "PATCH .../conversation and the conversation's status, snoozedUntil and assigneeEmail "
                "(the team's inbox), with the opt-in webhook triggers conversation:status and "
                "conversation:assigned."
            ),
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "HS256, header kid = key id, claim scope app|appUser|account "
                        "(appUser needs userId)."},
                "appToken": {"type": "apiKey", "in": "header", "name": "app-token"},
            },
        },
        "paths": paths,
    }
