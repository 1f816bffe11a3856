"""What the channel tests share to send one business message through a
channel: posted as the API posts it (validated, stored, targeted), then
handed to the channel's `send` directly, as the worker would."""

import pytest

from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.models import Delivery
from messaging.services.messages import post_message
from messaging.validators import validate_message


def queued(user, *, where: dict | None = None, **body) -> Delivery:
    """The delivery of a business message to `user` (the one matching
    `where` when the user has several clients)."""
    fields = validate_message({"role": "appMaker", **body}, role="appMaker", app_user=user)
    message = post_message(user, role="appMaker", fields=fields)
    return Delivery.objects.select_related("message__app", "client__integration").get(message=message,
                                                                                      **(where or {}))


def deliver(user, *, where: dict | None = None, **body) -> str:
    """Send it through its channel; the platform's message id."""
    delivery = queued(user, where=where, **body)
    return registry.for_client(delivery.client).send(delivery)


def refusal(call) -> PlatformError:
    """The PlatformError `call()` raises."""
    with pytest.raises(PlatformError) as error:
        call()
    return error.value
