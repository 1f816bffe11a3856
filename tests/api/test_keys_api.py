"""App keys at account scope: POST/GET /v1/apps/{appId}/keys, GET/DELETE
.../keys/{keyId} and GET .../keys/{keyId}/jwt. The secret is shown once;
the JWT is accepted by the API; a deleted key is refused at once."""

import jwt as pyjwt
import pytest

from messaging.models import ApiKey, KeyScope
from messaging.services import apps as apps_service
from messaging.services.errors import PermissionDenied
from tests.api.conftest import bearer, error_of, make_jwt


def test_it_creates_a_key_whose_secret_is_shown_once(api, account_jwt, app):
    response = api.post(f"/v1.1/apps/{app.id}/keys", {"name": " ci "}, headers=account_jwt)
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.data["key"]
    key = ApiKey.objects.get(key_id=body["_id"])
    assert (key.app, key.scope, key.name, key.created_by) == (app, KeyScope.APP, "ci", None)
    assert body == {"_id": key.key_id, "name": "ci", "secret": key.secret}
    # get and list never show it again
    assert api.get(f"/v1/apps/{app.id}/keys/{key.key_id}", headers=account_jwt).data == {
        "key": {"_id": key.key_id, "name": "ci"}}
    listed = api.get(f"/v1/apps/{app.id}/keys", headers=account_jwt).data["keys"]
    assert listed == [{"_id": app.test_key.key_id, "name": "test"}, {"_id": key.key_id, "name": "ci"}]
    # The new key works.
    assert api.get("/v1/webhooks", headers=bearer(make_jwt(key.key_id, body["secret"]))).status_code == 200


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": " "}, {"name": 5}, {"name": "x" * 101}])
def test_a_bad_key_body_is_a_400_and_creates_nothing(api, account_jwt, app, body):
    before = ApiKey.objects.count()
    assert error_of(api.post(f"/v1/apps/{app.id}/keys", body, headers=account_jwt))[:2] == (400, "bad_request")
    assert ApiKey.objects.count() == before


def test_the_jwt_of_a_key_is_an_app_jwt_the_api_accepts(api, account_jwt, app):
    response = api.get(f"/v1/apps/{app.id}/keys/{app.test_key.key_id}/jwt", headers=account_jwt)
    token = response.data["jwt"]
    assert pyjwt.get_unverified_header(token) == {"alg": "HS256", "kid": app.test_key.key_id, "typ": "JWT"}
    assert pyjwt.decode(token, app.test_secret, algorithms=["HS256"]) == {"scope": "app"}
    assert api.get("/v1/webhooks", headers=bearer(token)).status_code == 200


def test_deleting_a_key_revokes_it_at_once(api, account_jwt, app):
    token = bearer(make_jwt(app.test_key.key_id, app.test_secret))
    assert api.get("/v1/webhooks", headers=token).status_code == 200  # now cached in this process
    assert api.delete(f"/v1/apps/{app.id}/keys/{app.test_key.key_id}", headers=account_jwt).data == {}
    app.test_key.refresh_from_db()
    assert app.test_key.revoked_at is not None
    status, _, description = error_of(api.get("/v1/webhooks", headers=token))
    assert status == 401 and "revoked" in description
    for method in ("get", "delete"):
        response = getattr(api, method)(f"/v1/apps/{app.id}/keys/{app.test_key.key_id}", headers=account_jwt)
        assert error_of(response)[:2] == (404, "not_found")
    assert error_of(api.get(f"/v1/apps/{app.id}/keys/{app.test_key.key_id}/jwt", headers=account_jwt))[0] == 404
    assert api.get(f"/v1/apps/{app.id}/keys", headers=account_jwt).data == {"keys": []}


def test_keys_of_another_app_or_team_and_account_keys_are_not_reachable(api, account_jwt, team, app, make_app,
                                                                         other_app):
    second = make_app(team, "Second")
    account_key = ApiKey.objects.get(team=team, scope=KeyScope.ACCOUNT)
    for key_id, app_id in ((second.test_key.key_id, app.id), (account_key.key_id, app.id),
                           (other_app.test_key.key_id, other_app.id), (other_app.test_key.key_id, app.id)):
        for method, suffix in (("get", ""), ("delete", ""), ("get", "/jwt")):
            response = getattr(api, method)(f"/v1/apps/{app_id}/keys/{key_id}{suffix}", headers=account_jwt)
            assert error_of(response)[:2] == (404, "not_found"), (key_id, app_id, method, suffix)
    assert error_of(api.post(f"/v1/apps/{other_app.id}/keys", {"name": "x"}, headers=account_jwt))[0] == 404
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()
    assert ApiKey.objects.filter(app=other_app).count() == 1
    # An app key reaches none of these, even on its own app.
    app_key = bearer(make_jwt(app.test_key.key_id, app.test_secret))
    for method, path in (("get", "keys"), ("post", "keys"), ("get", f"keys/{app.test_key.key_id}"),
                         ("delete", f"keys/{app.test_key.key_id}"), ("get", f"keys/{app.test_key.key_id}/jwt")):
        response = getattr(api, method)(f"/v1/apps/{app.id}/{path}", {"name": "x"} if method == "post" else None,
                                        headers=app_key)
        assert error_of(response)[:2] == (403, "forbidden"), path
    assert ApiKey.objects.filter(app=app, revoked_at__isnull=True).count() == 1


def test_key_services_refuse_agents_and_allow_the_team_key(app, agent, admin):
    from messaging.models import Membership

    agent_membership = Membership.objects.get(user=agent)
    with pytest.raises(PermissionDenied):
        apps_service.create_key(team=app.team, scope=KeyScope.APP, app=app, name="x", membership=agent_membership)
    with pytest.raises(PermissionDenied):
        apps_service.revoke_key(app.test_key, membership=agent_membership)
    assert apps_service.app_key(app, app.test_key.key_id).revoked_at is None
    apps_service.revoke_key(app.test_key, membership=apps_service.TEAM_ITSELF)
    with pytest.raises(Exception, match="not found"):
        apps_service.app_key(app, app.test_key.key_id)
    key, _ = apps_service.create_key(team=app.team, scope=KeyScope.APP, app=app, name="y",
                                     membership=Membership.objects.get(user=admin))
    assert key.created_by == admin
