"""The client's address and scheme, believed from forwarded headers only when
they come from a trusted proxy (`PARLEY_TRUSTED_PROXIES`).

Sign-in throttles, rate limits and logs read `request.META["REMOTE_ADDR"]`.
`manage.py serve` runs daphne without `--proxy-headers`, so REMOTE_ADDR is
the direct peer; this middleware (first in MIDDLEWARE) then:
- when the peer is a trusted proxy, walks `X-Forwarded-For` from the right,
  skipping trusted addresses, and sets REMOTE_ADDR to the first untrusted
  one (the client as the outermost trusted proxy saw it); the proxy's
  `X-Forwarded-Proto` stays for SECURE_PROXY_SSL_HEADER;
- otherwise strips the forwarded headers, so neither Django
  (`SECURE_PROXY_SSL_HEADER`, `request.is_secure()`) nor Parley believes a
  client that claims to be someone else or to have come over HTTPS.

Written here because no maintained part does this: daphne's
`--proxy-headers` believes X-Forwarded-For from every peer (it has no list
of trusted proxies), and django-ipware picks an address from the headers
without checking that the direct peer is a proxy at all.
"""

import ipaddress

from django.conf import settings

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def peer_is_trusted(peer: str) -> bool:
    """Whether the direct peer (an address as the server reports it) is a
    trusted proxy: the one test for HTTP (the middleware below) and for the
    dashboard's socket (dashboard/socket_origin.py)."""
    return is_trusted(_address(peer), settings.PARLEY_TRUSTED_PROXIES)


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def is_trusted(address, networks) -> bool:
    """Whether `address` (an ip_address, None when unparsable) is in
    `networks` (PARLEY_TRUSTED_PROXIES); an IPv4-mapped IPv6 peer counts as
    its IPv4 address."""
    if address is None or not networks:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in networks)


def client_address(peer: str, forwarded_for: str, networks) -> str:
    """The client's address: `peer` unless it is a trusted proxy, then the
    rightmost untrusted address of `forwarded_for` (or the leftmost valid
    one when every hop is trusted). An entry that is not an address ends
    the walk: whatever is left of it was written by an untrusted party."""
    if not is_trusted(_address(peer), networks):
        return peer
    address = peer
    for entry in reversed(forwarded_for.split(",")):
        hop = _address(entry)
        if hop is None:
            break
        address = str(hop)
        if not is_trusted(hop, networks):
            break
    return address


class ClientAddressMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        peer = meta.get("REMOTE_ADDR") or ""
        if peer_is_trusted(peer):
            meta["REMOTE_ADDR"] = client_address(peer, meta.get("HTTP_X_FORWARDED_FOR", ""),
                                                 settings.PARLEY_TRUSTED_PROXIES)
        else:
            for header in FORWARDED_HEADERS:
                meta.pop(header, None)
        return self.get_response(request)


def public_base_url(request) -> str:
    """The base URL clients and platforms reach Parley at: PARLEY_PUBLIC_URL,
    or the scheme and host the request came in on (forwarded headers are
    believed from trusted proxies only, above)."""
    return settings.PARLEY_PUBLIC_URL or f"{request.scheme}://{request.get_host()}"


def address_of(request) -> str:
    """The client's address of a request that went through the middleware
    above (so a trusted proxy's X-Forwarded-For is already applied), whole:
    what the audit trail records."""
    return request.META.get("REMOTE_ADDR") or ""
