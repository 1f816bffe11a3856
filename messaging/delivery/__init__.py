"""The delivery engine's entry points (called by messaging.services and the
SDK consumer). Implemented in the modules of this package.

- submit(message): a stored appMaker message is handed to the engine (inside
  the caller's transaction; work starts after commit). Targeting, deliveries,
  failover scheduling happen here, never in the API.
- send_typing(app_user, action, name="", avatar_url=""): typing:start/stop
  from the business to the preferred client.
- conversation_read(app_user, client=None): the user read the conversation
  (resets unreadCount, marks messages/deliveries read, cancels failovers).
- client_appeared(client): a new or re-activated client (widget connect,
  link confirmed): deliver what it is owed.
- resend(delivery): send a failed delivery again as a new attempt.
"""
