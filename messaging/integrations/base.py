"""The one small interface every channel implements, and what channels share.

An integration knows what its platform can do (`capabilities`, from
reference/channel-capabilities.md) and how much a message may hold
(`limits`); it checks its credentials and registers Parley's inbound URL with
the platform (`check`, `register_webhook`, `unregister_webhook`), sends one
delivery (native or text fallback) and typing, and turns an inbound platform
webhook into normalised events in two steps:

- `verify(request)`, in the web request: the platform's signature or secret,
  then the body split into `RawEvent`s, each with the platform's own id (the
  duplicate key). Nothing is stored when it raises `InboundRefused`.
- `parse(payload)`, in the worker, once per stored event: the payload as
  `InboundEvent`s (it may call the platform: a file fetch, a callback answer).

It only talks to its platform: rows, state changes and events belong to the
engine (messaging.services.inbound, messaging.delivery, messaging.events).
"""

import base64
import logging
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

from messaging import jsonbody, outbound
from messaging.models import Client

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 10  # seconds, on every platform call
# A media file a platform holds is fetched up to this size (Twilio MMS 5 MB,
# Telegram bots may download 20 MB; uploads to Parley stop at the same limit).
MEDIA_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Capabilities:
    # Message types sent natively; the others go as a text fallback when
    # `text_fallback` holds them, and are refused otherwise.
    native: frozenset = frozenset({"text", "image"})
    text_fallback: frozenset = frozenset({"carousel", "list", "location"})
    typing: bool = False
    read_receipts: bool = False
    # The platform notifies the user (push, SMS, email) when a message arrives.
    push: bool = False
    # A message can be delivered without notifying (web widget, Messenger NO_PUSH).
    silent: bool = False
    # `reply` actions go out as numbered options; a user who answers with a
    # number gets that reply's payload (SMS).
    numbered_replies: bool = False


@dataclass(frozen=True)
class Limits:
    """What one message may hold on the platform (0: no such thing there)."""

    text: int = 0  # characters of one text message
    actions: int = 0  # buttons on one message
    items: int = 0  # carousel / list items
    action_text: int = 0  # characters of a button's label
    payload_bytes: int = 0  # bytes of a postback payload the platform carries back


@dataclass(frozen=True)
class Field:
    """One property of an integration as the official clients send it
    (`token`, `accountSid`, ...). Secret ones are stored encrypted with the
    credentials and never shown back in full; the others are returned by the
    API."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""
    # The only values it takes, when it is a choice (the first is the default
    # when it is left out).
    choices: tuple[str, ...] = ()
    # Text for people (a sender's name), not an id, token or address.
    free_text: bool = False


@dataclass
class Connected:
    """What `check` learnt from the platform: a display name and the public,
    non-secret details the API returns (a bot's username, a phone number)."""

    display_name: str
    details: dict = field(default_factory=dict)


class PlatformError(Exception):
    """A platform refused or could not take a call. `permanent` errors
    (4xx: bad recipient, blocked bot...) fail the delivery at once; the others
    (timeouts, 5xx, 429) are retried with backoff, no earlier than
    `retry_after` seconds when the platform said so.

    Codes the engine acts on: `blocked` and `opted_out` mark the client
    unreachable (nothing is sent there until the user comes back);
    `bad_credentials` puts the integration in error."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None,
                 status: int | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.code = code or ("platform_error" if permanent else "platform_unavailable")

    def as_json(self) -> dict:
        data = {"code": self.code, "message": self.message, "permanent": self.permanent}
        if self.status is not None:
            data["status"] = self.status
        return data


UNREACHABLE_CODES = ("blocked", "opted_out")


class InboundRefused(Exception):
    """An inbound webhook not taken: unsigned, wrongly signed or malformed.
    `status` is what the platform expects for it (403 for a bad signature,
    400 for a body that is not the platform's)."""

    def __init__(self, message: str, *, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class RawEvent:
    """One platform event as received: `key` is the platform's own id for it
    (Telegram update_id, Twilio MessageSid[:status]), unique per integration,
    so a repeated delivery of the same event is recognised and ignored."""

    key: str
    payload: dict


@dataclass
class Media:
    """A file the platform holds, fetched by `parse` (stored by the engine)."""

    content: bytes
    content_type: str
    filename: str = ""


# Link refs: what a deep link or a typed code carries back from the user's
# platform account to name the app user it links to (Viber's QR context,
# Telegram's /start payload, Messenger's m.me ref, a code texted over SMS,
# WhatsApp or LINE). Signed with SECRET_KEY for one integration, so nobody
# can make one for another user or another channel. Compact and in Telegram's
# start-parameter alphabet ([A-Za-z0-9_-], at most 64 characters): the app
# user's `_id`, the time it was made (base 36) and a truncated HMAC-SHA256.
LINK_SALT = "parley.link-ref"
LINK_MAX_AGE = 30 * 24 * 3600  # a link (or a QR code of one) links for 30 days
_LINK_REF = re.compile(r"^([0-9a-f]{1,32})-([0-9a-z]{1,8})-([A-Za-z0-9_-]{16})$")


def _link_signature(integration_id: str, app_user_id: str, made: str) -> str:
    digest = salted_hmac(LINK_SALT, f"{integration_id}:{app_user_id}:{made}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def link_ref(integration, app_user_id: str) -> str:
    """The ref that names `app_user_id` on this integration (see above)."""
    made = int_to_base36(int(time.time()))
    return f"{app_user_id}-{made}-{_link_signature(integration.id, app_user_id, made)}"


def linked_app_user(integration, ref: str) -> str:
    """The app user `_id` a ref from `link_ref` names ("" when it is not one
    of ours, was made for another integration, or is too old)."""
    found = _LINK_REF.match(ref.strip()) if isinstance(ref, str) else None
    if found is None:
        return ""
    app_user_id, made, signature = found.groups()
    if not constant_time_compare(signature, _link_signature(integration.id, app_user_id, made)):
        return ""
    if time.time() - base36_to_int(made) > LINK_MAX_AGE:
        return ""
    return app_user_id


@dataclass
class InboundEvent:
    """One normalised event parsed from a platform webhook.

    kind and data:
    - "message": text, media (Media), coordinates {"lat", "long"},
      platformMessageId, the user's names where the platform gives them
      (displayName, givenName, surname), and for a reply the platform says
      was picked (Messenger's quick replies, WhatsApp's reply buttons) its
      `payload`, or its action's `_id` as `actionId`;
    - "postback": payload, text (the button's label), names as above;
    - "start": the user opened the conversation (Telegram /start), names,
      the deep link's `payload`, or `appUserId` when the channel verified
      that the link names an app user of the integration's app (a `link_ref`
      in Viber's QR code context, Telegram's /start payload or Messenger's
      m.me ref): the user's client joins that app user;
    - "delivery": platformMessageId, state ("sent", "delivered", "read",
      "failed"), error {"code", "message"} when failed; or, instead of
      platformMessageId, a `watermark` (an aware datetime): every message
      sent to the user up to then was delivered (Messenger);
    - "read": platformMessageId, or a `watermark` as above (everything sent
      up to then was read), or neither: the conversation was read;
    - "opt_out" / "opt_in": the user stopped or restarted messages (SMS STOP/START);
    - "inactive": the user left the channel (LINE unfollow): the client is
      no longer targeted until the user's next event.
    Any user event may carry `inboundRef`, what a reply to it needs (LINE's
    replyToken): kept as the client's last_inbound_ref instead of
    platformMessageId.
    """

    kind: str
    external_id: str  # the platform's id for the user (chat id, phone number...)
    data: dict = field(default_factory=dict)


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def http_call(method: str, url: str, *, timeout: float = HTTP_TIMEOUT, explain=None,
              **kwargs) -> requests.Response:
    """One call to a platform (`url` under its PARLEY_<TYPE>_API_BASE) through
    messaging.outbound, failures classified as PlatformError: network errors,
    timeouts, 5xx and 429 are transient; other 4xx and a target the
    allow-list refuses are permanent. `explain(response)` may turn a 4xx
    (429 included: a platform may say in its body when to retry) into the
    platform's own reason, code and retry time (a blocked bot, bad
    credentials); it returns None to keep the default. A base URL is the
    operator's own setting, so it may be on loopback (a fake platform in
    tests): only PARLEY_OUTBOUND_ALLOW applies, not the private-address
    rule."""
    try:
        response = outbound.request(method, url, timeout=timeout, allow_private=True, **kwargs)
    except outbound.Unresolvable as error:
        raise PlatformError(f"could not reach the platform: {error}", permanent=False, code="unreachable")
    except outbound.Refused as refused:
        raise PlatformError(f"refused: {refused}", permanent=True, code="refused")
    except requests.Timeout:
        raise PlatformError(f"timed out after {timeout}s", permanent=False, code="timeout")
    except requests.RequestException as error:
        raise PlatformError(f"could not reach the platform: {type(error).__name__}", permanent=False,
                            code="unreachable")
    if 400 <= response.status_code < 500 and explain is not None:
        explained = explain(response)
        if explained is not None:
            explained.status = explained.status or response.status_code
            raise explained
    if response.status_code == 429:
        raise PlatformError("rate limited (429)", permanent=False, retry_after=_retry_after(response),
                            status=429, code="rate_limited")
    if response.status_code >= 500:
        raise PlatformError(f"platform error {response.status_code}", permanent=False,
                            retry_after=_retry_after(response), status=response.status_code)
    if response.status_code >= 400:
        code = "bad_credentials" if response.status_code == 401 else "rejected"
        raise PlatformError(f"the platform refused the call ({response.status_code}): {response.text[:300]}",
                            permanent=True, status=response.status_code, code=code)
    return response


def response_object(response) -> dict:
    """A platform's answer as the JSON object it should be; {} when the
    body is empty, not JSON or not an object (each caller decides whether
    that is a fault)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def http_post(url: str, **kwargs) -> requests.Response:
    return http_call("POST", url, **kwargs)


MEDIA_REDIRECTS = 3


def fetch_media(url: str, *, max_bytes: int = MEDIA_MAX_BYTES, **kwargs) -> Media:
    """Download a file the platform holds (through the outbound helper, at
    most `max_bytes`). A redirect (Twilio's media URLs answer 307 to a signed
    storage URL) is followed, up to MEDIA_REDIRECTS, each target checked by
    the outbound helper like any call; the credentials in `auth` and
    `headers` go to `url` only, never to where it redirects (a signed URL
    carries its own, and S3 refuses a request with two)."""
    response = http_call("GET", url, stream=True, **kwargs)
    for _ in range(MEDIA_REDIRECTS):
        if not response.is_redirect:
            break
        url = urljoin(url, response.headers["Location"])
        response.close()
        kwargs.pop("auth", None)
        kwargs.pop("headers", None)
        response = http_call("GET", url, stream=True, **kwargs)
    if response.is_redirect:
        response.close()
        raise PlatformError(f"the platform's file redirected more than {MEDIA_REDIRECTS} times", permanent=True,
                            code="media_unavailable")
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            response.close()
            raise PlatformError(f"the platform's file is over {max_bytes} bytes", permanent=True,
                                code="media_too_large")
        chunks.append(chunk)
    content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
    return Media(content=b"".join(chunks), content_type=content_type)


def json_body(request) -> dict:
    """An inbound webhook's JSON object, through the one body decoder
    (messaging.jsonbody); InboundRefused (400) when it is not one."""
    try:
        data = jsonbody.decode(request.body, subject="The webhook body")
    except jsonbody.BodyError as error:
        raise InboundRefused(error.description, status=400)
    if not isinstance(data, dict):
        raise InboundRefused("The webhook body must be a JSON object.", status=400)
    return data


def form_body(request) -> dict:
    """An inbound form-encoded webhook (Twilio) as a dict of strings, every
    value checked as jsonbody checks JSON strings; InboundRefused (400)."""
    if len(request.body) > settings.PARLEY_MAX_JSON_BODY_BYTES:
        raise InboundRefused("The webhook body is too large.", status=413)
    data = {}
    for key, value in request.POST.items():
        fault = jsonbody.bad_string(key) or jsonbody.bad_string(value)
        if fault:
            raise InboundRefused(f"The webhook field {key[:40]!r} contains {fault}.", status=400)
        data[key] = value
    return data


def api_base(type_: str) -> str:
    """PARLEY_<TYPE>_API_BASE, without a trailing slash."""
    return getattr(settings, f"PARLEY_{type_.upper()}_API_BASE").rstrip("/")


class Integration:
    """Base class: one subclass per channel type."""

    type: str = ""
    label: str = ""
    capabilities: Capabilities = Capabilities()
    limits: Limits = Limits()
    # The properties the integrations API and the dashboard take (empty: the
    # channel is not connected through the integrations API).
    fields: tuple[Field, ...] = ()
    # Parley itself is the platform (the web widget): send() makes no call
    # and cannot fail, so the engine records such a delivery as sent in the
    # transaction that stores the message instead of queueing it for the
    # worker.
    sends_in_process: bool = False
    # How long the platform shows one typing call (Telegram: 5 s); the engine
    # repeats the call while typing lasts. 0: shown until stopped.
    typing_lasts: float = 0
    # What the inbound endpoint answers a verified webhook with.
    ack_body: bytes = b""
    ack_content_type: str = "text/plain"
    # The platform can show the user that the business read their messages
    # (`send_read`, called when a member reads the conversation).
    marks_read: bool = False
    # The platform confirms the inbound URL with a GET carrying a token that
    # the business pastes in the platform's settings (Meta's
    # hub.verify_token): `handshake` answers it, and the dashboard shows
    # the token (the integration's webhook_secret) beside the URL.
    verifies_url: bool = False
    # What the business sets up in the platform's own console (shown under
    # the inbound URL when `verifies_url`).
    setup_hint: str = ""
    # The platform vouches for the user's id (a PSID, a chat id, a phone
    # number the carrier delivered from). False for email, whose From can be
    # forged: the engine then joins a conversation by the `replyToken` the
    # event carries, and by the sender's id only where that conversation
    # was itself opened by an unproven id (messaging.services.inbound).
    sender_verified: bool = True
    # The sender proves itself with the integration's webhook_secret (an
    # email forwarder): the dashboard shows the secret under this label,
    # with `setup_hint`, beside the inbound URL.
    secret_label: str = ""
    # The platform has a menu of its own (Messenger's persistent menu,
    # Telegram's bot commands): `push_menu` sets it when the menu changes.
    shows_menu: bool = False

    def __init__(self, integration=None):
        # The app's Integration row (credentials, details, webhook secret).
        self.integration = integration

    def knows_user(self, external_id: str) -> bool:
        """Whether Parley already has a client for this platform user on
        this integration: a channel whose webhook names no one (Messenger,
        LINE) asks the platform's profile API only for a user it does not
        know yet, whose names the engine then stores."""
        return Client.objects.filter(integration=self.integration, external_id=external_id).exists()

    @property
    def credentials(self) -> dict:
        return self.integration.credentials if self.integration is not None else {}

    # Set-up (the integrations API and the dashboard).

    def check(self, credentials: dict) -> Connected:
        """Ask the platform whether `credentials` work; PlatformError if not."""
        raise PlatformError(f"{self.type} integrations cannot be created", permanent=True, code="unsupported")

    def register_webhook(self, url: str) -> None:
        """Tell the platform to post inbound events to `url` (where it has
        an API for it)."""

    def unregister_webhook(self) -> None:
        """Undo `register_webhook` (the integration is being deleted)."""

    # Sending.

    def send(self, delivery) -> str:
        """Send `delivery.message` to `delivery.client` (with a notification
        unless `delivery.notify` is off and the platform can stay silent).
        Returns the platform's message id; raises PlatformError."""
        raise PlatformError(f"no {self.type} integration connected", permanent=True,
                            code="no_integration")

    def send_typing(self, client, state: str, name: str = "", avatar_url: str = "") -> None:
        """Show (`state` = "start") or hide ("stop") typing to the user."""
        return None

    @staticmethod
    def phone_external_id(e164: str) -> str:
        """The platform's id for the user with this phone number (+ and
        digits), for a channel that writes to phone numbers."""
        return e164

    def send_read(self, client) -> None:
        """Show the user that the business read their messages (where
        `marks_read`: Messenger's mark_seen, WhatsApp's read mark)."""
        return None

    def send_notice(self, external_id: str, text: str) -> str:
        """A plain text Parley itself sends, outside any conversation message
        (an SMS link confirmation). Returns the platform's message id."""
        raise PlatformError(f"{self.type} cannot send notices", permanent=True, code="unsupported")

    def push_menu(self, menu: dict | None) -> None:
        """Set the platform's menu to `menu` (`{"name"?, "items"}` as the API
        shows it), or remove it (None). Only where `shows_menu`; raises
        PlatformError."""
        return None

    # Inbound.

    def verify(self, request) -> list[RawEvent]:
        """Check an inbound webhook's signature or secret and split it into
        events; InboundRefused when it is not the platform's."""
        raise InboundRefused(f"{self.type} has no inbound webhook", status=404)

    def parse(self, payload: dict) -> list[InboundEvent]:
        """One stored RawEvent payload as normalised events (in the worker)."""
        return []

    @classmethod
    def answers_unstored(cls, integration_id: str, request) -> bool:
        """A POST for an integration that is not stored (yet): True when it
        is the platform's own check of the URL being registered (Viber's
        set_webhook posts a signed `webhook` event before it answers, and
        Parley registers the URL before it stores the row). The endpoint
        then answers 200 and stores nothing."""
        return False

    def handshake(self, request) -> str:
        """A GET to the inbound URL where `verifies_url`: the text to answer
        the platform's check with; InboundRefused when it is not its own."""
        raise InboundRefused("GET is not allowed here.", status=405)


class CapabilitiesOnly(Integration):
    """A channel whose platform API is not wired yet: targeting knows what it
    can do, sending fails the delivery permanently with a clear error.
    `refused`: deliberately never wired (the README's channel table says so)."""

    refused = False
