"""serviceAccounts.* and serviceAccounts.keys.* (smooch-core 8.11.4 only),
with the team's account key; an app key is refused and another team's
account or key is a 404."""

import jwt as pyjwt

from messaging.models import ApiKey, KeyScope, ServiceAccount
from tests.api.client_methods import case


def _account(t, name="CRM sync"):
    answer = t.call("v8", "serviceAccounts.create", name, as_="account")
    assert answer.ok, answer
    return answer.body["serviceAccount"]


def _key(t, account_id, name="crm"):
    answer = t.call("v8", "serviceAccounts.keys.create", account_id, name, as_="account")
    assert answer.ok, answer
    return answer.body["key"]


def _theirs(t):
    """Another team with a service account holding one key."""
    other = t.other()
    account = _account(other, "Theirs")
    return other, account, _key(other, account["_id"], "their key")


@case("v8 serviceAccounts.create")
def create(t, client):
    made = _account(t)
    stored = ServiceAccount.objects.get(id=made["_id"])
    assert made == {"_id": stored.id, "name": "CRM sync"}
    assert (stored.team, stored.created_by_key, stored.created_by) == (t.team, t.account_key, None)
    refused = t.call(client, "serviceAccounts.create", "Nope", as_="app")
    assert refused.status == 403, refused
    blank = t.call(client, "serviceAccounts.create", "   ", as_="account")
    assert blank.status == 400, blank
    assert ServiceAccount.objects.filter(team=t.team).count() == 1


@case("v8 serviceAccounts.list")
def list_(t, client):
    first, second = _account(t, "one"), _account(t, "two")
    _theirs(t)
    listed = t.call(client, "serviceAccounts.list", as_="account")
    assert listed.ok and listed.body["serviceAccounts"] == [first, second], listed
    assert listed.body["hasMore"] is False
    page = t.call(client, "serviceAccounts.list", 1, 1, as_="account")
    assert page.body["serviceAccounts"] == [second] and page.body["offset"] == 1, page
    assert t.call(client, "serviceAccounts.list", as_="app").status == 403


@case("v8 serviceAccounts.get")
def get(t, client):
    made = _account(t)
    answer = t.call(client, "serviceAccounts.get", made["_id"], as_="account")
    assert answer.ok and answer.body == {"serviceAccount": made}, answer
    _, theirs, _ = _theirs(t)
    refused = t.call(client, "serviceAccounts.get", theirs["_id"], as_="account")
    assert refused.status == 404 and "Theirs" not in str(refused.body), refused


@case("v8 serviceAccounts.update")
def update(t, client):
    made = _account(t)
    answer = t.call(client, "serviceAccounts.update", made["_id"], {"name": "Billing"}, as_="account")
    assert answer.ok and answer.body["serviceAccount"] == {"_id": made["_id"], "name": "Billing"}, answer
    assert ServiceAccount.objects.get(id=made["_id"]).name == "Billing"
    bad = t.call(client, "serviceAccounts.update", made["_id"], {"name": 7}, as_="account")
    assert bad.status == 400 and ServiceAccount.objects.get(id=made["_id"]).name == "Billing", bad
    _, theirs, _ = _theirs(t)
    refused = t.call(client, "serviceAccounts.update", theirs["_id"], {"name": "Pwned"}, as_="account")
    assert refused.status == 404 and ServiceAccount.objects.get(id=theirs["_id"]).name == "Theirs", refused


@case("v8 serviceAccounts.delete")
def delete(t, client):
    made = _account(t)
    key = _key(t, made["_id"])
    token = t.call(client, "serviceAccounts.keys.getJwt", made["_id"], key["_id"], as_="account").body["jwt"]
    assert t.call(client, "apps.get", t.app.id, jwt=token).ok  # the key works until its account goes
    answer = t.call(client, "serviceAccounts.delete", made["_id"], as_="account")
    assert answer.ok and not ServiceAccount.objects.filter(id=made["_id"]).exists(), answer
    assert ApiKey.objects.get(key_id=key["_id"]).revoked_at is not None
    refused = t.call(client, "apps.get", t.app.id, jwt=token)
    assert refused.status == 401, refused
    other, theirs, _ = _theirs(t)
    assert t.call(client, "serviceAccounts.delete", theirs["_id"], as_="account").status == 404
    assert ServiceAccount.objects.filter(id=theirs["_id"]).exists()


@case("v8 serviceAccounts.keys.create")
def create_key(t, client):
    made = _account(t)
    key = _key(t, made["_id"])
    stored = ApiKey.objects.get(key_id=key["_id"])
    assert (stored.scope, stored.service_account_id, stored.team, stored.name, key["secret"]) == (
        KeyScope.ACCOUNT, made["_id"], t.team, "crm", stored.secret)
    assert stored.created_by_key == t.account_key
    _, theirs, _ = _theirs(t)
    refused = t.call(client, "serviceAccounts.keys.create", theirs["_id"], "intruder", as_="account")
    assert refused.status == 404 and not ApiKey.objects.filter(name="intruder").exists(), refused


@case("v8 serviceAccounts.keys.list")
def list_keys(t, client):
    made = _account(t)
    key = _key(t, made["_id"])
    listed = t.call(client, "serviceAccounts.keys.list", made["_id"], as_="account")
    assert listed.ok and listed.body["keys"] == [{"_id": key["_id"], "name": "crm"}], listed
    _, theirs, _ = _theirs(t)
    assert t.call(client, "serviceAccounts.keys.list", theirs["_id"], as_="account").status == 404


@case("v8 serviceAccounts.keys.get")
def get_key(t, client):
    made = _account(t)
    key = _key(t, made["_id"])
    answer = t.call(client, "serviceAccounts.keys.get", made["_id"], key["_id"], as_="account")
    assert answer.ok and answer.body["key"] == {"_id": key["_id"], "name": "crm"}, answer
    _, theirs, their_key = _theirs(t)
    assert t.call(client, "serviceAccounts.keys.get", theirs["_id"], their_key["_id"], as_="account").status == 404
    # Their key under our account: still not ours.
    assert t.call(client, "serviceAccounts.keys.get", made["_id"], their_key["_id"], as_="account").status == 404


@case("v8 serviceAccounts.keys.getJwt")
def key_jwt(t, client):
    made = _account(t)
    key = _key(t, made["_id"])
    answer = t.call(client, "serviceAccounts.keys.getJwt", made["_id"], key["_id"], as_="account")
    assert answer.ok, answer
    token = answer.body["jwt"]
    assert pyjwt.get_unverified_header(token)["kid"] == key["_id"]
    assert pyjwt.decode(token, key["secret"], algorithms=["HS256"]) == {"scope": "account"}
    assert t.call(client, "apps.list", jwt=token).ok  # an account credential of this team
    assert ApiKey.objects.get(key_id=key["_id"]).last_used_at is not None
    _, theirs, their_key = _theirs(t)
    refused = t.call(client, "serviceAccounts.keys.getJwt", theirs["_id"], their_key["_id"], as_="account")
    assert refused.status == 404 and "jwt" not in refused.body, refused


@case("v8 serviceAccounts.keys.delete")
def delete_key(t, client):
    made = _account(t)
    key = _key(t, made["_id"])
    token = t.call(client, "serviceAccounts.keys.getJwt", made["_id"], key["_id"], as_="account").body["jwt"]
    answer = t.call(client, "serviceAccounts.keys.delete", made["_id"], key["_id"], as_="account")
    assert answer.ok and ApiKey.objects.get(key_id=key["_id"]).revoked_at is not None, answer
    assert t.call(client, "apps.list", jwt=token).status == 401
    assert t.call(client, "serviceAccounts.keys.get", made["_id"], key["_id"], as_="account").status == 404
    _, theirs, their_key = _theirs(t)
    refused = t.call(client, "serviceAccounts.keys.delete", theirs["_id"], their_key["_id"], as_="account")
    assert refused.status == 404 and ApiKey.objects.get(key_id=their_key["_id"]).revoked_at is None, refused
