"""A push-capable channel for tests only: it POSTs to a fake platform at
settings.PARLEY_FAKE_API_BASE (tests/support/fake_platform.py) and behaves
like Messenger (push, silent delivery, typing, read receipts).

Not in the production registry: tests/settings.py adds it through
PARLEY_EXTRA_INTEGRATIONS, for the test process and for every server and
worker the tests and benches start."""

import hashlib
import hmac

from django.conf import settings

from messaging.integrations.base import (
    Capabilities,
    Connected,
    Field,
    InboundEvent,
    InboundRefused,
    Integration,
    PlatformError,
    RawEvent,
    http_post,
    json_body,
)


def signature(secret: str, body: bytes) -> str:
    """The fake platform's webhook signature: HMAC-SHA256 of the body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
from messaging.integrations.fallback import render_text


def _explain(response):
    """The fake platform's refusal `{"error": "blocked"}`: the user blocked us."""
    try:
        blocked = response.json().get("error") == "blocked"
    except (ValueError, AttributeError):
        blocked = False
    return PlatformError("the user blocked the bot", permanent=True, code="blocked") if blocked else None


class FakeChannel(Integration):
    type = "fake"
    label = "Fake (tests)"
    capabilities = Capabilities(
        native=frozenset({"text", "image"}),
        text_fallback=frozenset({"carousel", "list", "location"}),
        typing=True,
        read_receipts=True,
        push=True,
        silent=True,
    )

    # Connected through the integrations API like a real channel: `check`
    # and the webhook registration call the fake platform, which a test
    # tells to refuse (fail_next).
    fields = (Field("apiKey", "API key", secret=True), Field("account", "Account name"))

    def check(self, credentials) -> Connected:
        answer = http_post(f"{settings.PARLEY_FAKE_API_BASE}/check", json={"apiKey": credentials["apiKey"]})
        return Connected(display_name=f"Fake {credentials.get('account', '')}".strip(),
                         details={"fakeId": answer.json().get("id", "")})

    def register_webhook(self, url):
        http_post(f"{settings.PARLEY_FAKE_API_BASE}/webhook", json={"url": url})

    def unregister_webhook(self):
        http_post(f"{settings.PARLEY_FAKE_API_BASE}/webhook", json={"url": ""})

    def send(self, delivery) -> str:
        message = delivery.message
        native = message.type in self.capabilities.native
        body = {
            "recipient": delivery.client.external_id,
            "messageId": message.id,
            "deliveryId": delivery.id,
            "purpose": delivery.purpose,
            "notify": delivery.notify,
            "type": message.type if native else "text",
            "text": message.text if native else render_text(message),
        }
        if native and message.media_url:
            body["mediaUrl"] = message.media_url
        response = http_post(f"{settings.PARLEY_FAKE_API_BASE}/messages", json=body, explain=_explain)
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise PlatformError("the platform answered without a message id", permanent=True)

    def send_typing(self, client, state, name="", avatar_url=""):
        http_post(
            f"{settings.PARLEY_FAKE_API_BASE}/typing",
            json={"recipient": client.external_id, "state": state, "name": name},
        )

    def verify(self, request) -> list[RawEvent]:
        """`{"events": [{"id", "kind", "externalId", "data"?}]}`, signed with
        the integration's webhook secret in `X-Fake-Signature`."""
        expected = signature(self.integration.webhook_secret, request.body)
        if not hmac.compare_digest(request.headers.get("X-Fake-Signature", ""), expected):
            raise InboundRefused("bad signature")
        events = json_body(request).get("events")
        if not isinstance(events, list) or not all(
                isinstance(e, dict) and isinstance(e.get("kind"), str) and "id" in e and "externalId" in e
                for e in events):
            raise InboundRefused("events must be a list of {id, kind, externalId}", status=400)
        return [RawEvent(key=str(e["id"]), payload=e) for e in events]

    def parse(self, payload) -> list[InboundEvent]:
        return [InboundEvent(payload["kind"], str(payload["externalId"]), payload.get("data") or {})]
