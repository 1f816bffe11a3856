"""Telling open SDK sockets that their access changed, so that each
re-checks its credential at once and closes when it no longer reaches its
user (messaging.consumers.SdkConsumer.still_allowed):
- the user was secured by a JWT, or deleted: the user's group;
- the key that signed a socket's JWT was revoked or deleted: the key's group;
- the app was deleted, or its `requireUserJwt` turned on: every SDK
  socket of the app.
Published by the fan-out after commit (never logged); on Redis this reaches
sockets in every process. A socket that misses it still re-checks within
messaging.consumers.RECHECK_SECONDS."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from messaging import events
from messaging.models import ApiKey


def access_changed(app_user, reason: str) -> None:
    """Call in the transaction that changed the access; sockets hear of it
    once it commits."""
    events.emit("access:changed", app=app_user.app, app_user=app_user, log=False,
                summary=f"Access changed: {reason}", detail={"reason": reason})


def key_revoked(key: ApiKey) -> None:
    """The key was revoked or deleted: sockets with a JWT it signed close."""
    events.access_changed([events.key_group(key.key_id)], "key revoked")


def user_jwt_required(app_id: str) -> None:
    """`requireUserJwt` was turned on: every SDK socket of the app re-checks,
    and those holding a user with a userId by the app token alone close."""
    events.access_changed([events.sdk_app_group(app_id)], "requireUserJwt turned on")


def app_deleted(app_id: str) -> None:
    """The app is gone: its SDK sockets and its dashboard sockets close."""
    events.access_changed([events.sdk_app_group(app_id), events.app_group(app_id)], "app deleted")


# A key has no delete service (the admin, or an app's deletion, removes
# it): the signal catches every way a key row goes.
@receiver(post_delete, sender=ApiKey, dispatch_uid="parley-sdk-key-deleted")
def _key_deleted(sender, instance, **kwargs):
    key_revoked(instance)
