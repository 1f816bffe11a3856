"""The official npm client `smooch-core@8.11.4` calls every method of its
`templates` API against a live Parley; a method added upstream without a
case here fails the test."""

import json
import subprocess

import pytest

from messaging.models import MessageTemplate
from tests.api.test_smooch_core import JS, install_smooch_core, node
from tests.support.live import LiveServer

COVERED = ["create", "delete", "get", "list", "update"]


@pytest.mark.django_db(transaction=True)
def test_smooch_core_8_manages_message_templates(team, make_app):
    install_smooch_core()
    app = make_app(team, "Tacos")
    server = LiveServer(worker=False)
    try:
        result = subprocess.run(
            [node(), str(JS / "smooch_core_8_templates.js")], cwd=JS, capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "SERVICE_URL": server.url, "KEY_ID": app.test_key.key_id,
                 "SECRET": app.test_secret})
        assert result.returncode == 0, f"{result.stderr}\n--- server log ---\n{server.output()[-3000:]}"
    finally:
        server.stop()
    out = json.loads(result.stdout)
    assert out["methods"] == COVERED
    created, second = out["created"]["template"], out["second"]["template"]
    assert (created["name"], created["message"]) == ("Opening hours", {"type": "text", "text": "We open at 9."})
    # Listed by name: "Closing time" before "Opening hours".
    assert [t["_id"] for t in out["listed"]["templates"]] == [second["_id"], created["_id"]]
    assert ([t["_id"] for t in out["firstPage"]["templates"]], out["firstPage"]["hasMore"]) == ([second["_id"]], True)
    assert ([t["_id"] for t in out["secondPage"]["templates"]], out["secondPage"]["hasMore"]) == (
        [created["_id"]], False)
    assert out["got"] == {"template": created}
    assert out["updated"]["template"]["name"] == "Hours"
    assert (out["duplicate"]["status"], out["duplicate"]["code"]) == (409, "conflict")
    assert out["deleted"] == {}
    assert (out["missing"]["status"], out["missing"]["code"]) == (404, "not_found")
    assert list(MessageTemplate.objects.filter(app=app).values_list("name", flat=True)) == ["Closing time"]
