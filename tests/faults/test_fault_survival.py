"""Fault survival under a steady load. One deployment of Parley on servers
of this test's own (a PostgreSQL cluster and a redis-server on other ports,
so the suite's servers stay up): two web processes and a worker process,
the fake Telegram and a webhook receiver. For each fault, a steady load
(tests/faults/load.py) runs while the fault is injected and lifted:

- PostgreSQL restarted, Redis restarted: /readyz says unready meanwhile,
  API calls are refused with a Smooch error body (503 + Retry-After), and
  everything recovers by itself;
- the worker SIGKILLed, a web process SIGKILLed: restarted by the test, as
  systemd would; the other web process keeps serving;
- Telegram hanging (it stops answering for a while), the webhook target
  hanging (longer than Parley's webhook timeout).

Afterwards, within a bounded wait, every accepted appMaker message has
reached Telegram and every accepted appUser message has reached the
receiver as a message:appUser event, counted at the fakes. The design
promises at-least-once (a call cut by a fault after the platform took it
is retried: DESIGN.md, "retries are yours to schedule"), so duplicates are
reported, and lost must be 0. The per-fault figures are printed and kept
in the README's Reliability section."""

import json
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import jwt
import pytest
import requests

from tests.faults.load import Load, sent_texts, webhook_texts
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.live import ROOT, LiveServer, WorkerProcess, child_env, wait_until
from tests.support.private_servers import PrivatePostgres, PrivateRedis
from tests.support.webhook_receiver import WebhookReceiver

CALLS_PER_FAULT = 30  # how long each fault lasts: this many calls of the load (about 3 s)
HANG_CALLS = 120  # a platform hanging: about 12 s
RECOVERY_SECONDS = 45  # the bound on everything accepted reaching the outside
CHATS = (5001, 5002, 5003)


class Deployment:
    """The servers under test and the outside world they talk to."""

    def __init__(self):
        self.postgres = PrivatePostgres("parley_faults")
        self.redis = PrivateRedis()
        self.telegram = FakeTelegram(https_only=False)
        self.receiver = WebhookReceiver()
        self.env = {
            "DATABASE_URL": self.postgres.url, "REDIS_URL": self.redis.url,
            "PARLEY_TELEGRAM_API_BASE": self.telegram.url, "PARLEY_WORKER_INTERVAL": "0.1",
            # A killed worker's claims come back within seconds, not the
            # production minute; retries start sooner; a hung webhook
            # target times out before the fault ends.
            "PARLEY_CLAIM_SECONDS": "6", "PARLEY_SWEEP_SECONDS": "1", "PARLEY_RETRY_BASE_SECONDS": "0.5",
            "PARLEY_WEBHOOK_TIMEOUT_SECONDS": "2",
        }
        self.web = [LiveServer(worker=False, **self.env), LiveServer(worker=False, **self.env)]
        self.worker = WorkerProcess(**self.env)
        made = subprocess.run([sys.executable, "manage.py", "createapp", "Faults", "--owner", "ops@example.org",
                               "--json"], cwd=ROOT, env=child_env(**self.env), check=True, capture_output=True,
                              text=True, timeout=60)
        app = json.loads(made.stdout)
        token = jwt.encode({"scope": "app"}, app["secret"], algorithm="HS256", headers={"kid": app["keyId"]})
        self.auth = {"Authorization": f"Bearer {token}"}
        self.first_user = None  # set by the load fixture
        self.served_during_outage: list[str] = []  # texts accepted with Redis down, Telegram must get them
        self.cut_short: list[str] = []  # texts whose call a killed worker made: Telegram must get them again

    def api(self, method, path, body=None):
        response = requests.request(method, self.web[1].url + path, json=body, headers=self.auth, timeout=10)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def post_message(self, text):
        """An appMaker message to the load's first user, as the load posts it."""
        return requests.post(f"{self.web[1].url}/v1/appusers/{self.first_user}/messages", headers=self.auth,
                             json={"role": "appMaker", "type": "text", "text": text}, timeout=10)

    def up(self):
        return [server for server in self.web if server.proc.poll() is None]

    def ready(self, server) -> int:
        try:
            return requests.get(server.url + "/readyz", timeout=5).status_code
        except requests.RequestException:
            return 0

    def close(self):
        for process in [*self.web, self.worker]:
            process.stop()
        self.telegram.close()
        self.receiver.stop()
        self.redis.kill()
        self.postgres.drop()


@pytest.fixture(scope="module", autouse=True)
def summary():
    """The per-fault figures, printed as a table at the end (the README's
    Reliability section shows a run's) and kept in test-artifacts/."""
    yield SUMMARY
    if SUMMARY:
        keys = list(SUMMARY[0])
        lines = [" | ".join(keys)] + [" | ".join(str(row[k]) for k in keys) for row in SUMMARY]
        print("\nfault survival summary:\n" + "\n".join(lines))
        out = ROOT / "test-artifacts" / "fault-survival.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(SUMMARY, indent=1))


@pytest.fixture(scope="module")
def deployment():
    deployment = Deployment()
    try:
        yield deployment
    finally:
        deployment.close()


@pytest.fixture(scope="module")
def load(deployment):
    """The load's users: one appUser per Telegram chat, made by a first
    message from each, the webhook that reports appUser messages."""
    d = deployment
    d.api("POST", "/v1/webhooks", {"target": d.receiver.url, "triggers": ["message:appUser"]})
    d.api("POST", "/v1/integrations", {"type": "telegram", "token": TOKEN})
    hook = d.telegram.webhook
    path = urlsplit(hook["url"]).path
    for n, chat in enumerate(CHATS):
        update = {"update_id": n + 1, "message": {
            "message_id": n + 1, "date": int(time.time()), "text": f"hello from {chat}",
            "from": {"id": chat, "is_bot": False, "first_name": f"User {chat}"},
            "chat": {"id": chat, "type": "private", "first_name": f"User {chat}"}}}
        response = requests.post(d.web[0].url + path, json=update, timeout=10,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]})
        assert response.status_code == 200, response.text
    d.receiver.wait_for(len(CHATS), timeout=30)
    users = {}
    for payload in d.receiver.payloads():
        text = payload["messages"][0]["text"]
        users[int(text.rsplit(" ", 1)[1])] = payload["appUser"]["_id"]
    assert sorted(users) == sorted(CHATS)
    d.first_user = users[CHATS[0]]
    load = Load(d.up, d.auth, path, hook["secret_token"], users)
    yield load
    load.pool.shutdown(wait=True, cancel_futures=True)


# The faults: each injects, holds while the load makes CALLS_PER_FAULT
# calls (`hold()`), lifts, and checks on the way what it can (readiness).

def postgres_restarted(d, hold):
    d.postgres.ctl("stop")
    try:
        wait_until(lambda: d.ready(d.web[0]) == 503, timeout=10, message="/readyz unready, database down")
        refused = d.post_message("while PostgreSQL is down")
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0, refused.text
        assert refused.json()["error"]["code"] == "service_unavailable"
        hold()
    finally:
        d.postgres.ctl("start")
    wait_until(lambda: all(d.ready(s) == 200 for s in d.web), timeout=30, message="ready once PostgreSQL is back")


def redis_restarted(d, hold):
    d.redis.kill()
    try:
        wait_until(lambda: d.ready(d.web[0]) == 503, timeout=10, message="/readyz unready, Redis down")
        # What needs only the database goes on: a business's API call (its
        # rate limit uncounted meanwhile) is stored, and delivered below.
        served = d.post_message("while Redis is down")
        assert served.status_code == 201, served.text
        d.served_during_outage.append("while Redis is down")
        hold()
    finally:
        d.redis.start()
    wait_until(lambda: all(d.ready(s) == 200 for s in d.web), timeout=30, message="ready once Redis is back")


def worker_killed(d, hold):
    # Killed with a Telegram call in flight: the row it claimed comes back
    # when its lease ends and is sent again (Telegram took it once already:
    # at least once).
    call = d.telegram.platform.hold_next()
    assert call.arrived.wait(15), "the worker made no Telegram call"
    # The one worker waits on this call, so it is Telegram's last request.
    d.cut_short.append(d.telegram.platform.requests[-1]["params"]["text"])
    d.worker.kill(signal.SIGKILL)
    call.release.set()
    hold()
    d.worker.stop()
    d.worker = WorkerProcess(**d.env)  # restarted, as systemd would


def web_killed(d, hold):
    killed = d.web[0]
    killed.kill(signal.SIGKILL)
    hold()
    killed.stop()
    d.web[0] = LiveServer(worker=False, port=killed.port, **d.env)  # on its port again, as systemd would


def platform_hanging(d, hold):
    # Longer than Parley's timeout on a platform call (10 s,
    # integrations/base.py): the call in flight times out and is retried.
    d.telegram.platform.hang()
    hold(HANG_CALLS)
    d.telegram.platform.hang(False)


def webhook_target_hanging(d, hold):
    # Longer than PARLEY_WEBHOOK_TIMEOUT_SECONDS: the attempts in flight
    # time out and are retried.
    before = len(d.receiver.received())
    d.receiver.hang()
    hold()
    d.receiver.hang(False)
    unanswered = [r for r in d.receiver.received()[before:] if r.status is None]
    assert unanswered, "no webhook request met the hanging target"


FAULTS = [postgres_restarted, redis_restarted, worker_killed, web_killed, platform_hanging,
          webhook_target_hanging]
SUMMARY: list[dict] = []


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_nothing_accepted_is_lost(deployment, load, fault):
    d = deployment
    phase = load.start(fault.__name__)

    def hold(calls=CALLS_PER_FAULT):
        until = phase.started + calls
        wait_until(lambda: phase.started >= until, timeout=calls, message="the load's calls")

    try:
        fault(d, hold)
    finally:
        phase = load.stop()
    appmaker, appuser = phase.accepted("appMaker"), phase.accepted("appUser")
    assert appmaker and appuser, f"the load got nothing accepted: {[(c.kind, c.status) for c in phase.calls]}"

    def missing():
        sent, hooked = sent_texts(d.telegram), webhook_texts(d.receiver)
        return ([t for t in appmaker + d.served_during_outage if not sent[t]]
                + [t for t in d.cut_short if sent[t] < 2] + [t for t in appuser if not hooked[t]])

    try:
        wait_until(lambda: not missing(), timeout=RECOVERY_SECONDS, interval=0.2,
                   message="every accepted message at Telegram and the receiver")
    finally:
        sent, hooked = sent_texts(d.telegram), webhook_texts(d.receiver)
        row = {
            "fault": fault.__name__, "sent": len(phase.calls),
            "accepted": len(appmaker) + len(appuser),
            "delivered": sum(1 for t in appmaker if sent[t]), "webhookEvents": sum(1 for t in appuser if hooked[t]),
            "refused": sum(1 for c in phase.calls if c.status == 503), "lost": len(missing()),
            "duplicateSends": sum(sent[t] - 1 for t in appmaker if sent[t] > 1),
            "duplicateEvents": sum(hooked[t] - 1 for t in appuser if hooked[t] > 1),
        }
        SUMMARY.append(row)
        print("\nfault survival:", json.dumps(row))
    assert [c.bad for c in phase.calls if c.bad] == []
    assert row["lost"] == 0
    if fault is postgres_restarted:
        assert row["refused"], "the load met no 503 while the database was down"
