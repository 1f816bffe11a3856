"""Web Messenger: SDK clients (the widget) over the SDK websocket.

The widget's "platform" is Parley itself: a business message is in the
conversation as soon as it is stored, reaches connected sockets through the
fan-out (`appuser.<id>` group, published on commit) and is caught up on
(re)connect from `since`. So sending only acknowledges, in the transaction
that stores the message (`sends_in_process`: no queue, no worker); typing
needs no call either, as the typing event reaches the user's group through
the fan-out.
"""

from messaging.integrations.base import Capabilities, Integration


class WebMessenger(Integration):
    type = "web"
    label = "Web Messenger"
    capabilities = Capabilities(
        native=frozenset({"text", "image", "carousel", "list", "location"}),
        text_fallback=frozenset(),
        typing=True,
        read_receipts=True,
        push=False,
        silent=True,
    )
    sends_in_process = True

    def send(self, delivery) -> str:
        return f"web:{delivery.message_id}"

    def send_typing(self, client, state, name="", avatar_url=""):
        return None
