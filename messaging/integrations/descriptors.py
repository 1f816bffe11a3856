"""Channels known by their capabilities only. Targeting reads what they can
do; sending to them fails the delivery permanently: "no <type> integration
connected" (WeChat), or, for the native SDKs (`ios`, `android`), that push
to native apps (APNs, FCM) is deliberately not done (README, "What Parley
deliberately does not do"). The native SDKs claim neither push nor silent
copies, so targeting never counts on them and no failover picks them."""

from messaging.integrations.base import Capabilities, CapabilitiesOnly, PlatformError

TEXT_IMAGE = frozenset({"text", "image"})
STRUCTURED = frozenset({"text", "image", "carousel", "list"})


def _descriptor(type_: str, label: str, capabilities: Capabilities) -> type:
    return type(
        f"{label.replace(' ', '')}Descriptor",
        (CapabilitiesOnly,),
        {"type": type_, "label": label, "capabilities": capabilities},
    )


SDK = Capabilities(native=STRUCTURED | {"location"}, text_fallback=frozenset(), typing=True,
                   read_receipts=True, push=False, silent=False)

NATIVE_PUSH_REFUSED = ("push to native apps (APNs, FCM) is not done by Parley: reach the user on the Web "
                       "Messenger or a messaging channel")


class NativeSdk(CapabilitiesOnly):
    """An iOS or Android SDK client: its devices are stored, nothing is sent
    to them (Parley has no APNs or FCM sender)."""

    refused = True

    def send(self, delivery) -> str:
        raise PlatformError(NATIVE_PUSH_REFUSED, permanent=True, code="not_implemented")


def _native_sdk(type_: str, label: str) -> type:
    return type(f"{label.replace(' ', '')}Descriptor", (NativeSdk,),
                {"type": type_, "label": label, "capabilities": SDK})


DESCRIPTORS = [
    _native_sdk("ios", "iOS SDK"),
    _native_sdk("android", "Android SDK"),
    _descriptor("wechat", "WeChat", Capabilities(
        native=TEXT_IMAGE, text_fallback=frozenset({"carousel", "list", "location"}), push=True)),
]
