"""POST to a webhook target through the very address that was checked.

Checking a host name and then letting requests resolve it again leaves a
window for DNS rebinding (a name that answers a public address to the check
and 127.0.0.1 to the connection). So the name is resolved once, every address
is checked, and the request connects to that address; the Host header, TLS
SNI and the certificate check still use the name.
"""

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class Refused(Exception):
    """The target may not be called (not http(s), unresolvable, or private)."""


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """One address of `host`, after checking that none of its addresses is
    loopback, private, link-local... (unless `allow_private`)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise Refused(f"cannot resolve {host}")
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            if not address.is_global:
                raise Refused(f"{host} resolves to a non-public address ({address})")
    return str(addresses[0])


class _NamedTLSAdapter(HTTPAdapter):
    """TLS to an IP address, with SNI and the certificate checked for the name."""

    def __init__(self, hostname: str):
        self._hostname = hostname
        super().__init__()

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["server_hostname"] = self._hostname
        pool_kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def post(url: str, *, json, headers: dict, timeout: float, allow_private: bool) -> requests.Response:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("the target must be an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port, allow_private=allow_private)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment between the check and the call
        if parts.scheme == "https":
            session.mount("https://", _NamedTLSAdapter(parts.hostname))
        return session.post(
            pinned, json=json, headers={**headers, "Host": host_header},
            timeout=timeout, allow_redirects=False,
        )
