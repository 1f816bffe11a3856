"""Linking an email address to an app user (POST /v1/appusers/{id}/channels
with type email: a Parley extension): a confirmation email with a signed
link, the page it opens (a GET asks, only the POST confirms), skipConfirmation,
bad addresses, and the integration it needs."""

import pytest
from django.core import mail

from messaging.models import Client, Integration, LogEntry
from messaging.services.integrations import create_integration
from tests.support.ws import run_tasks


@pytest.fixture
def integration(app):
    return create_integration(app, {"type": "email", "fromAddress": "support@tacos.example",
                                    "fromName": "Tacos Inc"}, base_url="https://parley.example")


def link(api, user, body, jwt):
    return api.post(f"/v1/appusers/{user.id}/channels", body, headers=jwt)


@pytest.mark.django_db(transaction=True)
def test_linking_an_address_sends_a_signed_link_that_confirms_it(client, api, app_jwt, alice, integration):
    response = link(api, alice, {"type": "email", "address": "Alice@Example.org"}, app_jwt)
    assert response.status_code == 200, response.content
    pending = Client.objects.get(app_user=alice, platform="email")
    assert pending.pending and pending.external_id == "alice@example.org"
    mail.outbox.clear()
    run_tasks()
    [confirmation] = mail.outbox
    assert confirmation.to == ["alice@example.org"] and "confirm" in confirmation.subject
    url = next(line for line in confirmation.body.splitlines() if "/integrations/email/confirm/" in line).strip()
    assert url.startswith("https://parley.example/integrations/email/confirm/")
    path = url.removeprefix("https://parley.example")
    page = client.get(path)
    assert page.status_code == 200 and b"Confirm" in page.content
    assert Client.objects.get(pk=pending.pk).pending  # a mail scanner's GET confirms nothing
    done = client.post(path)
    assert done.status_code == 200 and b"Address confirmed" in done.content
    assert not Client.objects.get(pk=pending.pk).pending
    assert LogEntry.objects.filter(app_user=alice, kind="link:confirmed").exists()
    assert client.post(path).status_code == 404  # used once
    assert client.get(path[:-3] + "abc").status_code == 404  # a forged signature


def test_linking_with_skip_confirmation_links_at_once(api, app_jwt, alice, integration):
    response = link(api, alice, {"type": "email", "address": "alice@example.org", "skipConfirmation": True},
                    app_jwt)
    assert response.status_code == 200
    linked = Client.objects.get(app_user=alice, platform="email")
    assert not linked.pending and not linked.unverified
    assert {"type": "email", "address": "alice@example.org"} in api.get(
        f"/v1/appusers/{alice.id}/channels", headers=app_jwt).data["channels"]


@pytest.mark.parametrize("body,description", [
    ({"type": "email"}, "address is required to link email."),
    ({"type": "email", "address": "nope"}, "address must be an email address."),
    ({"type": "email", "address": 12}, "address must be a string."),
])
def test_linking_refuses_a_bad_address(api, app_jwt, alice, integration, body, description):
    response = link(api, alice, body, app_jwt)
    assert response.status_code == 400 and description in response.data["error"]["description"]


def test_linking_needs_an_active_email_or_mailgun_integration(api, app_jwt, alice):
    response = link(api, alice, {"type": "email", "address": "alice@example.org"}, app_jwt)
    assert response.status_code == 400
    assert response.data["error"]["description"] == "This app has no active email or mailgun integration to link."
    assert not Integration.objects.exists()
