"""Telling a user's open SDK sockets that their access changed (the user was
secured by a JWT, or deleted): each socket re-checks its credential at once
and closes when it no longer reaches the user. Published by the fan-out like
every event (never logged); a socket that misses it still re-checks within
messaging.consumers.RECHECK_SECONDS."""

from messaging import events


def access_changed(app_user, reason: str) -> None:
    """Call in the transaction that changed the access; sockets hear of it
    once it commits."""
    events.emit("access:changed", app=app_user.app, app_user=app_user, log=False,
                summary=f"Access changed: {reason}", detail={"reason": reason})
