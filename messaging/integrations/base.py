"""The one small interface every channel implements.

An integration knows what its platform can do (`capabilities`, from
reference/channel-capabilities.md), sends one delivery (native or text
fallback), sends typing, and turns an inbound platform webhook into
normalised events. It only talks to its platform: state changes and events
are the engine's (messaging.delivery, messaging.events).
"""

import logging
from dataclasses import dataclass, field

import requests

from messaging import outbound

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 10  # seconds, on every platform call


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


class PlatformError(Exception):
    """A platform refused or could not take a call. `permanent` errors
    (4xx: bad recipient, blocked bot...) fail the delivery at once; the others
    (timeouts, 5xx, 429) are retried with backoff, no earlier than
    `retry_after` seconds when the platform said so."""

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


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def http_post(url: str, *, json=None, data=None, headers=None, auth=None,
              timeout: float = HTTP_TIMEOUT) -> requests.Response:
    """POST to a platform (`url` under its PARLEY_<TYPE>_API_BASE) through
    messaging.outbound and classify failures as PlatformError: network
    errors, timeouts, 5xx and 429 are transient; other 4xx and a target the
    allow-list refuses are permanent. A base URL is the operator's own
    setting, so it may be on loopback (a fake platform in tests): only
    PARLEY_OUTBOUND_ALLOW applies, not the private-address rule."""
    try:
        response = outbound.post(url, json=json, data=data, headers=headers, auth=auth, timeout=timeout,
                                 allow_private=True)
    except outbound.Unresolvable as error:
        raise PlatformError(f"could not reach the platform: {error}", permanent=False, code="unreachable")
    except outbound.Refused as refused:
        raise PlatformError(f"refused: {refused}", permanent=True, code="refused")
    except requests.Timeout:
        raise PlatformError(f"timed out after {timeout}s", permanent=False, code="timeout")
    except requests.RequestException as error:
        raise PlatformError(f"could not reach the platform: {type(error).__name__}", permanent=False,
                            code="unreachable")
    if response.status_code == 429:
        raise PlatformError("rate limited (429)", permanent=False, retry_after=_retry_after(response),
                            status=429, code="rate_limited")
    if response.status_code >= 500:
        raise PlatformError(f"platform error {response.status_code}", permanent=False,
                            retry_after=_retry_after(response), status=response.status_code)
    if response.status_code >= 400:
        raise PlatformError(f"platform refused the message ({response.status_code}): "
                            f"{response.text[:300]}", permanent=True, status=response.status_code,
                            code="rejected")
    return response


@dataclass
class InboundEvent:
    """One normalised event parsed from a platform webhook."""

    kind: str  # "message", "postback", "delivery", "read", "typing"
    external_id: str  # the platform's id for the user (PSID, chat id, phone...)
    data: dict = field(default_factory=dict)


class Integration:
    """Base class: one subclass per channel type."""

    type: str = ""
    label: str = ""
    capabilities: Capabilities = Capabilities()
    # Parley itself is the platform (the web widget): send() makes no call
    # and cannot fail, so the engine records such a delivery as sent in the
    # transaction that stores the message instead of queueing it for the
    # worker.
    sends_in_process: bool = False

    def __init__(self, integration=None):
        # The app's Integration row (credentials) when the channel has one.
        self.integration = integration

    def send(self, delivery) -> str:
        """Send `delivery.message` to `delivery.client` (with a notification
        unless `delivery.notify` is off and the platform can stay silent).
        Returns the platform's message id; raises PlatformError."""
        raise PlatformError(f"no {self.type} integration connected", permanent=True,
                            code="no_integration")

    def send_typing(self, client, state: str, name: str = "", avatar_url: str = "") -> None:
        """Show (`state` = "start") or hide ("stop") typing to the user."""
        return None

    def parse_webhook(self, request) -> list[InboundEvent]:
        """Verify and parse an inbound platform webhook."""
        raise NotImplementedError(f"{self.type} has no inbound webhook yet")


class CapabilitiesOnly(Integration):
    """A channel whose platform API is not wired yet: targeting knows what it
    can do, sending fails the delivery permanently with a clear error."""
