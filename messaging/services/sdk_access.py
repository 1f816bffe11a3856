"""Telling a user's open SDK sockets that their access changed (the user was
secured by a JWT, or deleted): each socket re-checks its credential at once
and closes when it no longer reaches the user."""

import logging
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from messaging.events import appuser_group

logger = logging.getLogger(__name__)


def access_changed(app_user_id: str) -> None:
    transaction.on_commit(partial(_notify, app_user_id))


def _notify(app_user_id: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(appuser_group(app_user_id), {"type": "parley.access"})
    except Exception:
        # The sockets' periodic re-check still closes them.
        logger.exception("access change not published for app user %s", app_user_id)
