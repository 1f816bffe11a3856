"""A push-capable channel for tests only: it POSTs to a fake platform at
settings.PARLEY_FAKE_API_BASE (tests/support/fake_platform.py) and behaves
like Messenger (push, silent delivery, typing, read receipts).

Not in the production registry: tests/settings.py adds it through
PARLEY_EXTRA_INTEGRATIONS, for the test process and for every server and
worker the tests and benches start."""

import json

from django.conf import settings

from messaging.integrations.base import Capabilities, InboundEvent, Integration, PlatformError, http_post
from messaging.integrations.fallback import render_text


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
        response = http_post(f"{settings.PARLEY_FAKE_API_BASE}/messages", json=body)
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise PlatformError("the platform answered without a message id", permanent=True)

    def send_typing(self, client, state, name="", avatar_url=""):
        http_post(
            f"{settings.PARLEY_FAKE_API_BASE}/typing",
            json={"recipient": client.external_id, "state": state, "name": name},
        )

    def parse_webhook(self, request) -> list[InboundEvent]:
        """`{"events": [{"kind", "externalId", "data"?}]}` as the fake platform posts it."""
        try:
            body = json.loads(request.body or b"{}")
            return [InboundEvent(e["kind"], str(e["externalId"]), e.get("data") or {})
                    for e in body.get("events", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PlatformError("malformed fake platform webhook", permanent=True)
