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
PARLEY_OUTBOUND_ALLOW = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
PARLEY_GRAVATAR_URL = "http://127.0.0.1:9/avatar/"
