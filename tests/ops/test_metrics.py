"""/metrics in Prometheus text format (parsed with prometheus_client's own
parser): the counters move after a send and a user message, the gauges read
from the database are there, a socket is counted while open; shown to
PARLEY_OPS_ALLOW or the token only; and in multiprocess mode a live server
sums what its processes counted."""

import asyncio

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from messaging.models import AppUser
from tests.api.conftest import add_client, bearer, make_jwt
from tests.support.live import LiveServer, wait_until
from tests.support.ws import SdkSocket


def scrape(text: str) -> dict:
    """{(sample name, sorted labels): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.smoke
@pytest.mark.django_db
def test_metrics_count_messages_deliveries_and_requests(client, app, django_capture_on_commit_callbacks):
    alice = AppUser.objects.create(app=app, user_id="alice")
    add_client(alice, "web", "web-alice")
    before = scrape(client.get("/metrics").content.decode())
    token = bearer(make_jwt(app.test_key.key_id, app.test_secret))["Authorization"]

    def post(role, text):
        return client.post(f"/v1/appusers/{alice.id}/messages", {"type": "text", "text": text, "role": role},
                           content_type="application/json", HTTP_AUTHORIZATION=token)

    with django_capture_on_commit_callbacks(execute=True):
        sent, received = post("appMaker", "hi"), post("appUser", "yo")
    assert (sent.status_code, received.status_code) == (201, 201)
    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    after = scrape(response.content.decode())

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("parley_messages_total", direction="out", channel="web") == 1
    assert moved("parley_deliveries_total", state="sent", channel="web") == 1
    assert moved("parley_messages_total", direction="in", channel="api") == 1
    assert moved("parley_request_seconds_count", group="api") == 2
    for gauge in ("parley_task_queue_depth", "parley_task_queue_oldest_seconds", "parley_deliveries_due_unclaimed"):
        assert (gauge, ()) in after, gauge
    assert ("parley_failovers_total", ()) in after


@pytest.mark.smoke
@pytest.mark.django_db
def test_metrics_are_shown_to_the_allowed_addresses_or_the_token_only(client, settings):
    settings.PARLEY_OPS_TOKEN = "metrics-token"
    away = {"REMOTE_ADDR": "198.51.100.7"}
    assert client.get("/metrics", **away).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token", **away).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_multiprocess_mode_sums_the_processes_and_counts_open_sockets(app, tmp_path):
    user = AppUser.objects.create(app=app, user_id="alice")
    add_client(user, "web", "web-alice")
    # Two web processes sharing one PROMETHEUS_MULTIPROC_DIR, as on one host.
    a = LiveServer(worker=False, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    b = LiveServer(worker=False, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    try:
        def metrics():
            return scrape(requests.get(a.url + "/metrics", timeout=10).text)

        headers = bearer(make_jwt(app.test_key.key_id, app.test_secret))
        for server in (a, b):
            response = requests.post(f"{server.url}/v1/appusers/{user.id}/messages", headers=headers, timeout=10,
                                     json={"type": "text", "text": "hi", "role": "appMaker"})
            assert response.status_code == 201, response.text

        def counted():
            samples = metrics()
            return samples if value(samples, "parley_messages_total", direction="out", channel="web") == 2 else None

        samples = wait_until(counted, timeout=10, message="both processes' sends counted by one")
        assert value(samples, "parley_deliveries_total", state="sent", channel="web") == 2

        async def with_socket():
            socket = await SdkSocket.open(b.url)  # open on b, seen from a
            try:
                return await asyncio.to_thread(metrics)
            finally:
                await socket.close()

        assert value(asyncio.run(with_socket()), "parley_websockets_open", kind="sdk") == 1
        wait_until(lambda: value(metrics(), "parley_websockets_open", kind="sdk") == 0, timeout=10,
                   message="the closed socket no longer counted")
    finally:
        a.stop()
        b.stop()
