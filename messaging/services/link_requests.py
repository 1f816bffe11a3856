"""Link requests: the links and codes an app user opens (or sends) to link
another channel to their conversation (smooch-core 8.x
`appUsers.getLinkRequests`, 3.x `appUsers.transferRequest`).

Each carries a `code`, `integrations.base.link_ref`: signed for one
integration, naming the app user. It comes back where the platform
carries it:
- Messenger: `https://m.me/<pageId>?ref=<code>`, the referral's `ref`;
- Telegram: `https://t.me/<bot>?start=<code>`, the `/start <code>` message;
- Viber: `viber://pa?chatURI=<uri>&context=<code>`, conversation_started;
- WhatsApp, SMS (Twilio) and LINE: a chat opened with the code as its
  text (`https://wa.me/<number>?text=`, `sms:<number>?body=`, LINE's
  `oaMessage`), the code being the user's first message.
The channel's parse (deep links) or `services/inbound` (typed codes)
verifies it, and the platform account becomes a new client of that app
user (`link:confirmed`). A platform account Parley knows already stays
with its own user. Web, email and SDK channels have no link request: the
widget logs in with a userId, email confirms by its signed link.
"""

from urllib.parse import quote, urlencode

from messaging.integrations import base, viber
from messaging.models import Integration
from messaging.services.errors import NotFound, ServiceError

LINKABLE = ("messenger", "telegram", "viber", "whatsapp", "twilio", "line")


def link_requests(app_user, integration_ids: list[str]) -> list[dict]:
    """One link request per integration id, in the order given: each an
    integration of the user's app (NotFound otherwise, and for another app's)
    of a linkable type (ServiceError otherwise)."""
    if not integration_ids:
        raise ServiceError("integrationIds is required: the ids of the integrations to link, comma-separated.")
    rows = {row.id: row for row in Integration.objects.filter(app_id=app_user.app_id, id__in=integration_ids)}
    missing = [i for i in integration_ids if i not in rows]
    if missing:
        raise NotFound(f"Integration {missing[0]} not found.")
    return [link_request(app_user, rows[i]) for i in dict.fromkeys(integration_ids)]


def transfer_requests(app_user, type_: str) -> list[dict]:
    """The link requests for every integration of `type_` of the user's app
    (smooch-core 3.x `transferRequest`, the older name of a link request)."""
    if not type_:
        raise ServiceError("type is required: the channel to link, such as messenger.")
    if type_ not in LINKABLE:
        raise ServiceError(f"A {type_} channel cannot be linked by a link request; "
                           f"these can: {', '.join(LINKABLE)}.")
    rows = Integration.objects.filter(app_id=app_user.app_id, type=type_).order_by("created_at", "id")
    requests = [link_request(app_user, row) for row in rows]
    if not requests:
        raise NotFound(f"No {type_} integration is configured for this app.")
    return requests


def link_request(app_user, integration: Integration) -> dict:
    """`{integrationId, type, code, url}` for one integration (no `url`
    when the integration does not know the address to open yet)."""
    if integration.type not in LINKABLE:
        raise ServiceError(f"A {integration.type} integration cannot be linked by a link request; "
                           f"these can: {', '.join(LINKABLE)}.")
    code = base.link_ref(integration, app_user.id)
    result = {"integrationId": integration.id, "type": integration.type, "code": code}
    url = _url(integration, code)
    if url:
        result["url"] = url
    return result


def _url(integration: Integration, code: str) -> str:
    details = integration.details or {}
    kind = integration.type
    if kind == "messenger" and details.get("pageId"):
        return f"https://m.me/{quote(str(details['pageId']))}?" + urlencode({"ref": code})
    if kind == "telegram" and details.get("username"):
        return f"https://t.me/{quote(str(details['username']))}?" + urlencode({"start": code})
    if kind == "viber" and details.get("uri"):
        return viber.deep_link(integration, code)
    digits = "".join(ch for ch in str(details.get("phoneNumber") or "") if ch.isdigit())
    if kind == "whatsapp" and digits:
        return f"https://wa.me/{digits}?" + urlencode({"text": code})
    if kind == "twilio" and digits:
        return f"sms:+{digits}?" + urlencode({"body": code})
    if kind == "line" and details.get("basicId"):
        return f"https://line.me/R/oaMessage/{quote(str(details['basicId']), safe='')}/?{quote(code)}"
    return ""
