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
from messaging.services.apps import create_key
from tests.support.live import LiveServer


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
