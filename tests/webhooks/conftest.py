"""Fixtures of the webhook tests: a real receiver on 127.0.0.1
(tests/support/webhook_receiver.py), webhooks pointing at it, and the
sender run in the test's process (messaging.webhooks.sender.run_due)."""

import pytest
from django.utils import timezone

from messaging.models import Webhook, WebhookEvent
from messaging.webhooks import sender
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.ws import make_user


@pytest.fixture
def receiver(settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def hook(app, receiver):
    """Make a webhook of `app` to the receiver (path /hook unless given)."""

    def make(triggers=("*",), path="/hook", of=None):
        return Webhook.objects.create(app=of or app, target=receiver.url + path, triggers=list(triggers))

    return make


@pytest.fixture
def steve(app):
    """The reference's example user: a userId, names, no client yet."""
    return make_user(app, "bob@example.com", given_name="Steve", surname="")


def send() -> int:
    """Post every due webhook event, as the worker's task does."""
    return sender.run_due()


def due_now() -> None:
    """Move every waiting retry to now (instead of waiting for it)."""
    WebhookEvent.objects.filter(state="pending").update(next_attempt_at=timezone.now())
