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
- unless `allow_private`, every address must also be public: outside every
  IANA special-purpose range (loopback, private, link-local, NAT64 and
  6to4 embedding such an address, IPv4-compatible IPv6, Teredo...: see
  SPECIAL_RANGES), and the refusal names the range. Webhook targets and URLs a platform sends come
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
    # ::ffff:10.0.0.1 is 10.0.0.1 on the wire: connect to (and allow-list) the IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


# The IANA special-purpose address registries (IPv4 and IPv6, as of 2025),
# plus multicast and the reserved and deprecated blocks, each with the name
# a refusal gives. Written out rather than left to `ipaddress.is_global`:
# Python's list lags the registries (3fff::/20, 5f00::/16, 100:0:0:1::/64
# and the deprecated ::/96 pass it) and treats 64:ff9b::/96 as global
# whatever IPv4 address it embeds. None of these is a target for a webhook,
# so even the registry's few globally reachable anycast blocks (PCP, TURN,
# AS112, AMT) are refused, and 6to4 and Teredo whatever they embed (their
# relays are deprecated, RFC 7526); only NAT64's well-known prefix and
# IPv4-mapped addresses are judged by the IPv4 address they carry.
SPECIAL_RANGES = {
    "0.0.0.0/8": "this network",
    "10.0.0.0/8": "private-use",
    "100.64.0.0/10": "shared address space",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "172.16.0.0/12": "private-use",
    "192.0.0.0/24": "IETF protocol assignments",
    "192.0.0.0/29": "IPv4 service continuity prefix",
    "192.0.0.8/32": "IPv4 dummy address",
    "192.0.0.9/32": "Port Control Protocol anycast",
    "192.0.0.10/32": "TURN anycast",
    "192.0.0.170/31": "NAT64/DNS64 discovery",
    "192.0.2.0/24": "documentation, TEST-NET-1",
    "192.31.196.0/24": "AS112-v4",
    "192.52.193.0/24": "AMT",
    "192.88.99.0/24": "deprecated 6to4 relay anycast",
    "192.168.0.0/16": "private-use",
    "192.175.48.0/24": "direct delegation AS112 service",
    "198.18.0.0/15": "benchmarking",
    "198.51.100.0/24": "documentation, TEST-NET-2",
    "203.0.113.0/24": "documentation, TEST-NET-3",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
    "255.255.255.255/32": "limited broadcast",
    "::/128": "unspecified",
    "::1/128": "loopback",
    "::/96": "IPv4-compatible, deprecated",
    "::ffff:0:0/96": "IPv4-mapped",
    "::ffff:0:0:0/96": "IPv4-translated",
    "64:ff9b::/96": "NAT64",
    "64:ff9b:1::/48": "local-use NAT64",
    "100::/64": "discard-only",
    "100:0:0:1::/64": "dummy IPv6 prefix",
    "2001::/23": "IETF protocol assignments",
    "2001::/32": "Teredo",
    "2001:1::1/128": "Port Control Protocol anycast",
    "2001:1::2/128": "TURN anycast",
    "2001:1::3/128": "DNS-SD service registration anycast",
    "2001:2::/48": "benchmarking",
    "2001:3::/32": "AMT",
    "2001:4:112::/48": "AS112-v6",
    "2001:10::/28": "deprecated ORCHID",
    "2001:20::/28": "ORCHIDv2",
    "2001:30::/28": "drone remote ID",
    "2001:db8::/32": "documentation",
    "2002::/16": "6to4",
    "2620:4f:8000::/48": "direct delegation AS112 service",
    "3fff::/20": "documentation",
    "5f00::/16": "segment routing (SRv6) SIDs",
    "fc00::/7": "unique-local",
    "fe80::/10": "link-local",
    "fec0::/10": "deprecated site-local",
    "ff00::/8": "multicast",
}
# (network, its name as written above: "::ffff:0:0/96", not Python's
# "::ffff:0.0.0.0/96"), most specific first.
_SPECIAL = sorted(((ipaddress.ip_network(net), f"{net} ({name})") for net, name in SPECIAL_RANGES.items()),
                  key=lambda item: -item[0].prefixlen)


def _range_of(address: Address):
    """The most specific special range holding `address`: (network, label)."""
    return next(((network, label) for network, label in _SPECIAL if address in network), (None, None))


def _embedded_ipv4(address: Address, network) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address of `network` carries (IPv4-mapped,
    NAT64, IPv4-compatible, 6to4, Teredo's client), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if network in _LOW_32_BITS:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOW_32_BITS = {_NAT64, ipaddress.ip_network("::/96")}
# Ranges whose packets go to the IPv4 address they carry, judged by it: a
# NAT64 gateway's (DNS64) answer for a public IPv4-only host is a fine
# target, but 64:ff9b::7f00:1 is 127.0.0.1; ::ffff:a.b.c.d is a.b.c.d.
_JUDGED_BY_EMBEDDED = {_NAT64, ipaddress.ip_network("::ffff:0:0/96")}


def special_range(address: Address) -> str | None:
    """Why `address` may not be called, naming the special-purpose range it
    lies in (e.g. "64:ff9b::/96 (NAT64) embedding 127.0.0.1, in 127.0.0.0/8
    (loopback)"); None for a public address."""
    network, label = _range_of(address)
    if network is None:  # ipaddress's own rule as a second net
        return None if address.is_global else f"{address} (not globally reachable)"
    embedded = _embedded_ipv4(address, network)
    if network in _JUDGED_BY_EMBEDDED:
        inner = special_range(embedded)
        return None if inner is None else f"{label} embedding {embedded}, in {inner}"
    return f"{label} embedding {embedded}" if embedded is not None else label


def _loopback_only(allow) -> bool:
    return allow is not None and all(network.is_loopback for network in allow)


def _resolve(host: str, port: int, *, allow) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if _loopback_only(allow) and host != "localhost":
        raise Refused(f"{host} is not looked up: PARLEY_OUTBOUND_ALLOW admits loopback addresses only")
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise Unresolvable(f"cannot resolve {host}")
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def is_private_literal(host: str) -> str | None:
    """Why `host` is known to be non-public without a lookup (a true value
    naming the range: "localhost", "64:ff9b::/96 (NAT64) embedding ..."),
    or None: localhost (and *.localhost) or an IP literal in a
    special-purpose range, by the very rule checked_address() applies.
    Configuration checks use it (a name is only judged when it is called:
    DNS can change after configuration)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return special_range(address)


def checked_address(host: str, port: int, *, allow_private: bool) -> Address:
    """The address to connect to for `host`, once every address it resolves
    to has passed the allow-list and (unless `allow_private`) the
    special-purpose ranges (`special_range`); raises Refused otherwise,
    naming the range."""
    allow = settings.PARLEY_OUTBOUND_ALLOW
    addresses = _resolve(host, port, allow=allow)
    for address in addresses:
        plain = _plain(address)
        if allow is not None and not any(plain in network for network in allow):
            raise Refused(f"{host} resolves to {address}, outside PARLEY_OUTBOUND_ALLOW")
        reason = None if allow_private else special_range(address)
        if reason is not None:
            raise Refused(f"{host} resolves to a non-public address ({address}), in {reason}")
    return _plain(addresses[0])


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
