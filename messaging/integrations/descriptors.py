"""Channels known by their capabilities only (their platform APIs are wired
in their own modules later). Targeting reads what they can do; sending to
them fails the delivery permanently: "no <type> integration connected"."""

from messaging.integrations.base import Capabilities, CapabilitiesOnly

TEXT_IMAGE = frozenset({"text", "image"})
STRUCTURED = frozenset({"text", "image", "carousel", "list"})


def _descriptor(type_: str, label: str, capabilities: Capabilities) -> type:
    return type(
        f"{label.replace(' ', '')}Descriptor",
        (CapabilitiesOnly,),
        {"type": type_, "label": label, "capabilities": capabilities},
    )


SDK = Capabilities(native=STRUCTURED | {"location"}, text_fallback=frozenset(), typing=True,
                   read_receipts=True, push=True, silent=True)

DESCRIPTORS = [
    _descriptor("ios", "iOS SDK", SDK),
    _descriptor("android", "Android SDK", SDK),
    _descriptor("wechat", "WeChat", Capabilities(
        native=TEXT_IMAGE, text_fallback=frozenset({"carousel", "list", "location"}), push=True)),
]
