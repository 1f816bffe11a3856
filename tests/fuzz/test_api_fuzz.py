"""Fuzzing the REST API with schemathesis (issue 19): every operation of
/v1/openapi.json, with positive and negative data and stateful sequences
along the document's links, against a live server on the test database.

The target, checked by schemathesis's checks (`--checks all`):
- no 5xx (the deliberate 501 refusals excepted: tests/fuzz/schemathesis.toml);
- every response as its schema says, with its status documented;
- the document exactly as strict as the validators: schema-valid requests
  are accepted (or refused for a reason of state, listed in
  schemathesis.toml), schema-violating ones refused;
- an `Allow` header on every 405, a JSON error body on every error.

The bounded run here has a fixed seed and a fixed number of cases per
operation (EXAMPLES, so the same cases are drawn however fast the machine
is); README "Fuzzing" gives the longer command.

Nothing leaves loopback: the server runs under the tests' outbound
allow-list (127.0.0.0/8, tests/settings.py) with every platform base URL
on a fake platform's loopback port, so the webhook targets and platform
URLs the fuzzer invents are refused before a connection is opened
(`test_the_fuzz_servers_refuse_non_loopback_targets` proves it on the same
server).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
import requests

from messaging.models import AppUser, Client, KeyScope
from messaging.services.accounts import sign_up
from messaging.services.apps import create_app, create_key
from tests.api.test_every_client_method import FAKES
from tests.support.live import LiveServer, wait_until

HERE = Path(__file__).resolve().parent
SEED = 20261202
# Test cases per operation and phase; a run taking past CAP_SECONDS fails.
EXAMPLES = int(os.environ.get("PARLEY_FUZZ_EXAMPLES", "20"))
CAP_SECONDS = 150
# Where the figures of the last run are written (README "Reliability").
REPORT = HERE.parents[1] / "var" / "fuzz"


@pytest.fixture(scope="module")
def fuzz_server(request, django_db_setup):
    fakes = {name: request.getfixturevalue(fixture) for name, (fixture, _) in FAKES.items()}
    env = {setting: fakes[name].url for name, (_, setting) in FAKES.items()}
    env["PARLEY_LINE_DATA_API_BASE"] = fakes["line"].data_url
    server = LiveServer(worker=True, **env)
    try:
        yield server
    finally:
        server.stop()


def _tenant():
    membership = sign_up(email="fuzz@fuzz.example", password="not-used-here", team_name="Fuzz")
    app = create_app(team=membership.team, name="Fuzz", membership=membership, require_user_jwt=False)
    key, secret = create_key(team=membership.team, scope=KeyScope.APP, app=app, name="fuzz app key")
    account, account_secret = create_key(team=membership.team, scope=KeyScope.ACCOUNT, name="fuzz account key")
    user = AppUser.objects.create(app=app, user_id="fuzzed")
    Client.objects.create(app_user=user, platform="web", external_id="fuzz-web")
    return {
        "app": jwt.encode({"scope": "app"}, secret, algorithm="HS256", headers={"kid": key.key_id}),
        "account": jwt.encode({"scope": "account"}, account_secret, algorithm="HS256",
                              headers={"kid": account.key_id}),
        "app_id": app.id,
    }


def _fuzz(server, token: str, name: str, *filters: str) -> dict:
    report_dir = REPORT / name
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(HERE / "schemathesis.toml"),
        "run", f"{server.url}/v1/openapi.json", "--seed", str(SEED),
        # A number of examples, not a time (with --max-time schemathesis
        # repeats its phases until the time is spent): the same seed then
        # draws the same cases however fast the machine is.
        "--max-examples", str(EXAMPLES), "--workers", "1",
        "--request-timeout", "10",
        "-H", f"Authorization: Bearer {token}", "--report", "json", "--report-dir", str(report_dir),
        "--report-json-path", str(report_dir / "report.json"), "--no-color", *filters,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CAP_SECONDS * max(1, EXAMPLES // 20))
    report = json.loads((report_dir / "report.json").read_text())
    log = server.output()
    crashes = log[log.find("Traceback"):][:6000] if "Traceback" in log else log[-2000:]
    assert done.returncode == 0, f"schemathesis found failures:\n{done.stdout[-12000:]}\n{done.stderr[-2000:]}" \
                                 f"\n--- server log ---\n{crashes}"
    return report


@pytest.mark.django_db(transaction=True)
def test_the_api_survives_the_fuzzer(fuzz_server):
    tokens = _tenant()
    app_run = _fuzz(fuzz_server, tokens["app"], "app", "--exclude-path-regex", "^/v1/apps")
    # Account scope: the team's apps and keys, and an app's routes under
    # /v1/apps/{appId}/ (the fuzzer's appIds are made up: 404s, and the
    # stateful phase links them from POST /apps).
    account_run = _fuzz(fuzz_server, tokens["account"], "account", "--include-path-regex", "^/v1/apps")
    generated = app_run["test_cases"]["generated"] + account_run["test_cases"]["generated"]
    assert app_run["operations"]["tested"] > 50 and account_run["operations"]["tested"] > 10
    (REPORT / "summary.json").write_text(json.dumps({"inputs": generated, "seed": SEED}))


@pytest.mark.django_db(transaction=True)
def test_the_fuzz_servers_refuse_non_loopback_targets(fuzz_server):
    """The fuzz run's server (the same settings) calls no address beyond
    loopback: webhooks to a private, a public and a named host are each
    refused before a connection is opened, and the event says why."""
    headers = {"Authorization": f"Bearer {_tenant()['app']}"}
    refused = {}
    for target in ("http://10.20.30.40/hook", "http://93.184.215.14/hook", "https://example.org/hook"):
        made = requests.post(f"{fuzz_server.url}/v1/webhooks", json={"target": target, "triggers": ["*"]},
                             headers=headers, timeout=10)
        assert made.status_code == 201, made.text
        webhook = made.json()["webhook"]["_id"]
        assert requests.post(f"{fuzz_server.url}/v1/webhooks/{webhook}/test", headers=headers,
                             timeout=10).status_code == 202

        def attempted(webhook=webhook):
            events = requests.get(f"{fuzz_server.url}/v1/webhooks/{webhook}/events", headers=headers,
                                  timeout=10).json()["events"]
            return events and events[0].get("attempts") and events[0]

        refused[target] = json.dumps(wait_until(attempted, timeout=20, message=f"an attempt at {target}"))
    for target, event in refused.items():
        assert "PARLEY_OUTBOUND_ALLOW" in event, (target, event)


@pytest.mark.django_db(transaction=True)
def test_an_empty_upload_gets_a_json_error(fuzz_server):
    """An empty multipart body (the closing boundary alone) reaches Django
    and gets the API's JSON error, not the web server's bare 400."""
    headers = {"Authorization": f"Bearer {_tenant()['app']}",
               "Content-Type": "multipart/form-data; boundary=b0undary"}
    user = AppUser.objects.get(user_id="fuzzed")
    for path in ("/v1/attachments?access=public", f"/v1/appusers/{user.id}/images"):
        answer = requests.post(fuzz_server.url + path, data=b"--b0undary--\r\n", headers=headers, timeout=10)
        assert answer.status_code == 400, (path, answer.status_code, answer.text)
        assert answer.json()["error"]["code"] == "bad_request", (path, answer.text)
