"""Webhook calls connect to the address that was checked (no DNS rebinding)."""

import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from messaging.webhooks import pinned


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


def test_it_refuses_a_name_that_resolves_to_a_private_address():
    with pytest.raises(pinned.Refused, match="non-public address"):
        pinned.post("http://localhost:9/hook", json={}, headers={}, timeout=2, allow_private=False)


def test_it_connects_to_the_address_it_checked(monkeypatch, target):
    port, seen = target
    answers = iter(["127.0.0.1", "203.0.113.9"])  # a rebinding name: first answer, then another
    real_getaddrinfo = socket.getaddrinfo

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        if host != "hooks.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(pinned.socket, "getaddrinfo", rebinding_getaddrinfo)
    response = pinned.post(f"http://hooks.example:{port}/in", json={"a": 1}, headers={"X-API-Key": "s"},
                           timeout=5, allow_private=True)
    # Resolved once: the request went to the first (checked) answer, with the
    # name kept in the Host header.
    assert response.status_code == 204
    assert seen == [{"host": f"hooks.example:{port}", "body": b'{"a": 1}'}]


def test_it_refuses_what_is_not_http():
    with pytest.raises(pinned.Refused):
        pinned.post("ftp://example.com/x", json={}, headers={}, timeout=2, allow_private=True)
