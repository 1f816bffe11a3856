"""Authentication and scopes: JWTs (HS256 + kid), app tokens, appUser
secure mode, account keys, isolation between apps and teams, and the
401/403 bodies. Failures with a known app land in its log."""

import jwt as pyjwt
import pytest
from django.utils import timezone

from messaging.models import LogEntry
from tests.api.conftest import bearer, error_of, make_jwt


@pytest.mark.smoke
def test_it_requires_credentials(api, alice):
    response = api.get(f"/v1/appusers/{alice.id}")
    assert error_of(response) == (401, "unauthorized", "Authorization is required.")


def test_it_accepts_an_app_jwt(api, app_jwt, alice):
    assert api.get(f"/v1/appusers/{alice.id}", headers=app_jwt).status_code == 200


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token claims a userId
def test_it_accepts_the_app_token_for_app_user_endpoints(api, app_token, alice):
    assert api.get(f"/v1/appusers/{alice.id}", headers=app_token).status_code == 200


def test_it_rejects_an_unknown_app_token(api, alice):
    response = api.get(f"/v1/appusers/{alice.id}", headers={"app-token": "nope"})
    assert error_of(response) == (401, "unauthorized", "Invalid app token.")


def test_it_rejects_a_malformed_authorization_header(api, alice):
    response = api.get(f"/v1/appusers/{alice.id}", headers={"Authorization": "Token abc"})
    assert error_of(response)[:2] == (401, "unauthorized")


def test_it_rejects_an_unsigned_token(api, app, alice):
    token = pyjwt.encode({"scope": "app"}, None, algorithm="none", headers={"kid": app.test_key.key_id})
    response = api.get(f"/v1/appusers/{alice.id}", headers=bearer(token))
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: only HS256-signed tokens are accepted.")


def test_it_rejects_a_bad_signature_and_logs_it(api, app, alice):
    token = make_jwt(app.test_key.key_id, "wrong-secret-wrong-secret-wrong-secret", "app")
    response = api.get(f"/v1/appusers/{alice.id}", headers=bearer(token))
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: bad signature.")
    entry = LogEntry.objects.get(app=app, kind="auth:failure")
    assert entry.detail["keyId"] == app.test_key.key_id
    assert "wrong-secret-wrong-secret-wrong-secret" not in str(entry.detail) and token not in str(entry.detail)


def test_it_rejects_an_unknown_kid(api, app, alice):
    token = make_jwt("app_doesnotexist", app.test_secret, "app")
    response = api.get(f"/v1/appusers/{alice.id}", headers=bearer(token))
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: unknown key id.")


def test_it_rejects_a_token_without_kid(api, app, alice):
    token = pyjwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256")
    response = api.get(f"/v1/appusers/{alice.id}", headers=bearer(token))
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: the header has no kid.")


def test_it_rejects_a_revoked_key(api, app, alice, app_jwt):
    app.test_key.revoked_at = timezone.now()
    app.test_key.save()
    response = api.get(f"/v1/appusers/{alice.id}", headers=app_jwt)
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: this key has been revoked.")
    assert LogEntry.objects.filter(app=app, kind="auth:failure").count() == 1


def test_it_rejects_a_token_without_scope(api, app, alice):
    token = make_jwt(app.test_key.key_id, app.test_secret, "admin")
    response = api.get(f"/v1/appusers/{alice.id}", headers=bearer(token))
    assert error_of(response)[:2] == (401, "unauthorized")


def test_it_rejects_an_app_user_jwt_without_user_id(api, app, alice):
    token = make_jwt(app.test_key.key_id, app.test_secret, "appUser")
    response = api.get(f"/v1/appusers/{alice.id}", headers=bearer(token))
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: appUser scope needs a userId claim.")


def test_it_forbids_app_scope_endpoints_to_the_app_token(api, app_token, app):
    response = api.get("/v1/webhooks", headers=app_token)
    status, code, _ = error_of(response)
    assert (status, code) == (403, "forbidden")
    assert LogEntry.objects.filter(app=app, kind="auth:failure").exists()


def test_app_token_failures_cannot_flood_the_log(api, app_token, app):
    # The app token is public: repeated failures with it are logged once a minute.
    for _ in range(5):
        assert api.get("/v1/webhooks", headers=app_token).status_code == 403
    assert LogEntry.objects.filter(app=app, kind="auth:failure").count() == 1


def test_it_forbids_app_scope_endpoints_to_app_user_jwts(api, user_jwt, alice):
    response = api.post("/v1/appusers", {"userId": "x"}, headers=user_jwt("alice"))
    assert error_of(response)[:2] == (403, "forbidden")


def test_it_lets_an_app_user_jwt_reach_only_its_user(api, user_jwt, alice, make_user, app):
    other = make_user(app, "carol")
    assert api.get(f"/v1/appusers/{alice.id}", headers=user_jwt("alice")).status_code == 200
    response = api.get(f"/v1/appusers/{other.id}", headers=user_jwt("alice"))
    assert error_of(response) == (403, "forbidden", "This JWT is for another user.")


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token claims a userId
@pytest.mark.smoke
def test_it_secures_a_user_after_an_app_user_jwt(api, user_jwt, app_token, alice):
    assert api.get(f"/v1/appusers/{alice.id}", headers=app_token).status_code == 200
    response = api.get(f"/v1/appusers/{alice.id}", headers=user_jwt("alice"))
    assert response.data["appUser"]["credentialRequired"] is True
    response = api.get(f"/v1/appusers/{alice.id}", headers=app_token)
    assert error_of(response)[:2] == (401, "unauthorized")
    # The app-scope JWT still reaches the user.
    alice.refresh_from_db()
    assert alice.credential_required


def test_it_requires_an_account_key_to_use_apps_paths(api, account_jwt, alice):
    response = api.get(f"/v1/appusers/{alice.id}", headers=account_jwt)
    assert error_of(response)[:2] == (403, "forbidden")


def test_it_lets_an_account_key_reach_its_teams_apps(api, account_jwt, app, alice):
    response = api.get(f"/v1/apps/{app.id}/appusers/{alice.id}", headers=account_jwt)
    assert response.status_code == 200
    assert response.data["appUser"]["_id"] == alice.id


def test_it_hides_other_teams_apps_from_an_account_key(api, account_jwt, other_app):
    response = api.get(f"/v1/apps/{other_app.id}/appusers/{other_app.user.id}", headers=account_jwt)
    assert error_of(response)[:2] == (404, "not_found")
    response = api.get(f"/v1/apps/{other_app.id}/webhooks", headers=account_jwt)
    assert error_of(response)[:2] == (404, "not_found")


def test_it_hides_other_apps_users_from_an_app_key(api, app_jwt, app_token, other_app, app):
    for headers in (app_jwt, app_token):
        response = api.get(f"/v1/appusers/{other_app.user.id}", headers=headers)
        assert error_of(response)[:2] == (404, "not_found")
    # And through /apps/{appId} with the other app's id.
    response = api.get(f"/v1/apps/{other_app.id}/appusers/{other_app.user.id}", headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")


def test_it_hides_a_same_user_id_in_another_app(api, app_jwt, other_app):
    response = api.get("/v1/appusers/bob", headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")


def test_it_answers_json_404_for_unknown_paths(api):
    for path in ("/v1/nope", "/v1/appusers/x/nope", "/v1.1/", "/v1/apps/x/nothing"):
        response = api.get(path)
        assert response["Content-Type"] == "application/json"
        assert error_of(response)[:2] == (404, "not_found")


def test_it_answers_json_405_for_unknown_methods(api, app_jwt, alice):
    response = api.client.patch(f"/v1/appusers/{alice.id}", headers=app_jwt)
    assert error_of(response)[:2] == (405, "method_not_allowed")
