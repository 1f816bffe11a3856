"""The team's audit trail through the REST API: apps, their settings and
keys (account-scope key), webhooks and integrations (app-scope key) leave
one entry each, naming the key that signed the call (its id and name, never
its secret) and the client address; the trail keeps them when the key is
revoked; another team's trail holds none of them."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import ApiKey, App, AuditEntry, Integration, KeyScope, Membership, Webhook
from messaging.services import audit
from messaging.services.apps import create_key, revoke_key
from tests.api.conftest import bearer, make_jwt

ADDRESS = "192.0.2.77"
SECRET = "fk-live-ApiAudit3Hy5Jk1Cd"



@pytest.fixture
def account_key(team):
    key, secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="deploy bot")
    key.headers = bearer(make_jwt(key.key_id, secret, "account"))
    key.clear_secret = secret
    return key


@pytest.fixture
def app_headers(app):
    return bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))


def new_entries(team, after: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(team=team, id__gt=after).order_by("id"))


def last_id() -> int:
    entry = AuditEntry.objects.order_by("-id").first()
    return entry.id if entry else 0


def one(team, after, action, key, *, target_kind, address=ADDRESS) -> AuditEntry:
    """Exactly one entry since `after`: `action` by the API key `key`."""
    rows = new_entries(team, after)
    assert [row.action for row in rows] == [action], rows
    entry = rows[0]
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("key", key.key_id, key.name)
    assert entry.address == address and entry.target_kind == target_kind
    assert timezone.now() - timedelta(minutes=1) < entry.created_at <= timezone.now()
    return entry


def secret_free(entry, *secrets):
    text = json.dumps([entry.actor_id, entry.actor_label, entry.target_label, entry.details])
    for secret in secrets:
        assert secret not in text


def test_app_and_key_actions_name_the_account_key_and_the_address(api, team, account_key):
    at = last_id()
    response = api.post("/v1/apps", {"name": "Shop", "settings": {"logRetentionDays": 7}},
                        headers=account_key.headers, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 201
    app_id = response.data["app"]["_id"]
    created = one(team, at, "app.create", account_key, target_kind="app")
    assert (created.target_id, created.target_label, created.details) == (app_id, "Shop",
                                                                           {"settings": ["logRetentionDays"]})
    secret_free(created, account_key.clear_secret)

    at = last_id()
    body = {"name": "Shop 2", "settings": {"requireUserJwt": False, "allowedOrigins": ["https://a.example"]}}
    assert api.put(f"/v1/apps/{app_id}", body, headers=account_key.headers, REMOTE_ADDR=ADDRESS).status_code == 200
    updated = one(team, at, "app.update", account_key, target_kind="app")
    assert updated.details == {"settings": ["allowedOrigins", "requireUserJwt", "name"]}
    assert updated.target_label == "Shop 2"

    at = last_id()
    response = api.post(f"/v1/apps/{app_id}/keys", {"name": "ci"}, headers=account_key.headers, REMOTE_ADDR=ADDRESS)
    new_key = response.data["key"]
    created_key = one(team, at, "key.create", account_key, target_kind="key")
    assert (created_key.target_id, created_key.target_label, created_key.app_id) == (new_key["_id"], "ci", app_id)
    secret_free(created_key, new_key["secret"])

    at = last_id()
    api.delete(f"/v1/apps/{app_id}/keys/{new_key['_id']}", headers=account_key.headers, REMOTE_ADDR=ADDRESS)
    assert one(team, at, "key.revoke", account_key, target_kind="key").target_id == new_key["_id"]

    at = last_id()
    assert api.delete(f"/v1/apps/{app_id}", headers=account_key.headers, REMOTE_ADDR=ADDRESS).data == {}
    assert not App.objects.filter(pk=app_id).exists()
    assert one(team, at, "app.delete", account_key, target_kind="app").target_label == "Shop 2"
    assert AuditEntry.objects.filter(team=team, app_id=app_id).count() == 5


def test_a_refused_call_records_nothing(api, team, account_key, app):
    at = last_id()
    api.put(f"/v1/apps/{app.id}", {"name": ""}, headers=account_key.headers)
    api.post(f"/v1/apps/{app.id}/keys", {"name": 5}, headers=account_key.headers)
    api.post("/v1/webhooks", {"target": "ftp://x.example"}, headers=bearer(make_jwt(app.test_key.key_id,
                                                                                       app.test_secret)))
    assert new_entries(team, at) == []


def test_webhook_actions_name_the_app_key(api, team, app, app_headers):
    key = app.test_key
    at = last_id()
    response = api.post("/v1/webhooks", {"target": "https://hooks.example/in", "triggers": ["message:appUser"]},
                        headers=app_headers, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 201
    webhook = Webhook.objects.get(pk=response.data["webhook"]["_id"])
    created = one(team, at, "webhook.create", key, target_kind="webhook")
    assert (created.target_id, created.target_label, created.app_id) == (webhook.id, "https://hooks.example/in",
                                                                         app.id)
    at = last_id()
    api.put(f"/v1/webhooks/{webhook.id}", {"triggers": ["*"]}, headers=app_headers, REMOTE_ADDR=ADDRESS)
    assert one(team, at, "webhook.update", key, target_kind="webhook").details == {"changed": ["triggers"]}
    for which in ("apiKey", "signing"):
        at = last_id()
        response = api.post(f"/v1/webhooks/{webhook.id}/rotate", {"secret": which}, headers=app_headers,
                            REMOTE_ADDR=ADDRESS)
        assert response.status_code == 200
        rotated = one(team, at, "webhook.rotate_secret", key, target_kind="webhook")
        assert rotated.details == {"secret": which}
        webhook.refresh_from_db()
        secret_free(rotated, webhook.secret, webhook.signing_secret, app.test_secret)
    at = last_id()
    assert api.delete(f"/v1/webhooks/{webhook.id}", headers=app_headers, REMOTE_ADDR=ADDRESS).status_code == 200
    assert one(team, at, "webhook.delete", key, target_kind="webhook").target_id == webhook.id


def test_integration_actions_at_account_scope_name_the_account_key(api, team, app, account_key, platform):
    prefix = f"/v1/apps/{app.id}/integrations"
    at = last_id()
    response = api.post(prefix, {"type": "fake", "apiKey": SECRET, "account": "acme"}, headers=account_key.headers,
                        REMOTE_ADDR=ADDRESS)
    assert response.status_code == 201, response.content
    row = Integration.objects.get(pk=response.data["integration"]["_id"])
    created = one(team, at, "integration.create", account_key, target_kind="integration")
    assert (created.target_id, created.app_id, created.details) == (row.id, app.id, {"type": "fake"})
    at = last_id()
    new_secret = "fk-live-ApiAudit9Zz8Yy7Xx"
    response = api.put(f"{prefix}/{row.id}", {"apiKey": new_secret, "displayName": "Acme"},
                       headers=account_key.headers, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200, response.content
    updated = one(team, at, "integration.update", account_key, target_kind="integration")
    assert updated.details == {"type": "fake", "changed": ["apiKey", "displayName"]}
    at = last_id()
    assert api.delete(f"{prefix}/{row.id}", headers=account_key.headers, REMOTE_ADDR=ADDRESS).status_code == 200
    deleted = one(team, at, "integration.delete", account_key, target_kind="integration")
    for entry in (created, updated, deleted):
        secret_free(entry, SECRET, new_secret, account_key.clear_secret)


def test_the_entry_outlives_the_keys_revocation_and_shows_to_owners(api, team, owner, account_key, client):
    api.post("/v1/apps", {"name": "Kept"}, headers=account_key.headers, REMOTE_ADDR=ADDRESS)
    revoke_key(account_key)
    ApiKey.objects.filter(pk=account_key.pk).delete()
    entry = AuditEntry.objects.get(team=team, action="app.create", target_label="Kept")
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("key", account_key.key_id, "deploy bot")
    client.force_login(owner)
    page = client.get(f"/teams/{team.id}/audit/").content.decode()
    assert "deploy bot" in page and account_key.key_id in page and ADDRESS in page


def test_another_teams_owner_sees_none_of_it(api, team, account_key, stranger, client):
    api.post("/v1/apps", {"name": "Team A only"}, headers=account_key.headers, REMOTE_ADDR=ADDRESS)
    stranger_membership = Membership.objects.get(user=stranger)
    assert not audit.entries_for(stranger_membership).filter(team=team).exists()
    client.force_login(stranger)
    assert client.get(f"/teams/{team.id}/audit/").status_code == 404
    own = client.get(f"/teams/{stranger_membership.team_id}/audit/").content.decode()
    assert "Team A only" not in own and account_key.key_id not in own


def test_service_account_keys_name_the_account_key_and_the_address(api, team, account_key):
    response = api.post("/v1.1/serviceaccounts", {"name": "billing"}, headers=account_key.headers,
                        REMOTE_ADDR=ADDRESS)
    assert response.status_code == 201, response.content
    account_id = response.data["serviceAccount"]["_id"]
    at = last_id()
    made = api.post(f"/v1.1/serviceaccounts/{account_id}/keys", {"name": "billing key"},
                    headers=account_key.headers, REMOTE_ADDR=ADDRESS)
    assert made.status_code == 201, made.content
    created = one(team, at, "key.create", account_key, target_kind="key")
    assert created.target_id == made.data["key"]["_id"]
    secret_free(created, made.data["key"]["secret"])
    at = last_id()
    assert api.delete(f"/v1.1/serviceaccounts/{account_id}", headers=account_key.headers,
                      REMOTE_ADDR=ADDRESS).status_code == 200
    assert one(team, at, "key.revoke", account_key, target_kind="key").target_id == made.data["key"]["_id"]
