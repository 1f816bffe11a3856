"""The official npm client `smooch-core@8.11.4` (alias smooch-core-8),
unchanged, creates a Facebook Messenger integration against a live Parley
with the fake Messenger Platform: the page token is checked with the Graph
API, the Page is subscribed to the app, a wrong token is refused, and the
integration is listed, got and deleted (the Page unsubscribed)."""

import json
import subprocess

import pytest

from messaging.models import Integration
from tests.api.test_smooch_core import JS, install_smooch_core, node
from tests.support import fake_messenger
from tests.support.fake_messenger import FakeMessenger
from tests.support.live import LiveServer


@pytest.mark.django_db(transaction=True)
def test_smooch_core_8_creates_a_messenger_integration(team, make_app):
    install_smooch_core()
    app = make_app(team, "Tacos")
    messenger = FakeMessenger()
    server = LiveServer(worker=False, PARLEY_MESSENGER_API_BASE=messenger.url)
    try:
        result = subprocess.run(
            [node(), str(JS / "smooch_core_8_messenger.js")], cwd=JS, capture_output=True, text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "SERVICE_URL": server.url, "KEY_ID": app.test_key.key_id,
                 "SECRET": app.test_secret, "APP_ID": app.id, "PAGE_TOKEN": fake_messenger.TOKEN,
                 "WRONG_TOKEN": "EAAGnotTheRightToken", "META_APP_ID": fake_messenger.APP_ID,
                 "META_APP_SECRET": fake_messenger.APP_SECRET})
        assert result.returncode == 0, f"{result.stderr}\n--- server log ---\n{server.output()[-3000:]}"
        out = json.loads(result.stdout)
        subscribed = messenger.subscribed
        page_calls = [(r["method"], r["query"].get("subscribed_fields"), r["status"]) for r in messenger.requests
                      if r["path"] == f"/v23.0/{fake_messenger.PAGE_ID}/subscribed_apps"]
    finally:
        server.stop()
        messenger.close()

    assert fake_messenger.TOKEN not in result.stdout and fake_messenger.APP_SECRET not in result.stdout
    assert (out["badToken"]["status"], out["badToken"]["code"]) == (400, "platform_refused")
    assert "access token" in out["badToken"]["description"]
    created = out["created"]["integration"]
    assert (created["type"], created["status"], created["displayName"]) == ("messenger", "active",
                                                                              fake_messenger.PAGE_NAME)
    assert created["pageId"] == fake_messenger.PAGE_ID and created["appId"] == fake_messenger.APP_ID
    assert created["inboundUrl"] == f"{server.url}/integrations/messenger/{created['_id']}/webhook"
    assert "pageAccessToken" not in created and "appSecret" not in created
    assert out["listed"]["integrations"] == [created] and out["got"] == {"integration": created}
    assert out["deleted"] == {} and out["left"] == {"integrations": [], "hasMore": False}
    # Subscribed once on create (the wrong token never got that far), unsubscribed on delete.
    [(post, fields, ok), (delete, _, deleted)] = page_calls
    assert (post, ok, delete, deleted) == ("POST", 200, "DELETE", 200)
    assert {"messages", "messaging_postbacks", "message_deliveries", "message_reads"} <= set(fields[0].split(","))
    assert subscribed is None
    assert not Integration.objects.filter(app=app).exists()
