"""The Webhooks pages in a real browser on a real server, with a receiver on
127.0.0.1: a bad target is refused in the form, a webhook to the receiver
is created, its secrets revealed, a test event sent (the sender runs in the
test process) and its attempt shown with the receiver's answer; the signing
secret is rotated (the next request carries both signatures, each verified
with the standardwebhooks package); the webhook is deleted after a
confirmation."""

import json

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook as Verifier

from messaging.models import Webhook, WebhookEvent
from messaging.webhooks import sender
from tests.support.browser import log_in, screenshot
from tests.support.fake_platform import FakePlatform
from tests.support.live import LiveServer


@pytest.fixture
def fast_password_hashing():
    """The live server checks passwords with the real hashers."""


@pytest.fixture
def receiver(settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True  # the sender runs here; the receiver is on loopback
    fake = FakePlatform(handler=lambda record: (200, {}, {"received": record["n"]}))
    yield fake
    fake.close()


@pytest.fixture
def server():
    server = LiveServer(worker=False)  # the test runs the sender itself
    try:
        yield server
    finally:
        server.stop()


def verified(request, secret: str) -> dict:
    """The request checked as the README tells receivers to: the raw body
    (the sender's compact JSON, which the fake's parsed body re-encodes to
    byte for byte) and the webhook-* headers."""
    raw = json.dumps(request["body"], separators=(",", ":"))
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Verifier(secret).verify(raw, headers)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_owner_creates_tests_rotates_and_deletes_a_webhook(server, receiver, page, owner, app):
    page.on("dialog", lambda dialog: dialog.accept())  # the rotations' hx-confirm
    log_in(page, server.url, owner)
    page.goto(f"{server.url}/apps/{app.id}/settings/")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    page.get_by_role("link", name="Add a webhook").click()
    expect(page.get_by_role("heading", name="Add a webhook")).to_be_visible()

    # A target that is no http(s) URL: the API's words in the form, nothing stored.
    page.get_by_label("Target URL").fill("ftp://127.0.0.1/hook")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.locator("#webhook-form")).to_contain_text("target must be an http or https URL.")
    expect(page.get_by_label("Target URL")).to_have_value("ftp://127.0.0.1/hook")
    assert not Webhook.objects.exists()

    # The receiver on 127.0.0.1, "message" (checked by default) and postback.
    target = receiver.url + "/hook"
    page.get_by_label("Target URL").fill(target)
    page.get_by_label("postback (a user pressed a postback button)").check()
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_role("heading", name=f"Webhook to {target}")).to_be_visible()
    webhook = Webhook.objects.get(app=app)
    assert webhook.triggers == ["message", "postback"]
    assert page.url == f"{server.url}/apps/{app.id}/webhooks/{webhook.id}/"
    assert webhook.secret not in page.content() and webhook.signing_secret not in page.content()

    # The secrets, on a click.
    page.get_by_role("button", name="Reveal secrets").click()
    expect(page.locator("code.webhook-secret")).to_have_text(webhook.secret)
    expect(page.locator("code.signing-secret")).to_have_text(webhook.signing_secret)

    # A test event: queued, sent by the sender, its attempt shown after a refresh.
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#webhook-events [role=status]")).to_contain_text("queued")
    event = WebhookEvent.objects.get(webhook=webhook)
    expect(page.locator("#webhook-events [role=status]")).to_contain_text(f"Test event {event.pk} queued")
    expect(page.locator(f"#event-{event.pk}")).to_contain_text("waiting to be sent")
    assert sender.run_due() == 1
    [request] = receiver.received("/hook")
    assert request["headers"]["X-API-Key"] == webhook.secret
    assert verified(request, webhook.signing_secret)["trigger"] == "webhook:test"
    page.get_by_role("link", name="Refresh").click()
    attempt = page.locator(f"#event-{event.pk} tr.attempt")
    expect(attempt).to_have_count(1)
    expect(attempt.locator("td").nth(2)).to_have_text("200")
    expect(attempt.locator(".response-snippet")).to_have_text('{"received": 1}')
    expect(page.locator(f"#event-{event.pk} .event-state")).to_have_text("Delivered")
    page.locator(f"#event-{event.pk} summary").click()
    expect(page.locator(f"#event-{event.pk} pre")).to_contain_text('"trigger": "webhook:test"')
    screenshot(page, "webhooks-test-event-delivered")

    # Rotate the signing secret: the new one shown, the old one still signing.
    old_secret = webhook.signing_secret
    page.get_by_role("button", name="Rotate the signing secret").click()
    expect(page.locator("#webhook-secrets [role=status]")).to_contain_text(
        "The previous one keeps signing for 24 hours")
    expect(page.locator("code.signing-secret")).not_to_have_text(old_secret)
    new_secret = page.locator("code.signing-secret").inner_text()
    webhook.refresh_from_db()
    assert new_secret == webhook.signing_secret and webhook.previous_signing_secret == old_secret
    expect(page.locator(".signing-overlap")).to_contain_text("keeps signing too until")
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#webhook-events [role=status]")).to_contain_text("queued")
    assert sender.run_due() == 1
    second = receiver.received("/hook")[1]
    assert len(second["headers"]["webhook-signature"].split()) == 2
    verified(second, new_secret)
    verified(second, old_secret)

    # Delete, after a confirmation.
    page.get_by_role("link", name="Delete webhook…").click()
    expect(page.get_by_role("heading", name=f"Delete the webhook to {target}?")).to_be_visible()
    assert Webhook.objects.filter(pk=webhook.pk).exists()
    page.get_by_role("button", name="Delete this webhook").click()
    expect(page.get_by_role("status")).to_contain_text(f"Webhook to {target} deleted.")
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    assert not Webhook.objects.exists() and not WebhookEvent.objects.exists()
