"""Channel type -> Integration class. Targeting asks `capabilities(type)`;
sending asks `for_client(client)` for an instance bound to the app's
Integration row.

The built-in channels are listed here; `settings.PARLEY_EXTRA_INTEGRATIONS`
(dotted paths, read once when this module loads) adds others. Production has
none: the test settings add the test-only "fake" channel, so it is never
offered outside the test suite.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from messaging.integrations.base import Capabilities, CapabilitiesOnly, Integration
from messaging.integrations.descriptors import DESCRIPTORS
from messaging.integrations.email import Email, Mailgun
from messaging.integrations.line import Line
from messaging.integrations.messenger import Messenger
from messaging.integrations.telegram import Telegram
from messaging.integrations.twilio import Twilio
from messaging.integrations.viber import Viber
from messaging.integrations.web import WebMessenger
from messaging.integrations.whatsapp import WhatsApp


def _build() -> dict[str, type[Integration]]:
    registry = {
        WebMessenger.type: WebMessenger,
        Telegram.type: Telegram,
        Twilio.type: Twilio,
        Messenger.type: Messenger,
        WhatsApp.type: WhatsApp,
        Viber.type: Viber,
        Line.type: Line,
        Email.type: Email,
        Mailgun.type: Mailgun,
        **{descriptor.type: descriptor for descriptor in DESCRIPTORS},
    }
    for path in settings.PARLEY_EXTRA_INTEGRATIONS:
        cls = import_string(path)
        if cls.type in registry:
            raise ImproperlyConfigured(f"PARLEY_EXTRA_INTEGRATIONS: {path} reuses the channel type {cls.type!r}")
        registry[cls.type] = cls
    return registry


REGISTRY: dict[str, type[Integration]] = _build()

UNKNOWN = Capabilities(native=frozenset(), text_fallback=frozenset())


def integration_class(type_: str) -> type[Integration]:
    cls = REGISTRY.get(type_)
    if cls is None:
        return type("UnknownChannel", (CapabilitiesOnly,), {"type": type_, "capabilities": UNKNOWN})
    return cls


def capabilities(type_: str) -> Capabilities:
    return integration_class(type_).capabilities


def for_client(client) -> Integration:
    return integration_class(client.platform)(client.integration)
