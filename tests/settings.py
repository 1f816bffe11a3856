"""Settings for the test suite, the servers and workers it starts, and the
benches: the production settings plus what only tests may have.

- The test-only "fake" channel (tests/support/fake_channel.py), which POSTs
  to a fake platform on 127.0.0.1 at PARLEY_FAKE_API_BASE; a live test gives
  its server and worker processes that URL in their environment.
- Outbound requests are allow-listed to loopback, so nothing a test or a
  fuzzer invents (a webhook target, a platform URL) leaves the machine, not
  even as a DNS query.
- Avatars point at a loopback port nobody serves, so a browser test's page
  never fetches www.gravatar.com (tests/support/browser.py fails a test
  whose page asks for anything off loopback).
"""

import ipaddress
import os

from dashboard.settings import *  # noqa: F403

PARLEY_EXTRA_INTEGRATIONS = ["tests.support.fake_channel.FakeChannel"]
PARLEY_FAKE_API_BASE = os.environ.get("PARLEY_FAKE_API_BASE", "http://127.0.0.1:9")
PARLEY_GRAPH_API_VERSION = "23.0"
PARLEY_OUTBOUND_ALLOW = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
PARLEY_GRAVATAR_URL = "http://127.0.0.1:9/avatar/"
# Avatars and images in tests are served over http from loopback ports
# (fakes, the Gravatar above): the dashboard's CSP must let them load, or
# every browser test would fail on the violation (tests/support/browser.py).
CSP_IMAGE_SOURCES.append("http://127.0.0.1:*")  # noqa: F405

# Rate limits: far above anything the suite does (many /v1/init calls from
# 127.0.0.1), unless the environment sets one: the rate-limit tests give
# their live servers small limits that way, and override these in-process.
for _name in [n for n in dir() if n.startswith("PARLEY_RATE_") and n != "PARLEY_RATE_SOCKET_REFUSALS"]:
    if not os.environ.get(_name):
        globals()[_name] = "100000/1s"

# Counters in Redis carry a prefix unique to this test session (inherited by
# the servers and workers it starts through their environment), so two
# sessions sharing a Redis never count each other's requests, and a test
# can clear its session's keys without touching anyone else's.
if REDIS_URL:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = os.environ.setdefault(  # noqa: F405
        "PARLEY_CACHE_KEY_PREFIX", f"parley-test-{os.getpid()}-{os.urandom(4).hex()}"
    )

# A live server started by a test that signs in many times may hash with MD5
# (the test process then creates its users with MD5 too): PBKDF2's
# deliberate slowness would only slow the suite down.
if os.environ.get("PARLEY_TEST_FAST_HASHER"):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
