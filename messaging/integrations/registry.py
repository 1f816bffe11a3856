"""Channel type -> Integration class. Targeting asks `capabilities(type)`;
sending asks `for_client(client)` for an instance bound to the app's
Integration row."""

from messaging.integrations.base import Capabilities, CapabilitiesOnly, Integration
from messaging.integrations.descriptors import DESCRIPTORS
from messaging.integrations.fake import FakeChannel
from messaging.integrations.web import WebMessenger

REGISTRY: dict[str, type[Integration]] = {
    WebMessenger.type: WebMessenger,
    FakeChannel.type: FakeChannel,
    **{descriptor.type: descriptor for descriptor in DESCRIPTORS},
}

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
