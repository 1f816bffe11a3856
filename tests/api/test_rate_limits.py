"""REST API rate limits (messaging/ratelimits.py, counted in api/auth.py's
api_view): per API key, per app user (appUser JWT), per app token and
client address, /v1/init per address; a 429 with Retry-After and Smooch's
error body naming the limit, and nothing changed. Then the same limit
holding across two live servers that share Redis.

Windows are a day long here: a fixed window cannot end in the middle of a
test (django-ratelimit's windows are aligned to the clock)."""

import pytest
import requests

from messaging.models import LogEntry, Message
from messaging.services.apps import create_key
from tests.api.conftest import bearer, error_of, make_jwt

SMALL = "3/1d"


def assert_limited(response, setting, what):
    status, code, description = error_of(response)
    assert (status, code) == (429, "too_many_requests"), response.content
    assert setting in description and what in description, description
    assert "3 requests per day" in description, description
    retry_after = response["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1


def test_an_api_key_is_limited_and_nothing_more_is_stored(api, settings, app, app_jwt, alice):
    settings.PARLEY_RATE_API_KEY = SMALL
    path = f"/v1/appusers/{alice.id}/messages"
    body = {"role": "appMaker", "type": "text", "text": "hi"}
    for _ in range(3):
        assert api.post(path, body, headers=app_jwt).status_code == 201
    response = api.post(path, body, headers=app_jwt)
    assert_limited(response, "PARLEY_RATE_API_KEY", "per API key")
    assert Message.objects.filter(app_user=alice).count() == 3
    # Another key of the same app has its own count.
    from messaging.models import KeyScope

    key, secret = create_key(team=app.team, scope=KeyScope.APP, app=app, name="second")
    assert api.get(f"/v1/appusers/{alice.id}", headers=bearer(make_jwt(key.key_id, secret))).status_code == 200


def test_an_account_key_is_limited_per_key(api, settings, app, account_jwt, alice):
    settings.PARLEY_RATE_API_KEY = SMALL
    path = f"/v1/apps/{app.id}/appusers/{alice.id}"
    for _ in range(3):
        assert api.get(path, headers=account_jwt).status_code == 200
    assert_limited(api.get(path, headers=account_jwt), "PARLEY_RATE_API_KEY", "per API key")


def test_an_app_user_jwt_is_limited_per_user(api, settings, app, user_jwt, alice, make_user):
    settings.PARLEY_RATE_APP_USER = SMALL
    settings.PARLEY_RATE_API_KEY = "1000/1d"  # the key's own limit is not the one met
    carol = make_user(app, "carol")
    for _ in range(3):
        assert api.get(f"/v1/appusers/{alice.id}", headers=user_jwt("alice")).status_code == 200
    response = api.get(f"/v1/appusers/{alice.id}", headers=user_jwt("alice"))
    assert_limited(response, "PARLEY_RATE_APP_USER", "per app user")
    assert api.get(f"/v1/appusers/{carol.id}", headers=user_jwt("carol")).status_code == 200


def test_the_app_token_is_limited_per_client_address(api, settings, app, app_token, make_user):
    settings.PARLEY_RATE_APP_TOKEN = SMALL
    anonymous = make_user(app)  # no userId: the app token reaches it
    path = f"/v1/appusers/{anonymous.id}"
    for _ in range(3):
        assert api.get(path, headers=app_token, REMOTE_ADDR="192.0.2.1").status_code == 200
    response = api.put(path, {"givenName": "Mallory"}, headers=app_token, REMOTE_ADDR="192.0.2.1")
    assert_limited(response, "PARLEY_RATE_APP_TOKEN", "per app token and client address")
    anonymous.refresh_from_db()
    assert anonymous.given_name != "Mallory"
    assert api.get(path, headers=app_token, REMOTE_ADDR="192.0.2.2").status_code == 200


def test_init_is_limited_per_client_address(api, settings, app, app_token):
    settings.PARLEY_RATE_INIT = SMALL
    settings.PARLEY_RATE_APP_TOKEN = SMALL

    def init(n, address):
        body = {"device": {"id": f"device-{n}", "platform": "web"}}
        return api.post("/v1/init", body, headers={**app_token, "Origin": "http://127.0.0.1"},
                        REMOTE_ADDR=address)

    for n in range(3):
        assert init(n, "192.0.2.1").status_code == 200
    assert_limited(init(3, "192.0.2.1"), "PARLEY_RATE_INIT", "on /v1/init per client address")
    from messaging.models import Client

    assert not Client.objects.filter(external_id="device-3").exists()
    # Counted per address; an IPv6 client per /64.
    assert init(4, "192.0.2.2").status_code == 200
    for n in range(3):
        assert init(10 + n, f"2001:db8::{n + 1}").status_code == 200
    assert init(13, "2001:db8::ffff").status_code == 429
    assert init(14, "2001:db8:0:1::1").status_code == 200


def test_the_default_limits_are_far_above_a_few_calls(api, settings, app, app_jwt, app_token, alice):
    # The production defaults (tests/foundation/test_proxies.py checks that
    # these are dashboard.settings' own); the test settings raise them.
    from tests.foundation.test_proxies import DEFAULT_RATES

    for name, rate in DEFAULT_RATES.items():
        setattr(settings, name, rate)
    anonymous = api.post("/v1/init", {"device": {"id": "d-1", "platform": "web"}},
                         headers={"app-token": app.app_token}).json()["appUser"]["_id"]
    for _ in range(30):
        assert api.get(f"/v1/appusers/{alice.id}", headers=app_jwt).status_code == 200
        assert api.get(f"/v1/appusers/{anonymous}", headers=app_token).status_code == 200


def test_failures_with_a_known_key_id_are_logged_once_a_minute(api, app, alice):
    wrong = make_jwt(app.test_key.key_id, "wrong-secret-wrong-secret-wrong-secret", "app")
    for _ in range(5):
        assert api.get(f"/v1/appusers/{alice.id}", headers=bearer(wrong)).status_code == 401
    assert LogEntry.objects.filter(app=app, kind="auth:failure").count() == 1
    # Per path (and per key): another path gets its own entry.
    assert api.get("/v1/webhooks", headers=bearer(wrong)).status_code == 401
    assert LogEntry.objects.filter(app=app, kind="auth:failure").count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_across_two_servers_sharing_redis(settings, app):
    """Two daphne processes on one Redis: alternating between them, the
    6th request of the window is refused, by whichever server gets it."""
    from tests.support.live import LiveServer

    assert settings.REDIS_URL, "this test needs Redis: set REDIS_URL (make test does)"
    env = {"PARLEY_RATE_API_KEY": "5/1d"}
    servers = [LiveServer(worker=False, **env)]
    try:
        servers.append(LiveServer(worker=False, **env))
        headers = bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))
        statuses = [
            requests.get(f"{servers[n % 2].url}/v1/webhooks", headers=headers, timeout=10).status_code
            for n in range(7)
        ]
        assert statuses == [200] * 5 + [429, 429], statuses
        response = requests.get(f"{servers[0].url}/v1/webhooks", headers=headers, timeout=10)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "too_many_requests"
        assert "PARLEY_RATE_API_KEY" in response.json()["error"]["description"]
        assert int(response.headers["Retry-After"]) >= 1
    finally:
        for server in servers:
            server.stop()
