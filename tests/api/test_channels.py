"""Channels of an app user: list entities, link twilio (pending or
confirmed at once), unlink."""

import pytest

from messaging.models import Client, Integration, LogEntry
from tests.api.conftest import add_client, error_of


@pytest.fixture
def twilio(app):
    return Integration.objects.create(app=app, type="twilio", credentials={"accountSid": "AC1"})


def link(api, user, body, headers):
    return api.post(f"/v1/appusers/{user.id}/channels", body, headers=headers)


def test_it_links_a_phone_number_as_pending(api, as_alice, alice, twilio):
    response = link(api, alice, {"type": "twilio", "phoneNumber": "+1 212-555-2368"}, as_alice)
    assert response.status_code == 200, response.content
    pending = response.data["appUser"]["pendingClients"]
    assert [(c["platform"], c["displayName"]) for c in pending] == [("twilio", "+12125552368")]
    client = Client.objects.get(app_user=alice, platform="twilio")
    assert client.pending and client.external_id == "+12125552368" and client.integration == twilio
    assert LogEntry.objects.filter(app_user=alice, kind="link:requested").exists()


def test_it_links_at_once_with_skip_confirmation(api, app_jwt, alice, twilio):
    response = link(api, alice, {"type": "twilio", "phoneNumber": "+12125552368", "skipConfirmation": True},
                    app_jwt)
    assert response.status_code == 200, response.content
    assert "twilio" in [c["platform"] for c in response.data["appUser"]["clients"]]
    assert not Client.objects.get(app_user=alice, platform="twilio").pending
    assert LogEntry.objects.filter(app_user=alice, kind="link:confirmed").exists()


def test_it_requires_app_scope_to_skip_confirmation(api, as_alice, alice, twilio):
    response = link(api, alice, {"type": "twilio", "phoneNumber": "+12125552368", "skipConfirmation": True},
                    as_alice)
    assert error_of(response)[:2] == (403, "forbidden")
    assert not Client.objects.filter(platform="twilio").exists()


@pytest.mark.parametrize("body,description", [
    ({}, "type is required."),
    ({"type": "messenger", "userId": "1"}, "type must be twilio"),
    ({"type": "twilio"}, "phoneNumber is required to link twilio."),
    ({"type": "twilio", "phoneNumber": 12125552368}, "phoneNumber must be a string."),
    ({"type": "twilio", "phoneNumber": "212 555 2368"}, "phoneNumber must start with + and the country code"),
    ({"type": "twilio", "phoneNumber": "1 212 555 2368"}, "phoneNumber must start with + and the country code"),
    ({"type": "twilio", "phoneNumber": "+1 212 CALL NOW"}, "phoneNumber is not a valid phone number"),
    ({"type": "twilio", "phoneNumber": "+12125552368", "skipConfirmation": "yes"},
     "skipConfirmation must be true or false."),
])
def test_it_rejects_invalid_links(api, app_jwt, alice, twilio, body, description):
    status, code, text = error_of(link(api, alice, body, app_jwt))
    assert (status, code) == (400, "bad_request") and description in text, text
    assert not Client.objects.filter(platform="twilio").exists()


def test_it_rejects_a_link_without_an_integration(api, app_jwt, alice):
    response = link(api, alice, {"type": "twilio", "phoneNumber": "+12125552368"}, app_jwt)
    assert error_of(response) == (400, "bad_request", "This app has no active twilio integration to link.")


def test_it_refuses_to_link_twice(api, app_jwt, alice, twilio):
    body = {"type": "twilio", "phoneNumber": "+12125552368", "skipConfirmation": True}
    link(api, alice, body, app_jwt)
    assert error_of(link(api, alice, body, app_jwt))[:2] == (409, "conflict")


def test_it_lists_channel_entities(api, app_jwt, alice):
    add_client(alice, "twilio", "+15145555555")
    add_client(alice, "messenger", "198273192387")
    add_client(alice, "twilio", "+15140000000", pending=True)
    response = api.get(f"/v1/appusers/{alice.id}/channels", headers=app_jwt)
    assert response.data == {"channels": [
        {"type": "twilio", "phoneNumber": "+15145555555"},
        {"type": "messenger", "userId": "198273192387"},
    ]}


def test_it_unlinks_a_channel(api, app_jwt, alice):
    add_client(alice, "twilio", "+15145555555")
    response = api.delete(f"/v1/appusers/{alice.id}/channels/twilio", headers=app_jwt)
    assert response.status_code == 200
    assert not Client.objects.filter(app_user=alice, platform="twilio").exists()
    assert LogEntry.objects.filter(app_user=alice, kind="link:removed").exists()
    response = api.delete(f"/v1/appusers/{alice.id}/channels/twilio", headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")
