"""The official npm clients, unchanged, managing apps and app keys with an
account-scope key against a live Parley (tests/js/smooch_core_apps.js):
smooch-core 8.11.4's `apps.*` and `apps.keys.*` at /v1.1 and 3.5.0's at
/v1. Every method either client has on these two APIs is called: a method
added upstream fails `test_...` until it has a case."""

import json
import subprocess

import jwt as pyjwt
import pytest

from messaging.models import ApiKey, App, KeyScope
from messaging.services.apps import create_key
from tests.api.test_smooch_core import JS, declared_clients, install_smooch_core, node
from tests.support.live import LiveServer

# The methods the script calls, per client: what the clients have must be this.
CALLED = {
    "v8": {"apps": ["create", "delete", "get", "getSdkIds", "list", "update"],
           "keys": ["create", "delete", "get", "getJwt", "list"]},
    "v3": {"apps": ["create", "delete", "get", "list"],
           "keys": ["create", "delete", "get", "getJwt", "list"]},
}


def names(listed):
    return [a["name"] for a in listed["apps"]]


@pytest.mark.django_db(transaction=True)
def test_the_official_clients_manage_apps_and_keys(team, make_app, other_app):
    install_smooch_core()
    assert declared_clients()["smooch-core-8"] == "8.11.4" and declared_clients()["smooch-core"] == "3.5.0"
    existing = make_app(team, "Existing")
    key, secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="automation")
    server = LiveServer(worker=False)
    try:
        result = subprocess.run(
            [node(), str(JS / "smooch_core_apps.js")], cwd=JS, capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "SERVICE_URL": server.url, "KEY_ID": key.key_id, "SECRET": secret},
        )
    finally:
        server.stop()
    assert result.returncode == 0, f"{result.stderr}\n--- server log ---\n{server.output()[-3000:]}"
    out = json.loads(result.stdout)
    assert {v: out[v]["methods"] for v in CALLED} == CALLED

    v8 = out["v8"]
    tacos = App.objects.get(id=v8["created"]["app"]["_id"])
    assert (tacos.team, tacos.name, tacos.require_user_jwt) == (team, "Tacos HQ", False)
    assert v8["created"]["app"] == {"_id": tacos.id, "appToken": tacos.app_token, "name": "Tacos",
                                    "metadata": {"plan": "gold"},
                                    "settings": {"requireUserJwt": False, "allowedOrigins": [],
                                                 "logRetentionDays": 14}}
    assert names(v8["listed"]) == ["Existing", "Tacos", "Burritos"]  # never team B's
    assert (names(v8["firstPage"]), v8["firstPage"]["hasMore"]) == (["Existing"], True)
    assert (names(v8["secondPage"]), v8["secondPage"]["offset"]) == (["Tacos"], 1)
    assert (v8["serviceAccount"]["status"], v8["serviceAccount"]["code"]) == (404, "not_found")  # no such service account
    assert v8["got"]["app"] == v8["created"]["app"]
    assert v8["updated"]["app"]["settings"]["allowedOrigins"] == ["https://tacos.example"]
    assert v8["badUpdate"]["status"] == 400 and "maskCreditCardNumbers" not in tacos.settings
    assert v8["sdks"] == {"android": tacos.app_token, "ios": tacos.app_token, "web": tacos.app_token}

    # keys: the secret once, the JWT accepted, then refused once deleted
    made = ApiKey.objects.get(key_id=v8["key"]["key"]["_id"])
    assert (made.app, made.scope, made.name) == (tacos, KeyScope.APP, "ci")
    assert v8["key"]["key"]["secret"] == made.secret
    assert v8["gotKey"] == {"key": {"_id": made.key_id, "name": "ci"}}
    assert v8["keys"]["keys"] == [{"_id": made.key_id, "name": "ci"}]
    assert pyjwt.decode(v8["jwt"]["jwt"], made.secret, algorithms=["HS256"]) == {"scope": "app"}
    assert v8["webhooksWithJwt"] == {"webhooks": []}
    assert v8["deletedKey"] == {} and made.revoked_at is not None
    assert v8["revokedJwt"]["status"] == 401 and "revoked" in v8["revokedJwt"]["description"]
    assert v8["missingKey"]["status"] == 404
    assert v8["deleted"] == {} and v8["missing"]["status"] == 404
    assert not App.objects.filter(name="Burritos").exists()

    v3 = out["v3"]
    assert v3["created"]["app"]["name"] == "Enchiladas" and v3["got"]["app"] == v3["created"]["app"]
    assert names(v3["listed"]) == ["Existing", "Tacos HQ", "Enchiladas"]
    assert names(v3["page"]) == ["Tacos HQ"]
    v1_key = v3["key"]["key"]
    assert (v1_key["name"], len(v1_key["secret"]) >= 32) == ("v1 key", True)
    assert v3["keys"]["keys"] == [{"_id": v1_key["_id"], "name": "v1 key"}]
    assert v3["gotKey"]["key"] == {"_id": v1_key["_id"], "name": "v1 key"}
    token = v3["jwt"]["jwt"]
    assert pyjwt.get_unverified_header(token)["kid"] == v1_key["_id"]
    assert pyjwt.decode(token, v1_key["secret"], algorithms=["HS256"]) == {"scope": "app"}
    assert v3["deletedKey"] == v3["deleted"] == {}
    # The app is gone, and its keys with it.
    assert not App.objects.filter(name="Enchiladas").exists()
    assert not ApiKey.objects.filter(key_id=v1_key["_id"]).exists()

    # Team B and the other apps were never touched.
    assert list(App.objects.filter(team=other_app.team).values_list("name", flat=True)) == ["App B"]
    assert ApiKey.objects.filter(app=existing, revoked_at__isnull=True).count() == 1
