"""Per-process caches dropped in every process at once (messaging/
process_cache.py): two web processes on one database and Redis; a key
revoked through the API of one is refused by the other at its next check
(within process_cache.CHECK_SECONDS), although the other had it cached."""

import time

import jwt
import pytest
import requests

from messaging import process_cache
from messaging.models import KeyScope
from messaging.services import service_accounts
from messaging.services.apps import create_key
from tests.support.live import LiveServer, wait_until


def webhooks(server, token):
    return requests.get(server.url + "/v1/webhooks", headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_in_one_process_is_refused_in_the_other_within_the_check_interval(team, make_app):
    app = make_app(team, "Tacos")
    account, account_secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="automation")
    app_token = jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256",
                           headers={"kid": app.test_key.key_id})
    account_token = jwt.encode({"scope": "account"}, account_secret, algorithm="HS256",
                               headers={"kid": account.key_id})
    a, b = LiveServer(worker=False), LiveServer(worker=False)
    try:
        assert webhooks(a, app_token).status_code == webhooks(b, app_token).status_code == 200  # cached in both
        revoked = requests.delete(f"{a.url}/v1/apps/{app.id}/keys/{app.test_key.key_id}",
                                  headers={"Authorization": f"Bearer {account_token}"}, timeout=10)
        assert revoked.status_code == 200, revoked.text
        assert webhooks(a, app_token).status_code == 401  # at once where it was revoked
        time.sleep(process_cache.CHECK_SECONDS)
        refused = webhooks(b, app_token)
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]["description"]
    finally:
        a.stop()
        b.stop()


@pytest.mark.django_db(transaction=True)
def test_a_service_account_deleted_in_one_process_is_refused_in_the_other_within_the_check_interval(team):
    account, account_secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="automation")
    service_account = service_accounts.create_service_account(team=team, name="CRM", membership=None)
    key, secret = service_accounts.create_key(account=service_account, name="crm", membership=None)
    token = service_accounts.key_jwt(key)
    account_token = jwt.encode({"scope": "account"}, account_secret, algorithm="HS256",
                               headers={"kid": account.key_id})

    def apps(server):
        return requests.get(server.url + "/v1/apps", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    a, b = LiveServer(worker=False), LiveServer(worker=False)
    try:
        assert apps(a).status_code == apps(b).status_code == 200  # cached in both
        deleted = requests.delete(f"{a.url}/v1.1/serviceaccounts/{service_account.id}",
                                  headers={"Authorization": f"Bearer {account_token}"}, timeout=10)
        assert deleted.status_code == 200, deleted.text
        assert apps(a).status_code == 401  # at once where it was deleted
        # Within the check interval (plus the calls' own time), not an entry's MAX_AGE.
        wait_until(lambda: apps(b).status_code == 401, timeout=process_cache.CHECK_SECONDS + 2,
                   message="the other process to refuse the deleted account's key")
    finally:
        a.stop()
        b.stop()
