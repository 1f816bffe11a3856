"""POST /v1/init: devices become clients; userId logs in (merging an
anonymous user into the identified one); widget branding; allowed origins."""

import pytest

from messaging.models import AppUser, Client, LogEntry, Message
from tests.api.conftest import bearer, error_of, make_jwt

DEVICE = {"id": "03f70682b7f5b21536a3674f38b3e220", "platform": "web", "appVersion": "1.0",
          "info": {"currentUrl": "http://mywebsite.com"}}


def init(api, app, body, **headers):
    return api.post("/v1/init", body, headers={"app-token": app.app_token, **headers})


@pytest.mark.smoke
def test_it_creates_an_anonymous_user_for_a_new_device(api, app):
    app.settings = {"widget": {"name": "Acme", "iconUrl": "https://example.org/i.png",
                               "accentColor": "#ff0000", "greeting": "Hi!"}}
    app.save()
    response = init(api, app, {"device": DEVICE})
    assert response.status_code == 200, response.content
    assert response.data["app"] == {"_id": app.id, "name": "Acme", "hasIcon": True, "apnEnabled": False,
                                    "iconUrl": "https://example.org/i.png", "accentColor": "#ff0000",
                                    "greeting": "Hi!"}
    user = AppUser.objects.get(pk=response.data["appUser"]["_id"])
    assert user.user_id is None
    client = Client.objects.get(app_user=user)
    assert (client.platform, client.external_id, client.app_version) == ("web", DEVICE["id"], "1.0")
    assert client.info == {"currentUrl": "http://mywebsite.com"}
    assert response.data["appUser"]["clients"][0]["id"] == DEVICE["id"]
    assert LogEntry.objects.filter(app_user=user, kind="appUser:created").exists()


def test_it_finds_the_same_user_for_a_known_device(api, app):
    first = init(api, app, {"device": DEVICE}).data["appUser"]["_id"]
    again = init(api, app, {"device": {**DEVICE, "appVersion": "2.0"}}).data["appUser"]["_id"]
    assert first == again
    assert Client.objects.get().app_version == "2.0"


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token claims a userId
def test_it_creates_an_identified_user(api, app):
    response = init(api, app, {"device": DEVICE, "userId": "bob@example.com"})
    assert response.data["appUser"]["userId"] == "bob@example.com"


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token claims a userId
def test_it_keeps_the_conversation_when_an_anonymous_user_logs_in(api, app):
    anon = init(api, app, {"device": DEVICE}).data["appUser"]["_id"]
    response = init(api, app, {"device": DEVICE, "userId": "bob"})
    assert response.data["appUser"]["_id"] == anon
    assert AppUser.objects.get(pk=anon).user_id == "bob"


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token claims a userId
def test_it_merges_an_anonymous_user_into_the_identified_one(api, app, alice):
    anon_id = init(api, app, {"device": DEVICE}).data["appUser"]["_id"]
    anon = AppUser.objects.get(pk=anon_id)
    Message.objects.create(app=app, app_user=anon, role="appUser", text="before login")
    response = init(api, app, {"device": DEVICE, "userId": "alice"})
    assert response.data["appUser"]["_id"] == alice.id
    assert not AppUser.objects.filter(pk=anon_id).exists()
    assert Message.objects.get(text="before login").app_user_id == alice.id
    assert set(Client.objects.filter(app_user=alice).values_list("platform", flat=True)) == {"web"}
    assert Client.objects.filter(app_user=alice, external_id=DEVICE["id"]).exists()
    merge = LogEntry.objects.get(app=app, kind="merge:appUser")
    assert merge.detail["surviving"]["_id"] == alice.id
    assert merge.detail["discarded"] == [{"_id": anon_id, "conversationStarted": False}]


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token claims a userId
def test_a_merge_keeps_the_teams_notes_and_assignee(api, app, alice, owner):
    from messaging.models import Membership, Note
    from messaging.services import inbox

    me = Membership.objects.select_related("user").get(user=owner)
    anon = AppUser.objects.get(pk=init(api, app, {"device": DEVICE}).data["appUser"]["_id"])
    inbox.add_note(anon, me, "asked about pricing")
    inbox.update_conversation(anon, {"assignee_email": "owner@a.example"})
    init(api, app, {"device": DEVICE, "userId": "alice"})
    assert Note.objects.get().app_user_id == alice.id
    assert AppUser.objects.get(pk=alice.pk).assignee_id == me.pk


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token claims a userId
def test_it_moves_a_device_between_identified_users(api, app):
    first = init(api, app, {"device": DEVICE, "userId": "u1"}).data["appUser"]["_id"]
    second = init(api, app, {"device": DEVICE, "userId": "u2"}).data["appUser"]["_id"]
    assert first != second
    assert AppUser.objects.filter(pk=first).exists()
    assert Client.objects.get(external_id=DEVICE["id"]).app_user_id == second


def test_it_refuses_other_origins_when_allowed_origins_are_set(api, app):
    app.settings = {"allowedOrigins": ["https://shop.example"]}
    app.save()
    response = init(api, app, {"device": DEVICE}, Origin="https://evil.example")
    assert error_of(response) == (403, "forbidden", "Origin https://evil.example is not allowed to embed this app")
    assert not AppUser.objects.exists()
    assert init(api, app, {"device": DEVICE}, Origin="https://shop.example").status_code == 200


def test_it_requires_a_jwt_for_a_secured_user(api, app, user_jwt):
    AppUser.objects.create(app=app, user_id="sec", credential_required=True)
    response = init(api, app, {"device": DEVICE, "userId": "sec"})
    assert error_of(response)[:2] == (401, "unauthorized")
    assert not Client.objects.exists()
    response = init(api, app, {"device": DEVICE, "userId": "sec"}, **user_jwt("sec"))
    assert response.status_code == 200, response.content
    assert response.data["appUser"]["userId"] == "sec"


def test_a_secured_users_device_is_not_taken_by_an_app_token_caller(api, app, user_jwt):
    device = {**DEVICE, "platform": "ios", "pushNotificationToken": "bob-push"}
    bob = init(api, app, {"device": device, "userId": "bob"}, **user_jwt("bob")).data["appUser"]["_id"]
    # Someone who knows the device id, with only the app token:
    response = init(api, app, {"device": {"id": DEVICE["id"], "platform": "ios"}})
    assert response.status_code == 200, response.content
    stranger = response.data["appUser"]
    assert stranger["_id"] != bob
    assert "pushNotificationToken" not in stranger["clients"][0]
    # Bob keeps his device and its push token.
    kept = Client.objects.get(app_user_id=bob)
    assert (kept.external_id, kept.push_token) == (DEVICE["id"], "bob-push")


def test_it_secures_a_user_logged_in_with_a_jwt(api, app, user_jwt):
    response = init(api, app, {"device": DEVICE, "userId": "newbie"}, **user_jwt("newbie"))
    assert response.data["appUser"]["credentialRequired"] is True


def test_it_refuses_a_jwt_for_another_user_id(api, app, user_jwt):
    response = init(api, app, {"device": DEVICE, "userId": "mallory"}, **user_jwt("alice"))
    assert error_of(response)[:2] == (403, "forbidden")


def test_it_refuses_a_jwt_of_another_app(api, app, other_app):
    token = make_jwt(other_app.test_key.key_id, other_app.test_secret, "appUser", userId="bob")
    response = init(api, app, {"device": DEVICE, "userId": "bob"}, **bearer(token))
    assert error_of(response)[:2] == (401, "unauthorized")


def test_it_requires_credentials(api):
    assert error_of(api.post("/v1/init", {"device": DEVICE}))[:2] == (401, "unauthorized")


@pytest.mark.parametrize("body,description", [
    ({}, "device is required."),
    ({"device": "web"}, "device must be an object."),
    ({"device": {"platform": "web"}}, "device.id is required."),
    ({"device": {"id": "x"}}, "device.platform is required."),
    ({"device": {"id": "x", "platform": "symbian"}}, "device.platform must be ios, android, web or other."),
    ({"device": {"id": "x", "platform": "web", "info": {"a": {"b": 1}}}}, "device.info must be a flat JSON object"),
    ({"device": DEVICE, "userId": ""}, "userId must be a non-empty string."),
])
def test_it_rejects_invalid_init(api, app, body, description):
    status, code, text = error_of(init(api, app, body))
    assert (status, code) == (400, "bad_request") and description in text
    assert not AppUser.objects.exists()
