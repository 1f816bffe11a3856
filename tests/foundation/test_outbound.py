"""Every outbound request goes through messaging.outbound: webhook calls
connect to the address that was checked (no DNS rebinding), and the
allow-list (loopback in the test settings) refuses anything else before a
lookup or a connection; platform calls skip only the private-address rule."""

import ipaddress
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from messaging import outbound
from messaging.integrations.base import PlatformError, http_post
from messaging.models import LogEntry, Webhook, WebhookEvent
from tests.support.fake_platform import FakePlatform
from tests.support.ws import business_message, make_user, run_tasks

OFF_LOOPBACK = ["http://10.0.0.1/hook", "https://example.com/hook"]


@pytest.fixture
def target():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append({"host": self.headers["Host"], "body": self.rfile.read(int(self.headers["Content-Length"]))})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()


@pytest.fixture
def network_calls(monkeypatch):
    """Every name lookup and connection this process attempts, as
    (what, host); each still goes ahead (the database and Redis need theirs)."""
    calls = []
    real_getaddrinfo, real_create_connection = socket.getaddrinfo, socket.create_connection
    real_connect = socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        calls.append(("lookup", host))
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        calls.append(("connect", address[0]))
        return real_create_connection(address, *args, **kwargs)

    def connect(sock, address):
        calls.append(("connect", address[0] if isinstance(address, tuple) else address))
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return calls


def fake_resolver(monkeypatch, name, *answers):
    """Answer `name` with `answers` in turn (the outside world's DNS)."""
    answers = iter(answers)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_it_refuses_a_name_that_resolves_to_a_private_address():
    with pytest.raises(outbound.Refused, match="non-public address"):
        outbound.post("http://localhost:9/hook", json={}, headers={}, timeout=2, allow_private=False)


def test_it_connects_to_the_address_it_checked(monkeypatch, target, settings):
    # An allow-list beyond loopback, so that names are looked up at all.
    settings.PARLEY_OUTBOUND_ALLOW = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("203.0.113.0/24"))
    port, seen = target
    # A rebinding name: first answer, then another.
    fake_resolver(monkeypatch, "hooks.example", "127.0.0.1", "203.0.113.9")
    response = outbound.post(f"http://hooks.example:{port}/in", json={"a": 1}, headers={"X-API-Key": "s"},
                             timeout=5, allow_private=True)
    # Resolved once: the request went to the first (checked) answer, with the
    # name kept in the Host header.
    assert response.status_code == 204
    assert seen == [{"host": f"hooks.example:{port}", "body": b'{"a": 1}'}]


def test_it_refuses_what_is_not_http():
    with pytest.raises(outbound.Refused):
        outbound.post("ftp://example.com/x", json={}, headers={}, timeout=2, allow_private=True)


@pytest.mark.parametrize("url, reason", [
    (OFF_LOOPBACK[0], "10.0.0.1 resolves to 10.0.0.1, outside PARLEY_OUTBOUND_ALLOW"),
    (OFF_LOOPBACK[1], "example.com is not looked up: PARLEY_OUTBOUND_ALLOW admits loopback addresses only"),
])
def test_the_loopback_allow_list_refuses_before_any_lookup_or_connection(url, reason, network_calls):
    with pytest.raises(outbound.Refused) as refused:
        outbound.post(url, json={}, headers={}, timeout=2, allow_private=True)
    assert str(refused.value) == reason
    assert network_calls == []


@pytest.mark.django_db(transaction=True)
def test_a_webhook_off_loopback_fails_at_once_with_the_reason(app, network_calls, settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True  # only the allow-list stands in the way
    for url in OFF_LOOPBACK:
        Webhook.objects.create(app=app, target=url, triggers=["message"])
    business_message(make_user(app, "alice"), "Hello")
    run_tasks()
    errors = sorted(WebhookEvent.objects.values_list("state", "attempts", "last_error"))
    assert errors == [
        ("failed", 1, "refused: 10.0.0.1 resolves to 10.0.0.1, outside PARLEY_OUTBOUND_ALLOW"),
        ("failed", 1, "refused: example.com is not looked up: PARLEY_OUTBOUND_ALLOW admits loopback addresses only"),
    ]
    assert LogEntry.objects.filter(kind="webhook:failure").count() == 2
    assert [call for call in network_calls if call[1] in ("10.0.0.1", "example.com")] == []


def test_a_platform_on_loopback_is_reached_even_when_private_webhooks_are_not(settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = False
    platform = FakePlatform()
    try:
        response = http_post(platform.url + "/messages", json={"text": "hi"})
        assert response.json() == {"id": "fake-1"}
        assert [r["body"] for r in platform.received()] == [{"text": "hi"}]
    finally:
        platform.close()


@pytest.mark.parametrize("url, reason", [
    ("http://10.0.0.1:9/messages", "refused: 10.0.0.1 resolves to 10.0.0.1, outside PARLEY_OUTBOUND_ALLOW"),
    ("https://api.telegram.org/bot1/sendMessage",
     "refused: api.telegram.org is not looked up: PARLEY_OUTBOUND_ALLOW admits loopback addresses only"),
])
def test_a_platform_off_the_allow_list_is_a_permanent_error(url, reason, network_calls):
    with pytest.raises(PlatformError) as error:
        http_post(url, json={})
    assert error.value.permanent and error.value.code == "refused"
    assert error.value.message == reason
    assert network_calls == []


def test_with_no_allow_list_names_are_looked_up_and_only_the_private_rule_applies(monkeypatch, target, settings):
    settings.PARLEY_OUTBOUND_ALLOW = None
    port, seen = target
    fake_resolver(monkeypatch, "hooks.example", "127.0.0.1", "127.0.0.1")
    with pytest.raises(outbound.Refused, match=r"non-public address \(127.0.0.1\)"):
        outbound.post(f"http://hooks.example:{port}/in", json={}, headers={}, timeout=5, allow_private=False)
    response = outbound.post(f"http://hooks.example:{port}/in", json={}, headers={}, timeout=5, allow_private=True)
    assert response.status_code == 204 and len(seen) == 1


def test_a_name_answering_outside_a_wider_allow_list_is_refused(monkeypatch, settings, network_calls):
    settings.PARLEY_OUTBOUND_ALLOW = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("203.0.113.0/24"))
    fake_resolver(monkeypatch, "hooks.example", "198.51.100.7")
    with pytest.raises(outbound.Refused, match="hooks.example resolves to 198.51.100.7, outside"):
        outbound.post("http://hooks.example/in", json={}, headers={}, timeout=5, allow_private=True)
    assert [call for call in network_calls if call[0] == "connect"] == []


def test_calls_to_one_host_share_a_kept_alive_connection_and_a_refusal_opens_none(network_calls):
    platform = FakePlatform()
    try:
        for text in ("one", "two"):
            response = outbound.post(platform.url + "/messages", json={"text": text}, timeout=5, allow_private=True)
            assert response.status_code == 200
        with pytest.raises(outbound.Refused):
            outbound.post("http://10.0.0.1:9/messages", json={}, timeout=5, allow_private=True)
        first, second = platform.received()
        assert (first["body"], second["body"]) == ({"text": "one"}, {"text": "two"})
        assert first["port"] == second["port"]  # the second call came over the first one's connection
        assert [call for call in network_calls if call[1] == "10.0.0.1"] == []
    finally:
        platform.close()
