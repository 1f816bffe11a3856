"""The dashboard socket opens only for Parley's own pages: the Origin must
match the page's scheme, host and port (dashboard.socket_origin), not only
a host of ALLOWED_HOSTS as channels' AllowedHostsOriginValidator checks.
Most cases run the validator in front of a consumer that accepts anything
(no database needed); one runs the real routes with a member's session."""

import ipaddress

import pytest
from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from dashboard.socket_origin import SameOriginValidator


class Accept(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()


def opens(origin=None, host="127.0.0.1:8000", *, scheme=None, client=None, forwarded_proto=None,
          application=None, path="/ws/", extra_headers=()) -> bool:
    """Whether a socket with these headers (and scope) is accepted."""
    headers = [*extra_headers]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    if forwarded_proto is not None:
        headers.append((b"x-forwarded-proto", forwarded_proto.encode()))
    inner = application or SameOriginValidator(Accept.as_asgi())
    scope_extra = {key: value for key, value in (("scheme", scheme), ("client", client)) if value}

    async def app(scope, receive, send):  # what daphne would add to the scope
        return await inner({**scope, **scope_extra}, receive, send)

    async def scenario():
        communicator = WebsocketCommunicator(app, path, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return connected

    return async_to_sync(scenario)()


def test_the_pages_own_origin_opens():
    assert opens("http://127.0.0.1:8000")
    assert opens("http://localhost", host="localhost")
    assert opens("http://localhost:80", host="localhost")  # the default port, spelt out


@pytest.mark.parametrize("origin", [
    "https://127.0.0.1:8000",   # wrong scheme
    "http://127.0.0.1:8001",    # wrong port
    "http://127.0.0.1",         # port left out: 80, not 8000
    "http://localhost:8000",    # another host, though in ALLOWED_HOSTS
    "https://evil.example",
    "null",
    "http://127.0.0.1:notaport",
])
def test_any_other_origin_is_refused(origin):
    assert not opens(origin)


def test_no_origin_is_refused():
    assert not opens(None)
    assert not opens(None, host=None)


def test_a_host_outside_allowed_hosts_is_refused():
    """A page of a name rebound to Parley's address is same-origin with
    itself: the Host must be one of ALLOWED_HOSTS, as for HTTP."""
    assert not opens("http://rebound.example:8000", host="rebound.example:8000")
    assert not opens("http://127.0.0.1:8000", host=None)


def test_a_wss_socket_expects_an_https_page():
    assert opens("https://127.0.0.1:8000", scheme="wss")
    assert not opens("http://127.0.0.1:8000", scheme="wss")


def test_x_forwarded_proto_is_believed_only_from_a_trusted_proxy(settings):
    settings.PARLEY_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    page = "https://127.0.0.1:8000"
    assert opens(page, client=["10.1.2.3", 40000], forwarded_proto="https")
    assert not opens(page, client=["192.0.2.7", 40000], forwarded_proto="https")
    assert not opens("http://127.0.0.1:8000", client=["10.1.2.3", 40000], forwarded_proto="https")
    settings.PARLEY_TRUSTED_PROXIES = None
    assert not opens(page, client=["10.1.2.3", 40000], forwarded_proto="https")


def test_the_public_url_and_csrf_trusted_origins_are_accepted(settings):
    """Behind nginx with TLS, the socket reaches daphne as plain ws."""
    settings.ALLOWED_HOSTS = ["chat.example.com", "other.example.net"]
    settings.PARLEY_PUBLIC_URL = "https://chat.example.com"
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.org", "https://other.example.net:8443"]
    assert opens("https://chat.example.com", host="chat.example.com")
    assert opens("https://admin.example.org", host="chat.example.com")
    assert opens("https://other.example.net:8443", host="other.example.net")
    assert not opens("http://chat.example.com:8443", host="chat.example.com")
    assert not opens("https://other.example.net", host="other.example.net")
    assert not opens("https://example.com", host="chat.example.com")


@pytest.mark.django_db(transaction=True)
def test_the_real_route_opens_for_a_member_on_the_right_origin_only(client, owner, app):
    from dashboard.asgi import application

    client.force_login(owner)
    cookie = [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]
    path = f"/ws/dashboard/events/{app.id}/"
    assert opens("http://127.0.0.1:8000", application=application, path=path, extra_headers=cookie)
    for origin in ("http://127.0.0.1:9000", "https://127.0.0.1:8000", "http://localhost:8000"):
        assert not opens(origin, application=application, path=path, extra_headers=cookie), origin
