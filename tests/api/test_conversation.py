"""conversation/read and conversation/activity (typing)."""

import pytest

from messaging.models import LogEntry
from tests.api.conftest import error_of


def send(api, headers, user, text="hi"):
    return api.post(f"/v1/appusers/{user.id}/messages", {"role": "appMaker", "type": "text", "text": text},
                    headers=headers)


def test_it_resets_the_unread_count(api, app_jwt, as_alice, alice):
    send(api, app_jwt, alice)
    send(api, app_jwt, alice)
    alice.refresh_from_db()
    assert alice.unread_count == 2
    response = api.post(f"/v1/appusers/{alice.id}/conversation/read", headers=as_alice)
    assert response.status_code == 200 and response.data == {}
    alice.refresh_from_db()
    assert alice.unread_count == 0
    assert LogEntry.objects.filter(app_user=alice, kind="conversation:read").exists()


def test_it_answers_404_when_reading_without_conversation(api, as_alice, alice):
    response = api.post(f"/v1/appusers/{alice.id}/conversation/read", headers=as_alice)
    assert error_of(response)[:2] == (404, "not_found")


@pytest.mark.smoke
def test_it_sends_typing_without_a_role(api, app_jwt, alice):
    for action in ("typing:start", "typing:stop"):
        response = api.post(f"/v1/appusers/{alice.id}/conversation/activity", {"type": action}, headers=app_jwt)
        assert response.status_code == 200, response.content
        # An app JWT: the business also sees the inbox status (Parley extension).
        assert response.data == {"conversation": {"_id": alice.id, "unreadCount": 0, "status": "open"}}
    states = [e.detail["state"] for e in LogEntry.objects.filter(app_user=alice, kind="typing:appMaker").order_by("id")]
    assert states == ["start", "stop"]


def test_it_passes_name_and_avatar(api, app_jwt, alice):
    response = api.post(f"/v1/appusers/{alice.id}/conversation/activity",
                        {"role": "appMaker", "type": "typing:start", "name": "Ann",
                         "avatarUrl": "https://example.org/a.png"}, headers=app_jwt)
    assert response.status_code == 200
    entry = LogEntry.objects.get(app_user=alice, kind="typing:appMaker")
    assert entry.detail["name"] == "Ann" and entry.detail["avatarUrl"] == "https://example.org/a.png"


@pytest.mark.parametrize("body,description", [
    ({}, "type is required."),
    ({"type": "typing"}, "type must be typing:start or typing:stop."),
    ({"type": "typing:start", "role": "appUser"}, "role must be appMaker."),
    ({"type": "typing:start", "avatarUrl": "nope"}, "avatarUrl must be an http or https URL."),
])
def test_it_rejects_invalid_activity(api, app_jwt, alice, body, description):
    response = api.post(f"/v1/appusers/{alice.id}/conversation/activity", body, headers=app_jwt)
    assert error_of(response) == (400, "bad_request", description)
    assert not LogEntry.objects.filter(kind="typing:appMaker").exists()


def test_it_requires_app_scope_for_typing(api, as_alice, alice):
    response = api.post(f"/v1/appusers/{alice.id}/conversation/activity", {"type": "typing:start"},
                        headers=as_alice)
    assert error_of(response)[:2] == (403, "forbidden")
