"""Which pages may open the dashboard's sockets: only Parley's own.

The dashboard's sockets authenticate with the session cookie, which the
browser sends whoever opened the socket, so the Origin is what tells a
dashboard page from another site's. Channels' AllowedHostsOriginValidator
compares the Origin's host with ALLOWED_HOSTS only: a page of
http://localhost:9999 (another program on the same machine) or of
http://parley.example (plain HTTP, on a path an attacker on the network can
answer) passes it for https://parley.example. Here the Origin must be one
of, compared by scheme, host and port (channels' own OriginValidator
matching):
- the page's own origin: the socket's Host header (a host of ALLOWED_HOSTS,
  as Django requires of every request) with `http` for a `ws` socket and
  `https` for `wss`. Daphne does not say which (its websocket scope has no
  `scheme`), so behind a TLS proxy `X-Forwarded-Proto` decides, believed
  only from a peer in PARLEY_TRUSTED_PROXIES (as for HTTP requests);
- PARLEY_PUBLIC_URL's origin and CSRF_TRUSTED_ORIGINS (`https://*.example.com`
  for subdomains, as for Django's CSRF check), the operator's own word for
  a deploy behind nginx or another proxy.
No Origin (not a browser) is refused.
"""

from urllib.parse import urlsplit

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from messaging.client_address import peer_is_trusted


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


def _trusted_peer(scope) -> bool:
    """Whether the direct peer is one of PARLEY_TRUSTED_PROXIES."""
    client = scope.get("client")
    return bool(client) and peer_is_trusted(str(client[0]))


def page_scheme(scope) -> str:
    """The scheme of the page that opened this socket, as far as it can be
    known: wss means https; X-Forwarded-Proto from a trusted proxy."""
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    forwarded = _header(scope, b"x-forwarded-proto")
    if forwarded and _trusted_peer(scope):
        proto = forwarded.split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scheme = proto
    return scheme


def _allowed_hosts() -> list[str]:
    # What django.http.HttpRequest.get_host() allows, DEBUG's default included.
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def expected_origins(scope) -> list[str]:
    """The origins (channels OriginValidator patterns) this socket may come from."""
    origins = []
    host = _header(scope, b"host")
    if host:
        domain, _port = split_domain_port(host)
        if domain and validate_host(domain, _allowed_hosts()):
            origins.append(f"{page_scheme(scope)}://{host}")
    if settings.PARLEY_PUBLIC_URL:
        public = urlsplit(settings.PARLEY_PUBLIC_URL)
        origins.append(f"{public.scheme}://{public.netloc}")
    # Django's "https://*.example.com" is channels' "https://.example.com".
    origins.extend(origin.replace("://*.", "://.", 1) for origin in settings.CSRF_TRUSTED_ORIGINS)
    return origins


class SameOriginValidator(OriginValidator):
    """Channels' OriginValidator, with the allowed origins worked out per
    connection (they depend on its Host header): see the module docstring."""

    def __init__(self, application):
        super().__init__(application, allowed_origins=())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards websockets only")
        if self._allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def _allowed(self, scope) -> bool:
        origin = _header(scope, b"origin")
        if not origin:
            return False
        try:
            parsed = urlsplit(origin)
            return any(self.match_allowed_origin(parsed, pattern) for pattern in expected_origins(scope))
        except ValueError:  # a port that is not a number
            return False
