"""The delivery engine's entry points (called by messaging.services and the
SDK consumer):

- prepare(message) then submit(message, targets): targeting decided before
  the message's INSERT (which then records the decisions), deliveries
  queued after it. submit(message) alone does both for a stored message.
- submit(message): a stored appMaker message is handed to the engine (inside
  the caller's transaction; work starts after commit). Targeting, deliveries,
  failover scheduling happen here, never in the API. Raises
  NoClientForDestination (a 400 ServiceError) for a `destination` the user
  has no client on, so the caller's transaction stores nothing.
- send_typing(app_user, action, name="", avatar_url=""): typing:start/stop
  from the business to the preferred client.
- conversation_read(app_user, client=None): the user read the conversation
  (resets unreadCount, marks messages/deliveries read, cancels failovers).
- client_appeared(client): a new or re-activated client (widget connect,
  link confirmed): deliver what it is owed.
- resend(delivery): send a delivery again as a new attempt on the same row.
"""

from messaging.delivery.engine import client_appeared, prepare, submit
from messaging.delivery.reads import conversation_read, mark_delivered
from messaging.delivery.sending import resend
from messaging.delivery.targeting import NoClientForDestination, resolve_destination
from messaging.delivery.typing import send_typing

__all__ = [
    "NoClientForDestination",
    "client_appeared",
    "conversation_read",
    "mark_delivered",
    "prepare",
    "resend",
    "resolve_destination",
    "send_typing",
    "submit",
]
