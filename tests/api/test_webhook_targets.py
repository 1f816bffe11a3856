"""Webhook targets given as IP literals in a special-purpose range are
refused at configuration, naming the range (tests/foundation/
test_outbound_ranges.py covers every range, and the check at send)."""

import pytest

from messaging.models import Webhook
from tests.api.conftest import error_of


@pytest.mark.parametrize("target,named", [
    ("http://[64:ff9b::7f00:1]/hook", "64:ff9b::/96 (NAT64)"),
    ("http://[::127.0.0.1]:8000/hook", "::/96 (IPv4-compatible, deprecated)"),
    ("https://[2002:7f00:1::1]/hook", "2002::/16 (6to4) embedding 127.0.0.1"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "2001::/32 (Teredo)"),
    ("http://[::ffff:169.254.169.254]/latest", "::ffff:0:0/96 (IPv4-mapped)"),
    ("http://100.64.1.1/", "100.64.0.0/10 (shared address space)"),
])
def test_the_api_refuses_such_webhook_targets_naming_the_range(api, app_jwt, resolver, settings, target, named):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = False
    status, code, text = error_of(api.post("/v1/webhooks", {"target": target}, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and named in text, text
    assert not Webhook.objects.exists()
    public = api.post("/v1/webhooks", {"target": "http://[64:ff9b::808:808]/hook"}, headers=app_jwt)
    assert public.status_code == 201, public.content
