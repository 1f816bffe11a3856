"""/healthz and /readyz: the process is up; it can serve (database and
channel layer answer), with the failed part named; readiness shown only to
PARLEY_OPS_ALLOW or the bearer token. The outage test runs a live server
against instances it starts on other ports (its own redis-server and its
own PostgreSQL cluster), stops and restarts them, so the suite's servers
stay up."""

import ipaddress

import pytest
import requests

from tests.support.live import LiveServer, wait_until
from tests.support.private_servers import PrivatePostgres, PrivateRedis


@pytest.mark.smoke
def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert client.post("/healthz").status_code == 405


@pytest.mark.smoke
@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_channel_layer_answer(client):
    response = client.get("/readyz")  # the test client is 127.0.0.1
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "channelLayer": "ok"}}


@pytest.mark.smoke
@pytest.mark.django_db
def test_readyz_is_shown_to_the_allowed_addresses_or_the_token_only(client, settings):
    settings.PARLEY_OPS_TOKEN = "s3cret-ops-token"
    away = {"REMOTE_ADDR": "203.0.113.9"}
    refused = client.get("/readyz", **away)
    assert refused.status_code == 403 and "PARLEY_OPS_ALLOW" in refused.json()["description"]
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer wrong", **away).status_code == 403
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer s3cret-ops-token", **away).status_code == 200
    settings.PARLEY_OPS_ALLOW = [ipaddress.ip_network("203.0.113.0/24")]
    assert client.get("/readyz", **away).status_code == 200


def _ready(server):
    response = requests.get(server.url + "/readyz", timeout=10)
    return response.status_code, response.json()


def test_readyz_names_the_part_that_is_down_and_recovers():
    redis = PrivateRedis()
    postgres = PrivatePostgres("parley_readyz")
    server = None
    try:
        server = LiveServer(worker=False, REDIS_URL=redis.url, DATABASE_URL=postgres.url)
        assert _ready(server) == (200, {"status": "ready", "checks": {"database": "ok", "channelLayer": "ok"}})

        redis.kill()
        status, body = _ready(server)
        assert (status, body["status"], body["checks"]["database"]) == (503, "unready", "ok"), body
        assert body["checks"]["channelLayer"] != "ok"
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200  # still up

        redis.start()
        wait_until(lambda: _ready(server)[0] == 200, timeout=15, message="ready again once Redis is back")

        postgres.ctl("stop")
        status, body = _ready(server)
        assert (status, body["checks"]["channelLayer"]) == (503, "ok"), body
        assert body["checks"]["database"] != "ok"

        postgres.ctl("start")
        wait_until(lambda: _ready(server)[0] == 200, timeout=30, message="ready again once the database is back")
    finally:
        if server is not None:
            server.stop()
        redis.kill()
        postgres.drop()
