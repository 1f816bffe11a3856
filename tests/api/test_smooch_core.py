"""The official npm client `smooch-core@3.5.0`, unchanged, against a live
Parley: the seed's sendMessage and typingActivity calls, then create, get,
getMessages, linkChannel and webhooks.create; Parley's stored state is
checked afterwards."""

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from messaging.models import AppUser, Client, Integration, LogEntry, Message, Webhook
from tests.api.conftest import add_client
from tests.support.live import LiveServer

JS = Path(__file__).resolve().parents[1] / "js"
VERSION = "3.5.0"


def declared_clients() -> dict[str, str]:
    """{npm alias: version} of tests/js/package.json ("smooch-core": "3.5.0",
    "smooch-core-8": "npm:smooch-core@8.11.4")."""
    dependencies = json.loads((JS / "package.json").read_text())["dependencies"]
    return {alias: spec.rpartition("@")[2] for alias, spec in dependencies.items()}


def _installed(alias: str) -> str | None:
    manifest = JS / "node_modules" / alias / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


def install_smooch_core() -> None:
    """Every official client tests/js/package.json declares, at its version
    (npm install once when one is missing)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is required for this test: install Node.js and npm (apt-get install nodejs npm)")
    wanted = declared_clients()
    # Several test runs may share this checkout: one installs at a time.
    with open(JS / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(_installed(alias) == version for alias, version in wanted.items()):
            return
        result = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=JS, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0:
            pytest.fail(f"npm install failed in {JS}:\n{result.stdout}\n{result.stderr}")
        assert {alias: _installed(alias) for alias in wanted} == wanted


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is required for this test: install Node.js")
    return path


@pytest.mark.django_db(transaction=True)
def test_it_works_with_the_official_smooch_core_client(team, make_app):
    install_smooch_core()
    assert declared_clients()["smooch-core"] == VERSION
    app = make_app(team, "Seed app")
    user = AppUser.objects.create(app=app, user_id="seed-user")
    add_client(user, "web", "web-device-1")
    add_client(user, "messenger", "psid-1")
    Integration.objects.create(app=app, type="twilio", credentials={"accountSid": "AC1"})

    # No worker: deliveries stay queued, so nothing calls a real platform.
    server = LiveServer(worker=False)
    try:
        env = {"PATH": "/usr/bin:/bin", "SERVICE_URL": server.url + "/v1", "KEY_ID": app.test_key.key_id,
               "SECRET": app.test_secret, "APP_USER_ID": user.id}
        result = subprocess.run([node(), str(JS / "smooch_core_seed.js")], cwd=JS, env=env,
                                capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert result.returncode == 0, f"{result.stderr}\n--- server log ---\n{server.output()[-3000:]}"
    out = json.loads(result.stdout)

    # The seed's two messages, as stored.
    sent = list(Message.objects.filter(app_user=user).order_by("received"))
    assert [(m.role, m.text, m.name, m.email) for m in sent] == [
        ("appMaker", "Hello, world!", "Business Man", "boss@business.com"),
        ("appMaker", "Hey Messenger user", "Business Man", "boss@business.com"),
    ]
    assert sent[0].avatar_url.startswith(settings.PARLEY_GRAVATAR_URL)
    assert sent[1].destination == {"integrationType": "messenger"}
    assert [d.client.platform for d in sent[1].deliveries.all()] == ["messenger"]
    typing = [e.detail["state"] for e in LogEntry.objects.filter(app_user=user, kind="typing:appMaker").order_by("id")]
    assert typing == ["start", "stop"]
    assert out["sendText"] == out["sendDestination"] == out["typingStart"] == out["typingStop"] == "ok"

    # create / get / getMessages / linkChannel / webhooks.create
    steve = AppUser.objects.get(app=app, user_id="steveb@channel5.com")
    assert out["created"]["appUser"]["_id"] == steve.id == out["got"]["appUser"]["_id"]
    assert steve.given_name == "Steve" and steve.properties == {"favoriteFood": "prizza"}
    assert [m["text"] for m in out["messages"]["messages"]] == ["Hello, world!", "Hey Messenger user"]
    pending = Client.objects.get(app_user=steve, platform="twilio")
    assert pending.pending and pending.external_id == "+15145555555"
    assert out["linked"]["appUser"]["pendingClients"][0]["platform"] == "twilio"
    webhook = Webhook.objects.get(app=app)
    assert out["webhook"]["webhook"] == {"_id": webhook.id, "triggers": ["message"], "secret": webhook.secret,
                                         "target": "http://example.com/callback",
                                         # Parley's additions (Standard Webhooks signing, 410 disabling).
                                         "signingSecret": webhook.signing_secret, "enabled": True}
    assert out["webhooks"]["webhooks"] == [out["webhook"]["webhook"]]
    assert out["missing"]["status"] == 404
    assert out["missing"]["body"]["error"]["code"] == "not_found"
