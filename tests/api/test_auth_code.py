"""GET .../authcode and its exchange: a code the business gets for a user,
which an SDK's /v1/init (with the app token) spends once, within ten
minutes, to bring its device into that user's conversation, even a user
the app token alone could never reach (a userId under requireUserJwt)."""

import time

import pytest

from messaging.models import AppUser, Client, Message
from messaging.services.credentials import AUTH_CODE_SECONDS
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db

DEVICE = {"id": "9d0c1a7e5b3f4e2a8c6b1d0e7f9a2b3c", "platform": "web"}


def auth_code(api, user, headers):
    response = api.get(f"/v1.1/appusers/{user.id}/authcode", headers=headers)
    assert response.status_code == 200, response.content
    return response.data["authCode"]


def init(api, app, body):
    return api.post("/v1/init", body, headers={"app-token": app.app_token})


def test_the_code_brings_a_device_into_the_users_conversation_once(api, app, app_jwt, alice):
    assert app.require_user_jwt  # the app token alone never reaches alice
    code = auth_code(api, alice, app_jwt)
    assert code.startswith("ac_")
    response = init(api, app, {"device": DEVICE, "authCode": code})
    assert response.status_code == 200, response.content
    assert response.data["appUser"]["_id"] == alice.id
    device = Client.objects.get(external_id=DEVICE["id"])
    assert (device.app_user_id, device.platform) == (alice.id, "web")
    again = init(api, app, {"device": {**DEVICE, "id": "another-device"}, "authCode": code})
    assert error_of(again)[:2] == (401, "unauthorized")
    assert not Client.objects.filter(external_id="another-device").exists()


def test_an_anonymous_device_brings_its_conversation_along(api, app, app_jwt, alice):
    anonymous = init(api, app, {"device": DEVICE}).data["appUser"]["_id"]
    Message.objects.create(app=app, app_user_id=anonymous, role="appUser", text="before the code")
    response = init(api, app, {"device": DEVICE, "authCode": auth_code(api, alice, app_jwt)})
    assert response.data["appUser"]["_id"] == alice.id
    assert Message.objects.get(text="before the code").app_user_id == alice.id
    assert not AppUser.objects.filter(pk=anonymous).exists()


def test_a_code_is_refused_for_another_app_when_expired_or_forged(api, app, app_jwt, alice, make_app, team,
                                                                  monkeypatch):
    other = make_app(team, "App B")
    code = auth_code(api, alice, app_jwt)
    assert error_of(init(api, other, {"device": DEVICE, "authCode": code}))[:2] == (401, "unauthorized")
    assert error_of(init(api, app, {"device": DEVICE, "authCode": code[:-2] + "xx"}))[0] == 401
    assert error_of(init(api, app, {"device": DEVICE, "authCode": "ac_nothing"}))[0] == 401
    later = time.time() + AUTH_CODE_SECONDS + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert error_of(init(api, app, {"device": DEVICE, "authCode": code}))[0] == 401
    assert not Client.objects.filter(external_id=DEVICE["id"]).exists()


def test_a_code_of_a_deleted_user_is_refused(api, app, app_jwt, make_user):
    bob = make_user(app, "bob")
    code = auth_code(api, bob, app_jwt)
    bob.delete()
    assert error_of(init(api, app, {"device": DEVICE, "authCode": code}))[0] == 401


def test_only_the_business_gets_a_code(api, app, alice, user_jwt, other_app, app_jwt):
    response = api.get(f"/v1.1/appusers/{alice.id}/authcode", headers=user_jwt("alice"))
    assert error_of(response)[:2] == (403, "forbidden")
    response = api.get(f"/v1.1/appusers/{other_app.user.id}/authcode", headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")


def test_user_id_and_auth_code_are_mutually_exclusive(api, app, app_jwt, alice):
    code = auth_code(api, alice, app_jwt)
    status, code_name, description = error_of(init(api, app, {"device": DEVICE, "authCode": code,
                                                               "userId": "alice"}))
    assert (status, code_name) == (400, "bad_request") and "mutually exclusive" in description
    assert init(api, app, {"device": DEVICE, "authCode": code}).status_code == 200  # not spent by the refusal
