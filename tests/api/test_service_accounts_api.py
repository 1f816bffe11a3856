"""Service accounts and their keys at account scope (/v1.1/serviceaccounts...),
through the OpenAPI-checked client: the shapes, the paging, who created a
key, bad bodies changing nothing, and a deleted account's keys refused at
once. The official client's calls are in client_methods/service_accounts.py."""

from datetime import timedelta

import pytest

from messaging.models import ApiKey, KeyScope, ServiceAccount
from messaging.services import apps as apps_service
from messaging.services import credentials
from messaging.services import service_accounts
from tests.api.conftest import bearer, error_of, make_jwt


def _create(api, headers, name="CRM sync"):
    response = api.post("/v1.1/serviceaccounts", {"name": name}, headers=headers)
    assert response.status_code == 201, response.content
    return response.data["serviceAccount"]


def test_it_creates_lists_renames_and_deletes_service_accounts(api, account_jwt, team):
    made = [_create(api, account_jwt, f"account {n}") for n in range(3)]
    assert ServiceAccount.objects.get(id=made[0]["_id"]).team == team
    listed = api.get("/v1.1/serviceaccounts", headers=account_jwt).data
    assert (listed["serviceAccounts"], listed["hasMore"], listed["offset"]) == (made, False, 0)
    page = api.get("/v1.1/serviceaccounts", {"limit": 2, "offset": 1}, headers=account_jwt).data
    assert (page["serviceAccounts"], page["hasMore"]) == (made[1:], False)
    page = api.get("/v1/serviceaccounts", {"limit": 1}, headers=account_jwt).data
    assert (page["serviceAccounts"], page["hasMore"]) == (made[:1], True)
    assert error_of(api.get("/v1.1/serviceaccounts", {"limit": 0}, headers=account_jwt))[0] == 400
    renamed = api.put(f"/v1.1/serviceaccounts/{made[0]['_id']}", {"name": " Billing "}, headers=account_jwt)
    assert renamed.data == {"serviceAccount": {"_id": made[0]["_id"], "name": "Billing"}}
    assert api.get(f"/v1.1/serviceaccounts/{made[0]['_id']}", headers=account_jwt).data["serviceAccount"][
        "name"] == "Billing"
    assert api.delete(f"/v1.1/serviceaccounts/{made[0]['_id']}", headers=account_jwt).data == {}
    assert not ServiceAccount.objects.filter(id=made[0]["_id"]).exists()
    assert error_of(api.get(f"/v1.1/serviceaccounts/{made[0]['_id']}", headers=account_jwt))[:2] == (
        404, "not_found")


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "  "}, {"name": 5}, {"name": "x" * 101}, []])
def test_a_bad_body_is_a_400_and_changes_nothing(api, account_jwt, body):
    made = _create(api, account_jwt)
    assert error_of(api.post("/v1.1/serviceaccounts", body, headers=account_jwt))[:2] == (400, "bad_request")
    assert error_of(api.put(f"/v1.1/serviceaccounts/{made['_id']}", body, headers=account_jwt))[:2] == (
        400, "bad_request")
    assert list(ServiceAccount.objects.values_list("name", flat=True)) == ["CRM sync"]
    assert error_of(api.post(f"/v1.1/serviceaccounts/{made['_id']}/keys", body, headers=account_jwt))[0] == 400
    assert not ApiKey.objects.filter(service_account_id=made["_id"]).exists()


def test_its_keys_are_account_keys_that_record_their_creator_and_last_use(api, account_jwt, team, app):
    account = _create(api, account_jwt)
    response = api.post(f"/v1.1/serviceaccounts/{account['_id']}/keys", {"name": "crm"}, headers=account_jwt)
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    body = response.data["key"]
    key = ApiKey.objects.get(key_id=body["_id"])
    creator = ApiKey.objects.get(team=team, scope=KeyScope.ACCOUNT, service_account=None)
    assert (key.scope, key.service_account_id, key.created_by_key, key.last_used_at) == (
        KeyScope.ACCOUNT, account["_id"], creator, None)
    assert body == {"_id": key.key_id, "name": "crm", "secret": key.secret}
    assert api.get(f"/v1.1/serviceaccounts/{account['_id']}/keys", headers=account_jwt).data == {
        "keys": [{"_id": key.key_id, "name": "crm"}]}
    assert api.get(f"/v1.1/serviceaccounts/{account['_id']}/keys/{key.key_id}", headers=account_jwt).data == {
        "key": {"_id": key.key_id, "name": "crm"}}
    token = api.get(f"/v1.1/serviceaccounts/{account['_id']}/keys/{key.key_id}/jwt", headers=account_jwt).data[
        "jwt"]
    assert token == service_accounts.key_jwt(key)
    # The key reaches the team's apps at account scope, and its use is recorded.
    assert api.get(f"/v1.1/apps/{app.id}", headers=bearer(token)).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    # The team's own account keys are not the service account's.
    assert key not in apps_service.active_keys(team=team, scope=KeyScope.ACCOUNT)


def test_a_deleted_account_revokes_its_keys_at_once(api, account_jwt, app):
    account = _create(api, account_jwt)
    keys = [api.post(f"/v1.1/serviceaccounts/{account['_id']}/keys", {"name": f"k{n}"},
                     headers=account_jwt).data["key"] for n in range(2)]
    tokens = [bearer(make_jwt(k["_id"], k["secret"], "account")) for k in keys]
    assert all(api.get(f"/v1/apps/{app.id}", headers=t).status_code == 200 for t in tokens)  # cached now
    assert api.delete(f"/v1.1/serviceaccounts/{account['_id']}", headers=account_jwt).status_code == 200
    for token in tokens:
        status, _, description = error_of(api.get(f"/v1/apps/{app.id}", headers=token))
        assert status == 401 and "revoked" in description
    assert ApiKey.objects.filter(key_id__in=[k["_id"] for k in keys], revoked_at__isnull=False).count() == 2


def test_a_deleted_key_is_refused_and_gone(api, account_jwt, app):
    account = _create(api, account_jwt)
    key = api.post(f"/v1.1/serviceaccounts/{account['_id']}/keys", {"name": "k"}, headers=account_jwt).data["key"]
    token = bearer(make_jwt(key["_id"], key["secret"], "account"))
    assert api.get("/v1/apps", headers=token).status_code == 200
    assert api.delete(f"/v1.1/serviceaccounts/{account['_id']}/keys/{key['_id']}", headers=account_jwt).data == {}
    assert error_of(api.get("/v1/apps", headers=token))[0] == 401
    for path in (f"keys/{key['_id']}", f"keys/{key['_id']}/jwt"):
        assert error_of(api.get(f"/v1.1/serviceaccounts/{account['_id']}/{path}", headers=account_jwt))[0] == 404
    assert api.get(f"/v1.1/serviceaccounts/{account['_id']}/keys", headers=account_jwt).data == {"keys": []}


def test_an_app_key_is_refused_and_another_teams_account_is_a_404(api, account_jwt, app_jwt, stranger_team):
    theirs = service_accounts.create_service_account(team=stranger_team, name="Theirs", membership=None)
    their_key, _ = service_accounts.create_key(account=theirs, name="their key", membership=None)
    mine = _create(api, account_jwt)
    assert error_of(api.get("/v1.1/serviceaccounts", headers=app_jwt))[:2] == (403, "forbidden")
    assert error_of(api.post("/v1.1/serviceaccounts", {"name": "x"}, headers=app_jwt))[0] == 403
    for method, path in [("get", ""), ("put", ""), ("delete", ""), ("get", "/keys"), ("post", "/keys"),
                         ("get", f"/keys/{their_key.key_id}"), ("delete", f"/keys/{their_key.key_id}"),
                         ("get", f"/keys/{their_key.key_id}/jwt")]:
        response = getattr(api, method)(f"/v1.1/serviceaccounts/{theirs.id}{path}",
                                        *([{"name": "Pwned"}] if method in ("put", "post") else []),
                                        headers=account_jwt)
        assert error_of(response)[0] == 404, (method, path)
        assert "Theirs" not in response.content.decode() and their_key.secret not in response.content.decode()
    # Their key under my account is not mine either.
    assert error_of(api.get(f"/v1.1/serviceaccounts/{mine['_id']}/keys/{their_key.key_id}",
                            headers=account_jwt))[0] == 404
    theirs.refresh_from_db()
    their_key.refresh_from_db()
    assert (theirs.name, their_key.revoked_at, theirs.keys.count()) == ("Theirs", None, 1)


def test_a_keys_use_is_written_at_most_once_a_minute_whatever_the_processes(team):
    account = service_accounts.create_service_account(team=team, name="CRM", membership=None)
    key, _ = service_accounts.create_key(account=account, name="k", membership=None)
    # Two processes' cached copies of the key, neither having seen a use.
    first, second = ApiKey.objects.get(pk=key.pk), ApiKey.objects.get(pk=key.pk)
    credentials._touch(first)
    written = ApiKey.objects.get(pk=key.pk).last_used_at
    assert written == first.last_used_at
    credentials._touch(second)  # within the minute: the row is not written again
    assert ApiKey.objects.get(pk=key.pk).last_used_at == written
    # A minute on, the next use is recorded.
    a_minute_ago = written - timedelta(seconds=credentials.LAST_USED_RESOLUTION + 1)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=a_minute_ago)
    second.last_used_at = None
    credentials._touch(second)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == second.last_used_at > written
