"""Apps at account scope: POST/GET /v1/apps, GET/PUT/DELETE /v1/apps/{appId},
GET /v1/apps/{appId}/sdks, through the dashboard's services
(messaging.services.apps) with the team itself acting; app keys refused,
bad bodies change nothing."""

import pytest

from messaging.models import ApiKey, App, AppUser, Membership
from messaging.services import apps as apps_service
from messaging.services.errors import PermissionDenied
from tests.api.conftest import bearer, error_of, make_jwt


def test_it_creates_an_app_with_settings_and_metadata(api, account_jwt, team):
    response = api.post("/v1.1/apps", {"name": " Tacos ", "settings": {"requireUserJwt": False,
                        "allowedOrigins": ["https://shop.example:443", "http://127.0.0.1:8000"],
                        "logRetentionDays": 7}, "metadata": {"plan": "gold"}}, headers=account_jwt)
    assert response.status_code == 201, response.content
    body = response.data["app"]
    app = App.objects.get(id=body["_id"])
    assert (app.team, app.name, app.require_user_jwt) == (team, "Tacos", False)
    assert body == {"_id": app.id, "appToken": app.app_token, "name": "Tacos", "metadata": {"plan": "gold"},
                    "settings": {"requireUserJwt": False, "logRetentionDays": 7,
                                 "allowedOrigins": ["https://shop.example", "http://127.0.0.1:8000"]}}
    assert apps_service.origin_allowed(app, "https://shop.example")


def test_a_new_app_requires_user_jwts_by_default(api, account_jwt):
    body = api.post("/v1/apps", {"name": "Plain"}, headers=account_jwt).data["app"]
    assert body["settings"]["requireUserJwt"] is True and body["metadata"] == {}
    assert App.objects.get(id=body["_id"]).require_user_jwt


@pytest.mark.parametrize("body,words", [
    ({}, "name is required"),
    ({"name": "  "}, "name must not be empty"),
    ({"name": "x" * 101}, "at most 100"),
    ({"name": "A", "settings": {"maskCreditCardNumbers": True}}, "requireUserJwt, allowedOrigins"),
    ({"name": "A", "settings": {"allowedOrigins": ["https://shop.example/path"]}}, "origin"),
    ({"name": "A", "settings": {"allowedOrigins": ["HTTPS://Shop.example"]}}, "origin"),
    ({"name": "A", "settings": {"allowedOrigins": ["https://shop.example:70000"]}}, "must be an origin as browsers send it"),
    ({"name": "A", "settings": {"logRetentionDays": 0}}, "between 1 and 3650"),
    ({"name": "A", "settings": {"requireUserJwt": "yes"}}, "true or false"),
    ({"name": "A", "metadata": {"a": {"b": 1}}}, "flat"),
])
def test_a_bad_body_is_a_400_and_creates_nothing(api, account_jwt, app, body, words):
    before = App.objects.count()
    response = api.post("/v1/apps", body, headers=account_jwt)
    status, code, description = error_of(response)
    assert (status, code) == (400, "bad_request") and words in description, description
    assert App.objects.count() == before


def test_it_lists_the_teams_apps_with_paging(api, account_jwt, team, make_app, other_app):
    apps = [make_app(team, f"App {n}", with_key=False) for n in range(3)]
    listed = api.get("/v1/apps", headers=account_jwt).data
    assert [a["_id"] for a in listed["apps"]] == [a.id for a in apps] and listed["hasMore"] is False
    assert listed["offset"] == 0
    page = api.get("/v1/apps", {"limit": 2}, headers=account_jwt).data
    assert ([a["_id"] for a in page["apps"]], page["hasMore"]) == ([apps[0].id, apps[1].id], True)
    page = api.get("/v1.1/apps", {"limit": 2, "offset": 2}, headers=account_jwt).data
    assert ([a["_id"] for a in page["apps"]], page["hasMore"], page["offset"]) == ([apps[2].id], False, 2)
    assert error_of(api.get("/v1/apps", {"limit": 0}, headers=account_jwt))[0] == 400
    # A service account's keys reach every app of the team: the whole list;
    # an unknown (or another team's) account is a 404.
    account = api.post("/v1.1/serviceaccounts", {"name": "CRM"}, headers=account_jwt).data["serviceAccount"]
    by_account = api.get("/v1.1/apps", {"serviceAccountId": account["_id"]}, headers=account_jwt).data
    assert [a["_id"] for a in by_account["apps"]] == [a.id for a in apps]
    assert error_of(api.get("/v1/apps", {"serviceAccountId": "x"}, headers=account_jwt))[:2] == (404, "not_found")


def test_it_gets_updates_and_deletes_an_app(api, account_jwt, app, alice):
    got = api.get(f"/v1/apps/{app.id}", headers=account_jwt).data["app"]
    assert (got["_id"], got["name"], got["appToken"]) == (app.id, "App A", app.app_token)
    response = api.put(f"/v1.1/apps/{app.id}", {"name": "Renamed", "settings": {"logRetentionDays": 30},
                       "metadata": {"tier": 2}}, headers=account_jwt)
    assert response.status_code == 200, response.content
    app.refresh_from_db()
    assert app.name == "Renamed" and app.settings["logRetentionDays"] == 30
    assert response.data["app"]["settings"]["requireUserJwt"] is True  # untouched
    assert response.data["app"]["metadata"] == {"tier": 2}
    # A bad update changes nothing, even the valid parts before it.
    bad = api.put(f"/v1/apps/{app.id}", {"name": "Again", "settings": {"logRetentionDays": 99999}},
                  headers=account_jwt)
    assert error_of(bad)[0] == 400
    app.refresh_from_db()
    assert app.name == "Renamed"
    assert api.delete(f"/v1/apps/{app.id}", headers=account_jwt).data == {}
    assert not App.objects.filter(id=app.id).exists() and not AppUser.objects.filter(id=alice.id).exists()
    assert error_of(api.get(f"/v1/apps/{app.id}", headers=account_jwt))[:2] == (404, "not_found")


def test_sdks_answers_the_app_token(api, account_jwt, app):
    body = api.get(f"/v1.1/apps/{app.id}/sdks", headers=account_jwt).data
    assert body == {"android": app.app_token, "ios": app.app_token, "web": app.app_token}


def test_another_teams_app_is_a_404_and_app_keys_are_refused(api, account_jwt, app, other_app):
    for method, path in (("get", f"/v1/apps/{other_app.id}"), ("put", f"/v1/apps/{other_app.id}"),
                         ("delete", f"/v1/apps/{other_app.id}"), ("get", f"/v1/apps/{other_app.id}/sdks")):
        response = getattr(api, method)(path, {"name": "Pwned"} if method == "put" else None, headers=account_jwt)
        assert error_of(response)[:2] == (404, "not_found"), path
    other_app.refresh_from_db()
    assert other_app.name == "App B"
    app_key = bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))
    for method, path in (("get", "/v1/apps"), ("post", "/v1/apps"), ("get", f"/v1/apps/{app.id}"),
                         ("delete", f"/v1/apps/{app.id}"), ("get", f"/v1/apps/{app.id}/sdks")):
        response = getattr(api, method)(path, {"name": "X"} if method == "post" else None, headers=app_key)
        status, code, description = error_of(response)
        assert (status, code) == (403, "forbidden") and "account scope" in description, path
    assert App.objects.filter(id=app.id).exists() and App.objects.count() == 2


def test_the_services_let_owners_admins_and_the_team_key_act_but_not_agents(app, owner, admin, agent, stranger):
    """The dashboard's path (a membership) and the API's (TEAM_ITSELF)."""
    for user in (agent, stranger):
        membership = Membership.objects.filter(user=user).first()
        with pytest.raises(PermissionDenied):
            apps_service.configure_app(app=app, membership=membership, name="Nope")
        with pytest.raises(PermissionDenied):
            apps_service.create_configured_app(team=app.team, name="Nope", membership=membership)
    app.refresh_from_db()
    assert app.name == "App A"
    admin_membership = Membership.objects.get(user=admin, team=app.team)
    apps_service.configure_app(app=app, membership=admin_membership, name="By admin")
    apps_service.configure_app(app=app, membership=apps_service.TEAM_ITSELF, metadata={"by": "key"})
    app.refresh_from_db()
    assert app.name == "By admin" and apps_service.app_metadata(app) == {"by": "key"}
    assert ApiKey.objects.filter(app=app).count() == 1
