"""App users: pre-create, get, update, delete profile, delete entirely,
track events, update devices."""

import pytest

from messaging.models import AppUser, Client, LogEntry, Message
from tests.api.conftest import add_client, error_of


@pytest.mark.smoke
def test_it_pre_creates_an_app_user(api, app_jwt, app):
    response = api.post("/v1/appusers", {"userId": "steveb@channel5.com", "givenName": "Steve",
                                         "properties": {"favoriteFood": "prizza"}}, headers=app_jwt)
    assert response.status_code == 201, response.content
    body = response.data["appUser"]
    assert body["userId"] == "steveb@channel5.com" and body["givenName"] == "Steve"
    assert body["properties"] == {"favoriteFood": "prizza"}
    assert body["conversationStarted"] is False and body["credentialRequired"] is False
    assert "surname" not in body  # keys without a value are left out
    user = AppUser.objects.get(app=app, user_id="steveb@channel5.com")
    assert LogEntry.objects.filter(app_user=user, kind="appUser:created").exists()


@pytest.mark.require_user_jwt(False)  # the credentialRequired rule, on its own
def test_it_pre_creates_a_secured_user(api, app_jwt, app_token):
    response = api.post("/v1/appusers", {"userId": "sec", "credentialRequired": True}, headers=app_jwt)
    assert response.data["appUser"]["credentialRequired"] is True
    assert error_of(api.get("/v1/appusers/sec", headers=app_token))[:2] == (401, "unauthorized")


@pytest.mark.parametrize("body,description", [
    ({}, "userId is required."),
    ({"userId": ""}, "userId must be a non-empty string."),
    ({"userId": 5}, "userId must be a non-empty string."),
    ({"userId": "a", "givenName": 3}, "givenName must be a string."),
    ({"userId": "a", "signedUpAt": "yesterday"}, "signedUpAt must be an ISO 8601 time"),
    ({"userId": "a", "signedUpAt": "2020-13-01T00:00:00Z"}, "signedUpAt must be an ISO 8601 time"),
    ({"userId": "a", "signedUpAt": "2020-01-01T00:00:00+99:00"}, "signedUpAt must be an ISO 8601 time"),
    ({"userId": "a", "properties": {"a": {"b": 1}}}, "properties must be a flat JSON object"),
    ({"userId": "a", "credentialRequired": "yes"}, "credentialRequired must be true or false."),
])
def test_it_rejects_invalid_pre_creations(api, app_jwt, body, description):
    status, code, text = error_of(api.post("/v1/appusers", body, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and description in text
    assert not AppUser.objects.exists()


def test_an_id_names_its_own_user_before_a_look_alike_user_id(api, app_jwt, as_alice, alice):
    # Anyone may pick a userId shaped like another user's _id; the path
    # segment still names the user whose _id it is (even when the impostor's
    # own _id sorts first).
    AppUser.objects.create(app=alice.app, id="0" * 24, user_id=alice.id)
    assert api.get(f"/v1/appusers/{alice.id}", headers=as_alice).data["appUser"]["_id"] == alice.id


def test_it_refuses_a_duplicate_user_id(api, app_jwt, alice):
    response = api.post("/v1/appusers", {"userId": "alice"}, headers=app_jwt)
    assert error_of(response)[:2] == (409, "conflict")
    assert AppUser.objects.filter(user_id="alice").count() == 1


def test_it_requires_an_app_jwt_to_pre_create(api, app_token):
    assert error_of(api.post("/v1/appusers", {"userId": "x"}, headers=app_token))[:2] == (403, "forbidden")


@pytest.mark.smoke
def test_it_gets_an_app_user_by_id_or_user_id(api, as_alice, alice):
    for ref in (alice.id, "alice"):
        response = api.get(f"/v1/appusers/{ref}", headers=as_alice)
        assert response.status_code == 200
        body = response.data["appUser"]
        assert body["_id"] == alice.id and body["givenName"] == "Alice"
        assert [c["platform"] for c in body["clients"]] == ["web"]
        assert body["pendingClients"] == []


def test_it_updates_additively(api, as_alice, alice):
    alice.properties = {"plan": "free", "age": 30}
    alice.save()
    response = api.put(f"/v1/appusers/{alice.id}", {"surname": "Smith", "properties": {"plan": "pro"},
                                                    "signedUpAt": "2015-10-08T23:52:11.677Z"},
                       headers=as_alice)
    assert response.status_code == 200, response.content
    body = response.data["appUser"]
    assert body["givenName"] == "Alice" and body["surname"] == "Smith"
    assert body["properties"] == {"plan": "pro", "age": 30}
    assert body["signedUpAt"] == "2015-10-08T23:52:11.677Z"
    assert LogEntry.objects.filter(app_user=alice, kind="appUser:updated").exists()


def test_it_rejects_an_invalid_update(api, as_alice, alice):
    response = api.put(f"/v1/appusers/{alice.id}", {"givenName": "Bob", "properties": []}, headers=as_alice)
    assert error_of(response) == (400, "bad_request", "properties must be a flat JSON object.")
    alice.refresh_from_db()
    assert alice.given_name == "Alice"


def test_it_deletes_the_profile(api, app_jwt, alice):
    alice.email = "alice@example.org"
    alice.properties = {"a": 1}
    alice.save()
    alice.clients.update(display_name="Alice W", info={"os": "x"})
    response = api.delete(f"/v1/appusers/{alice.id}/profile", headers=app_jwt)
    assert response.status_code == 200
    body = response.data["appUser"]
    assert {"givenName", "surname", "email"}.isdisjoint(body) and body["properties"] == {}
    assert "displayName" not in body["clients"][0] and "info" not in body["clients"][0]
    alice.refresh_from_db()
    assert (alice.given_name, alice.surname, alice.email, alice.properties) == ("", "", "", {})


def test_it_requires_app_scope_to_delete_a_profile(api, as_alice, alice):
    assert error_of(api.delete(f"/v1/appusers/{alice.id}/profile", headers=as_alice))[:2] == (403, "forbidden")


@pytest.mark.smoke
def test_it_deletes_a_user_and_everything_they_own(api, app_jwt, app, alice):
    api.post(f"/v1/appusers/{alice.id}/messages", {"role": "appMaker", "type": "text", "text": "hi"},
             headers=app_jwt)
    assert Message.objects.filter(app_user=alice).exists()
    response = api.delete(f"/v1/appusers/{alice.id}", headers=app_jwt)
    assert response.status_code == 200 and response.data == {}
    assert not AppUser.objects.filter(pk=alice.pk).exists()
    assert not Message.objects.filter(app_user_id=alice.pk).exists()
    assert not Client.objects.filter(app_user_id=alice.pk).exists()
    assert not LogEntry.objects.filter(app_user_id=alice.pk).exists()
    deleted = LogEntry.objects.get(app=app, kind="appUser:deleted")
    assert "Alice" not in deleted.summary
    assert error_of(api.get(f"/v1/appusers/{alice.id}", headers=app_jwt))[:2] == (404, "not_found")


def test_it_tracks_an_event(api, as_alice, alice):
    response = api.post(f"/v1/appusers/{alice.id}/events", {"name": "completed_sale"}, headers=as_alice)
    assert response.status_code == 201 and response.data == {"conversationUpdated": False}
    assert LogEntry.objects.get(app_user=alice, kind="appUser:updated").detail["event"] == "completed_sale"


def test_it_rejects_an_event_without_name(api, as_alice, alice):
    assert error_of(api.post(f"/v1/appusers/{alice.id}/events", {}, headers=as_alice)) == (
        400, "bad_request", "name is required.")


def test_it_updates_a_device(api, as_alice, alice):
    client = add_client(alice, "ios", "DEVICE-1", info={"os": "iPhone OS"})
    response = api.put(f"/v1/appusers/{alice.id}/devices/DEVICE-1",
                       {"appVersion": "8.0", "info": {"osVersion": "9.2"}}, headers=as_alice)
    assert response.status_code == 200, response.content
    assert response.data["device"]["appVersion"] == "8.0"
    client.refresh_from_db()
    assert client.info == {"os": "iPhone OS", "osVersion": "9.2"}
    response = api.put(f"/v1/appusers/{alice.id}/devices/unknown", {"appVersion": "1"}, headers=as_alice)
    assert error_of(response)[:2] == (404, "not_found")


def test_it_updates_the_profile_sent_with_an_event(api, as_alice, alice):
    response = api.post(f"/v1/appusers/{alice.id}/events", {"name": "signed_up", "appUser": {"surname": "Doe"}},
                        headers=as_alice)
    assert response.status_code == 201
    alice.refresh_from_db()
    assert alice.surname == "Doe"
