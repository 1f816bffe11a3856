"""Authenticity, as a receiver checks it: `X-API-Key` (Smooch's secret) and
the Standard Webhooks signature, verified by the README's own receiver code
(the Python block of its Webhooks section, run here as it is written: the
`standardwebhooks` package on the raw body and headers the receiver on
127.0.0.1 got), replays refused by their timestamp, duplicates by their
`webhook-id`, and both signatures during a rotation."""

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import standardwebhooks.webhooks
from django.utils import timezone

from messaging.models import Webhook, WebhookEvent
from messaging.services.webhook_config import rotate_secret, rotate_signing_secret
from tests.support.ws import business_message
from tests.webhooks.conftest import due_now, send

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_receiver(signing_secret: str):
    """The README's `receive(body, headers)`, for this signing secret."""
    section = README.read_text().split("### Webhooks\n", 1)[1].split("\n### ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    scope = {"SIGNING_SECRET": signing_secret}
    exec(compile(code, "README.md (Webhooks)", "exec"), scope)
    return scope["receive"]


def one_request(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    business_message(steve, "Hello")
    send()
    [request] = receiver.received()
    return Webhook.objects.get(pk=webhook.pk), request


@pytest.mark.smoke
def test_the_readmes_receiver_accepts_parleys_requests(app, steve, hook, receiver):
    webhook, request = one_request(app, steve, hook, receiver)
    assert request.header("X-API-Key") == webhook.secret
    assert webhook.signing_secret.startswith("whsec_")
    status, payload = readme_receiver(webhook.signing_secret)(request.body, request.headers)
    assert status == 200 and payload == json.loads(request.body)
    assert payload["messages"][0]["text"] == "Hello"
    event = WebhookEvent.objects.get()
    assert request.header("webhook-id") == event.message_id
    assert abs(int(request.header("webhook-timestamp")) - time.time()) < 30


def test_the_signature_is_the_specs_hmac_of_id_timestamp_and_body(app, steve, hook, receiver):
    """Standard Webhooks' rule, computed here without the package: base64 of
    HMAC-SHA256, keyed with the secret's base64-decoded bytes, over
    `{webhook-id}.{webhook-timestamp}.{raw body}`."""
    webhook, request = one_request(app, steve, hook, receiver)
    key = base64.b64decode(webhook.signing_secret.removeprefix("whsec_"))
    signed = f"{request.header('webhook-id')}.{request.header('webhook-timestamp')}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.header("webhook-signature") == f"v1,{expected}"


def test_altered_forged_or_unsigned_requests_are_refused(app, steve, hook, receiver):
    webhook, request = one_request(app, steve, hook, receiver)
    receive = readme_receiver(webhook.signing_secret)
    altered = request.body.replace(b"Hello", b"Hellp")
    assert receive(altered, request.headers) == (401, None)
    other = Webhook.objects.create(app=app, target=receiver.url, triggers=["*"])  # another signing secret
    assert readme_receiver(other.signing_secret)(request.body, request.headers) == (401, None)
    unsigned = {k: v for k, v in request.headers.items() if k.lower() != "webhook-signature"}
    assert receive(request.body, unsigned) == (401, None)
    assert receive(request.body, request.headers)[0] == 200


def test_a_replay_is_refused_by_its_timestamp_and_a_repeat_by_its_id(app, steve, hook, receiver, monkeypatch):
    webhook, request = one_request(app, steve, hook, receiver)
    receive = readme_receiver(webhook.signing_secret)
    status, payload = receive(request.body, request.headers)
    assert status == 200 and payload is not None
    # Within the 5 minutes, the same request again is a duplicate.
    assert receive(request.body, request.headers) == (200, None)

    # Six minutes later the recorded request is refused by the package...
    class SixMinutesLater(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(minutes=6)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", SixMinutesLater)
    fresh = readme_receiver(webhook.signing_secret)  # a receiver that never saw it
    assert fresh(request.body, request.headers) == (401, None)
    # ... and a fresh timestamp breaks the signature.
    later = str(int(time.time()) + 360)
    assert fresh(request.body, {**request.headers, "webhook-timestamp": later}) == (401, None)


def test_a_retry_an_hour_later_is_signed_with_the_time_it_is_sent(app, steve, hook, receiver):
    """The timestamp is the attempt's, not the event's: an event retried
    long after it happened still passes the 5-minute tolerance, and keeps
    its webhook-id (the receiver's idempotency key)."""
    webhook = hook(["message:appMaker"])
    receiver.answer(500)
    business_message(steve, "Hello")
    send()
    WebhookEvent.objects.update(created_at=timezone.now() - timedelta(hours=1))
    due_now()
    send()
    first, retry = receiver.received()
    assert first.header("webhook-id") == retry.header("webhook-id")
    receive = readme_receiver(webhook.signing_secret)
    assert receive(retry.body, retry.headers)[0] == 200
    assert abs(int(retry.header("webhook-timestamp")) - time.time()) < 30


def test_both_signatures_verify_during_a_rotation_and_only_the_new_one_after(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    old = webhook.signing_secret
    rotated = rotate_signing_secret(webhook)
    assert rotated.signing_secret != old
    business_message(steve, "During")
    send()
    [during] = receiver.received()
    assert len(during.header("webhook-signature").split(" ")) == 2
    assert readme_receiver(old)(during.body, during.headers)[0] == 200
    assert readme_receiver(rotated.signing_secret)(during.body, during.headers)[0] == 200

    Webhook.objects.filter(pk=webhook.pk).update(previous_signing_until=timezone.now() - timedelta(seconds=1))
    business_message(steve, "After")
    send()
    after = receiver.received()[1]
    assert len(after.header("webhook-signature").split(" ")) == 1
    assert readme_receiver(old)(after.body, after.headers) == (401, None)
    assert readme_receiver(rotated.signing_secret)(after.body, after.headers)[0] == 200


def test_a_rotated_api_key_secret_is_sent_at_once(app, steve, hook, receiver):
    webhook = hook(["message:appMaker"])
    old = webhook.secret
    rotated = rotate_secret(webhook)
    business_message(steve, "Hello")
    send()
    [request] = receiver.received()
    assert request.header("X-API-Key") == rotated.secret != old
