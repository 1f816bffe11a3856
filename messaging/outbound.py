"""Every outbound HTTP request Parley makes goes through here: webhook calls,
platform API calls, and media downloads from URLs a platform sends.

What each request gets, whoever makes it:
- only an http(s) URL with a host is called;
- the host is resolved once, every address it resolves to is checked, and
  the request connects to the address that was checked, with the Host
  header, TLS SNI and the certificate check still using the name. Checking a
  name and then letting requests resolve it again would leave a window for
  DNS rebinding (a name that answers a public address to the check and
  127.0.0.1 to the connection);
- when `settings.PARLEY_OUTBOUND_ALLOW` is set, every address must lie in
  one of its networks, for every caller without exception;
- unless `allow_private`, every address must also be public (not loopback,
  private, link-local...). Webhook targets and URLs a platform sends come
  from outside and obey this rule (PARLEY_WEBHOOK_ALLOW_PRIVATE); platform
  base URLs are the operator's own settings and may point at loopback;
- when the allow-list holds loopback networks only, a host that is neither
  an IP literal nor `localhost` is refused before it is looked up, so
  nothing a test or a fuzzer invents reaches a DNS server;
- no proxy from the environment (it would sit between the check and the
  call), no redirect followed (a redirect is a new, unchecked target), and a
  timeout on every request;
- connections are kept alive and reused (a new TCP connection, and TLS
  handshake, per platform call cost the worker more CPU than the rest of a
  delivery): each thread keeps a session per (scheme, host name, port),
  whose pools are keyed by the checked address in the pinned URL, so the
  check still runs before every request and a name that now resolves
  elsewhere gets a new pool, never a connection opened for another address.

A refusal raises `Refused` before any connection is opened; network errors
and timeouts are requests' own exceptions, for the caller to classify.
"""

import http.cookiejar
import ipaddress
import socket
import threading
from collections import OrderedDict
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

DEFAULT_PORTS = {"http": 80, "https": 443}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The target may not be called (not http(s), unresolvable, outside the
    allow-list, or private when private addresses are not allowed)."""


class Unresolvable(Refused):
    """The host name did not resolve (a platform call may retry this later)."""


def _plain(address: Address) -> Address:
    # ::ffff:10.0.0.1 is 10.0.0.1 on the wire: check (and connect to) the IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _loopback_only(allow) -> bool:
    return allow is not None and all(network.is_loopback for network in allow)


def _resolve(host: str, port: int, *, allow) -> list[Address]:
    try:
        return [_plain(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if _loopback_only(allow) and host != "localhost":
        raise Refused(f"{host} is not looked up: PARLEY_OUTBOUND_ALLOW admits loopback addresses only")
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise Unresolvable(f"cannot resolve {host}")
    return [_plain(ipaddress.ip_address(info[4][0])) for info in infos]


def is_private_literal(host: str) -> bool:
    """Whether `host` is known to be non-public without a lookup: localhost
    (and *.localhost) or an IP literal that is not global, by the very rule
    checked_address() applies. Configuration checks use it (a name is only
    judged when it is called: DNS can change after configuration)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not _plain(ipaddress.ip_address(host)).is_global
    except ValueError:
        return False


def checked_address(host: str, port: int, *, allow_private: bool) -> Address:
    """The address to connect to for `host`, once every address it resolves
    to has passed the allow-list and (unless `allow_private`) the
    private-address rule; raises Refused otherwise."""
    allow = settings.PARLEY_OUTBOUND_ALLOW
    addresses = _resolve(host, port, allow=allow)
    for address in addresses:
        if allow is not None and not any(address in network for network in allow):
            raise Refused(f"{host} resolves to {address}, outside PARLEY_OUTBOUND_ALLOW")
        if not allow_private and not address.is_global:
            raise Refused(f"{host} resolves to a non-public address ({address})")
    return addresses[0]


class _NamedTLSAdapter(HTTPAdapter):
    """TLS to an IP address, with SNI and the certificate checked for the name."""

    def __init__(self, hostname: str):
        self._hostname = hostname
        super().__init__()

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["server_hostname"] = self._hostname
        pool_kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


# Sessions a thread keeps open (the least recently used one is closed past
# this): platforms are a handful of hosts, webhook targets may be many.
MAX_SESSIONS = 32

_local = threading.local()


def _session(scheme: str, hostname: str, port: int) -> requests.Session:
    """This thread's session for one (scheme, host name, port): requests'
    pools keep its connections alive between calls."""
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = OrderedDict()
    key = (scheme, hostname, port)
    session = sessions.get(key)
    if session is not None:
        sessions.move_to_end(key)
        return session
    session = requests.Session()
    session.trust_env = False
    # Each request stands alone, as with a session per request: a cookie one
    # answer sets (one app's webhook target) is never sent with the next.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    if scheme == "https":
        session.mount("https://", _NamedTLSAdapter(hostname))
    sessions[key] = session
    while len(sessions) > MAX_SESSIONS:
        sessions.popitem(last=False)[1].close()
    return session


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def request(method: str, url: str, *, timeout: float, allow_private: bool, headers: dict | None = None,
            **kwargs) -> requests.Response:
    """One request to `url` under the rules above (`kwargs` as requests takes
    them: json, data, auth, stream...). Raises Refused, or requests'
    exceptions when the network fails."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise Refused("the target must be an http(s) URL")
    try:
        explicit_port = parts.port
    except ValueError:
        raise Refused("the target's port is not a valid number")
    port = explicit_port or DEFAULT_PORTS[parts.scheme]
    address = checked_address(parts.hostname, port, allow_private=allow_private)
    suffix = f":{explicit_port}" if explicit_port else ""
    pinned = urlunsplit((parts.scheme, _bracketed(str(address)) + suffix, parts.path or "/", parts.query, ""))
    return _session(parts.scheme, parts.hostname, port).request(
        method, pinned, headers={**(headers or {}), "Host": _bracketed(parts.hostname) + suffix},
        timeout=timeout, allow_redirects=False, **kwargs,
    )


def post(url: str, *, timeout: float, allow_private: bool, **kwargs) -> requests.Response:
    return request("POST", url, timeout=timeout, allow_private=allow_private, **kwargs)
