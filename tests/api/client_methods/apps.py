"""apps.* and apps.keys.* with the team's account key (both clients)."""

import jwt as pyjwt

from messaging.models import ApiKey, App, KeyScope
from tests.api.client_methods import case

BOTH = ("v3", "v8")


def _app(t, client, name="Tacos"):
    answer = t.call(client, "apps.create", name, as_="account")
    assert answer.ok, answer
    return answer.body["app"]


@case(*(f"{c} apps.create" for c in BOTH))
def create(t, client):
    made = _app(t, client)
    stored = App.objects.get(id=made["_id"])
    assert (stored.team, stored.name, made["appToken"]) == (t.team, "Tacos", stored.app_token)
    assert made["settings"]["requireUserJwt"] is True  # as every new app
    # An app key can't create apps (v3 refuses before sending; v8 sends).
    refused = t.call(client, "apps.create", "Tacos", as_="app")
    assert not refused.ok and refused.status in (None, 401, 403), refused
    assert App.objects.filter(team=t.team).count() == 2


@case(*(f"{c} apps.list" for c in BOTH))
def list_(t, client):
    made = _app(t, client)
    _app(t.other(), client, "Theirs")
    listed = t.call(client, "apps.list", as_="account")
    assert listed.ok and [a["name"] for a in listed.body["apps"]] == [t.app.name, made["name"]], listed
    page = t.call(client, "apps.list", 1, 1, as_="account")
    assert [a["_id"] for a in page.body["apps"]] == [made["_id"]], page
    if client == "v8":
        # A service account's keys reach every app of the team: the whole list.
        account = t.call(client, "serviceAccounts.create", "CRM", as_="account").body["serviceAccount"]
        by_account = t.call(client, "apps.list", None, None, account["_id"], as_="account")
        assert by_account.ok and by_account.body["apps"] == listed.body["apps"], by_account
        theirs = t.other().call(client, "serviceAccounts.create", "Theirs", as_="account").body["serviceAccount"]
        refused = t.call(client, "apps.list", None, None, theirs["_id"], as_="account")
        assert refused.status == 404, refused


@case(*(f"{c} apps.get" for c in BOTH))
def get(t, client):
    answer = t.call(client, "apps.get", t.app.id, as_="account")
    assert answer.ok and (answer.body["app"]["_id"], answer.body["app"]["name"]) == (t.app.id, t.app.name), answer
    theirs = t.other().app
    refused = t.call(client, "apps.get", theirs.id, as_="account")
    assert refused.status == 404, refused


@case("v8 apps.update")
def update(t, client):
    answer = t.call(client, "apps.update", t.app.id, {"name": "Tacos HQ", "settings": {"logRetentionDays": 30}},
                    as_="account")
    assert answer.ok and answer.body["app"]["name"] == "Tacos HQ", answer
    t.app.refresh_from_db()
    assert t.app.name == "Tacos HQ" and t.app.settings["logRetentionDays"] == 30
    refused = t.call(client, "apps.update", t.app.id, {"settings": {"noSuchSetting": 1}}, as_="account")
    assert refused.status == 400 and "noSuchSetting" not in App.objects.get(id=t.app.id).settings, refused


@case(*(f"{c} apps.delete" for c in BOTH))
def delete(t, client):
    made = _app(t, client)
    answer = t.call(client, "apps.delete", made["_id"], as_="account")
    assert answer.ok and not App.objects.filter(id=made["_id"]).exists(), answer
    theirs = t.other().app
    assert t.call(client, "apps.delete", theirs.id, as_="account").status == 404
    assert App.objects.filter(id=theirs.id).exists()


@case("v8 apps.getSdkIds")
def sdks(t, client):
    answer = t.call(client, "apps.getSdkIds", t.app.id, as_="account")
    assert answer.ok and answer.body["web"] == t.app.app_token, answer


def _key(t, client, name="ci"):
    answer = t.call(client, "apps.keys.create", t.app.id, name, as_="account")
    assert answer.ok, answer
    return answer.body["key"]


@case(*(f"{c} apps.keys.create" for c in BOTH))
def create_key(t, client):
    made = _key(t, client)
    stored = ApiKey.objects.get(key_id=made["_id"])
    assert (stored.app, stored.scope, stored.name, made["secret"]) == (t.app, KeyScope.APP, "ci", stored.secret)


@case(*(f"{c} apps.keys.list" for c in BOTH))
def list_keys(t, client):
    made = _key(t, client)
    listed = t.call(client, "apps.keys.list", t.app.id, as_="account")
    assert listed.ok, listed
    assert {"_id": made["_id"], "name": "ci"} in listed.body["keys"]
    assert all("secret" not in k for k in listed.body["keys"])  # a secret is shown on create only


@case(*(f"{c} apps.keys.get" for c in BOTH))
def get_key(t, client):
    made = _key(t, client)
    answer = t.call(client, "apps.keys.get", t.app.id, made["_id"], as_="account")
    assert answer.ok and answer.body["key"] == {"_id": made["_id"], "name": "ci"}, answer


@case(*(f"{c} apps.keys.getJwt" for c in BOTH))
def key_jwt(t, client):
    made = _key(t, client)
    answer = t.call(client, "apps.keys.getJwt", t.app.id, made["_id"], as_="account")
    assert answer.ok, answer
    token = answer.body["jwt"]
    assert pyjwt.get_unverified_header(token)["kid"] == made["_id"]
    assert pyjwt.decode(token, made["secret"], algorithms=["HS256"]) == {"scope": "app"}
    assert t.call(client, "webhooks.list", jwt=token).ok  # the token works as an app credential


@case(*(f"{c} apps.keys.delete" for c in BOTH))
def delete_key(t, client):
    made = _key(t, client)
    token = t.call(client, "apps.keys.getJwt", t.app.id, made["_id"], as_="account").body["jwt"]
    answer = t.call(client, "apps.keys.delete", t.app.id, made["_id"], as_="account")
    assert answer.ok and ApiKey.objects.get(key_id=made["_id"]).revoked_at is not None, answer
    refused = t.call(client, "webhooks.list", jwt=token)
    assert refused.status == 401, refused
