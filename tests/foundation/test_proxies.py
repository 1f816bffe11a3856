"""Forwarded headers are believed only from PARLEY_TRUSTED_PROXIES
(messaging/client_address.py; `manage.py serve` runs daphne without
--proxy-headers).

Over HTTP against live daphne servers, signing in to the dashboard (the
throttle of messaging/services/sign_in.py): with no trusted proxies a new
X-Forwarded-For per try does not escape the throttle (the bypass), and an
attacker naming a victim's address does not lock the victim out (the
lockout); with 127.0.0.1 trusted, X-Forwarded-For is the client's address.
Loopback is 127.0.0.0/8, so a client connecting from 127.0.0.2 is another
address than one from 127.0.0.1."""

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter

from messaging.client_address import client_address
from tests.support.cast import PASSWORD
from tests.support.live import ROOT, LiveServer

MD5 = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class FromAddress(HTTPAdapter):
    """Connect from a given loopback address."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def servers(django_db_setup):
    """One server trusting no proxy, one trusting 127.0.0.1 (started
    together: each takes seconds to start)."""
    envs = {"direct": {}, "proxied": {"PARLEY_TRUSTED_PROXIES": "127.0.0.1"}}
    started = {}
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(LiveServer, worker=False, PARLEY_TEST_FAST_HASHER="1", **env)
                   for name, env in envs.items()}
        errors = []
        for name, future in futures.items():
            try:
                started[name] = future.result()
            except Exception as error:  # stop the one that did start
                errors.append(error)
    try:
        if errors:
            raise errors[0]
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture
def victim(transactional_db, settings, request):
    """An account of its own per test: on the embedded defaults a server's
    throttle counts stay in its memory from one test to the next."""
    from messaging.services.accounts import sign_up

    settings.PASSWORD_HASHERS = MD5  # as the servers hash (PARLEY_TEST_FAST_HASHER)
    email = f"{request.node.name.removeprefix('test_')[:40]}@a.example"
    return sign_up(email=email, password=PASSWORD, team_name="Victims").user


def sign_in(server, user, password, source="127.0.0.1", forwarded_for=None):
    """'signed in', 'throttled' or 'refused'."""
    session = requests.Session()
    session.mount("http://", FromAddress(source))
    page = session.get(server.url + "/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = session.post(
        server.url + "/login/",
        data={"username": user.email, "password": password, "csrfmiddlewaretoken": token},
        headers=headers, allow_redirects=False, timeout=10,
    )
    if response.status_code == 302:
        return "signed in"
    assert response.status_code in (200, 400, 422), response.status_code
    return "throttled" if "Too many failed sign-ins" in response.text else "refused"


def test_a_new_forwarded_for_per_try_does_not_escape_the_throttle(servers, victim):
    server = servers["direct"]
    for n in range(5):
        assert sign_in(server, victim, "wrong", forwarded_for=f"198.51.100.{n}") == "refused"
    assert sign_in(server, victim, PASSWORD, forwarded_for="198.51.100.99") == "throttled"


def test_naming_a_victims_address_does_not_lock_the_victim_out(servers, victim):
    server = servers["direct"]
    for _ in range(5):
        assert sign_in(server, victim, "wrong", forwarded_for="127.0.0.2") == "refused"
    # The attacker locked only its own address...
    assert sign_in(server, victim, PASSWORD, forwarded_for="127.0.0.2") == "throttled"
    # ...and the victim, at 127.0.0.2, still signs in.
    assert sign_in(server, victim, PASSWORD, source="127.0.0.2") == "signed in"


def test_a_trusted_proxys_forwarded_for_is_the_client(servers, victim):
    server = servers["proxied"]
    for _ in range(5):
        assert sign_in(server, victim, "wrong", forwarded_for="203.0.113.7") == "refused"
    assert sign_in(server, victim, PASSWORD, forwarded_for="203.0.113.7") == "throttled"
    # Through a second trusted hop: still the client's address.
    assert sign_in(server, victim, PASSWORD, forwarded_for="203.0.113.7, 127.0.0.1") == "throttled"
    # Another client behind the proxy is not affected.
    assert sign_in(server, victim, PASSWORD, forwarded_for="203.0.113.8") == "signed in"
    # A peer that is not a trusted proxy is not believed, even here.
    assert sign_in(server, victim, PASSWORD, source="127.0.0.3", forwarded_for="203.0.113.7") == "signed in"


def test_the_client_is_the_rightmost_untrusted_hop():
    import ipaddress

    trusted = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))
    assert client_address("10.0.0.1", "1.1.1.1, 2.2.2.2, 10.0.0.9", trusted) == "2.2.2.2"
    assert client_address("192.0.2.5", "1.1.1.1", trusted) == "192.0.2.5"  # not a proxy
    assert client_address("10.0.0.1", "", trusted) == "10.0.0.1"
    assert client_address("10.0.0.1", "10.0.0.2, 10.0.0.3", trusted) == "10.0.0.2"
    # Garbage ends the walk at the last hop a trusted proxy wrote.
    assert client_address("10.0.0.1", "1.1.1.1, not-an-address, 10.0.0.7", trusted) == "10.0.0.7"
    assert client_address("::1", "2001:db8::5", trusted) == "2001:db8::5"
    assert client_address("10.0.0.1", "1.1.1.1", None) == "10.0.0.1"


def test_forwarded_proto_is_believed_only_from_a_trusted_proxy(client, db, settings):
    import ipaddress

    settings.PARLEY_TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    https = {"X-Forwarded-Proto": "https"}
    assert client.get("/login/", headers=https, REMOTE_ADDR="127.0.0.1").status_code == 200
    # From any other peer the header is dropped: plain HTTP, redirected.
    response = client.get("/login/", headers=https, REMOTE_ADDR="192.0.2.9")
    assert response.status_code == 301 and response["Location"].startswith("https://")


DEFAULT_RATES = {
    "PARLEY_RATE_API_KEY": "400/2s", "PARLEY_RATE_APP_TOKEN": "40/2s", "PARLEY_RATE_APP_USER": "40/2s",
    "PARLEY_RATE_INIT": "20/2s", "PARLEY_RATE_SIGN_IN": "20/2m", "PARLEY_RATE_PASSWORD_RESET": "20/2m",
    "PARLEY_RATE_SIGN_UP": "20/2m", "PARLEY_RATE_SOCKET": "20/2s", "PARLEY_RATE_SOCKET_REFUSALS": 20,
}


def _settings_in_child(env, tmp_path):
    child = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "PARLEY_"))}
    child.update({"PARLEY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env})
    code = ("import json, django; from django.conf import settings; django.setup();"
            "print(json.dumps({'ssl': settings.SECURE_PROXY_SSL_HEADER, 'cache': settings.CACHES['default']['BACKEND'],"
            "'proxies': [str(n) for n in settings.PARLEY_TRUSTED_PROXIES or ()],"
            "'rates': {n: getattr(settings, n) for n in dir(settings) if n.startswith('PARLEY_RATE_')}}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.smoke
def test_the_proxy_ssl_header_and_the_cache_follow_the_environment(tmp_path):
    plain = _settings_in_child({}, tmp_path)
    rates = plain.pop("rates")
    assert plain == {"ssl": None, "cache": "django.core.cache.backends.locmem.LocMemCache", "proxies": []}
    # The defaults README states (the API tests run 30 calls under them).
    assert rates == DEFAULT_RATES
    proxied = _settings_in_child(
        {"PARLEY_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16", "REDIS_URL": "redis://r.example:6379/0"}, tmp_path
    )
    proxied.pop("rates")
    assert proxied == {"ssl": ["HTTP_X_FORWARDED_PROTO", "https"],
                       "cache": "django.core.cache.backends.redis.RedisCache",
                       "proxies": ["10.0.0.5/32", "10.1.0.0/16"]}
