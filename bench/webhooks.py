"""Webhook delivery: throughput of one worker, and how much a dead target
slows another app's webhooks.

    .venv/bin/python bench/webhooks.py [--quick]

Starts its own processes on a fresh database (bench/fanout.py's Stack:
SQLite in a temp PARLEY_VAR_DIR on the embedded defaults, or a fresh
PostgreSQL database on the server of DATABASE_URL; Redis when REDIS_URL is
set): one `manage.py worker`, and a receiver process on 127.0.0.1 (a
threaded HTTP/1.1 keep-alive server answering 200 at once and noting when
each `webhook-id` arrived). The dead target is a socket in this process that
accepts TCP connections and never answers.

Throughput: EVENTS webhook events of one app (a typical message:appUser
body) are stored in one transaction and the worker is woken; rate = events
/ (last arrival - commit). The floor, in the same run: a plain `requests`
Session POSTing the same bodies to the same receiver one after another,
measured before and after the worker's turn (their mean). ratio = worker /
floor, target >= 0.5.

dead_target_slowdown: another app's events, created one at a time at RATE
per second through the outbox (messaging.webhooks.outbox.queue, as the
fan-out does), timed from the row's `created_at` to its arrival at the
receiver. Each run measures their p50 without a dead target, then with one:
a third app's webhook pointing at the dead socket with DEAD events queued,
the worker already holding its requests in flight. slowdown = (p50 with -
p50 without) / p50 without; the figure is the median of RUNS runs, target
< 0.25. Between runs the dead webhook is disabled, its socket resets
what it held, and each "without" starts once no task is waiting (a
quiet worker, as with no dead target at all).

The last line is one JSON object (DESIGN.md, "Benchmarks").
"""

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import requests

from benchlib import cpu_seconds, pct, wait_for_log
from fanout import Stack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.dead_target import DeadTarget  # noqa: E402

TARGET_RATIO = 0.5
TARGET_SLOWDOWN = 0.25
WARMUP = 20
CHUNK = 1000


# ------------------------------------------------------------- the receiver


def serve_receiver(port_out) -> None:
    """The receiver process: answers every POST 200 at once and keeps
    (webhook-id, path, arrival time); GET /arrivals?from=N returns them
    from the N-th on."""
    arrivals = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.time()
            with lock:
                arrivals.append((self.headers.get("webhook-id", ""), self.path, at))
            self._send(b"ok")

        def do_GET(self):
            start = int(self.path.partition("from=")[2] or 0)
            with lock:
                page = arrivals[start:]
            self._send(json.dumps(page).encode())

        def _send(self, data: bytes):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.send(server.server_address[1])
    server.serve_forever()


class Receiver:
    """The receiver process, and the arrivals read from it so far."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        self.proc = context.Process(target=serve_receiver, args=(there,), daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{here.recv()}"
        self.session = requests.Session()
        self.arrivals: list[tuple[str, str, float]] = []

    def poll(self) -> list:
        page = self.session.get(f"{self.url}/arrivals?from={len(self.arrivals)}", timeout=10).json()
        self.arrivals += [tuple(a) for a in page]
        return self.arrivals

    def first_arrivals(self, path: str) -> dict[str, float]:
        first = {}
        for webhook_id, at_path, at in self.poll():
            if at_path == path:
                first.setdefault(webhook_id, at)
        return first

    def wait_for(self, path: str, ids: set, timeout: float) -> dict[str, float]:
        """{webhook-id: first arrival} of `ids` at `path`, once all came or
        the deadline passed."""
        deadline = time.monotonic() + timeout
        while True:
            first = self.first_arrivals(path)
            if ids <= set(first) or time.monotonic() > deadline:
                return {k: v for k, v in first.items() if k in ids}
            time.sleep(0.1)

    def close(self):
        self.proc.terminate()
        self.proc.join(5)


# ------------------------------------------------------------------ events


def sample_message(n: int) -> dict:
    """A message as a message:appUser webhook carries it (reference shape)."""
    return {"_id": f"5f1c{n:020x}", "type": "text", "text": f"Hello, I would like to know about order {n}",
            "role": "appUser", "authorId": "c7f6e6d6c3a637261bd9656f", "name": "Steve Smith",
            "received": 1444348338.704, "source": {"type": "web", "id": "faf0a4a9f2e84b6c8a3b6a3e"}}


def sample_payload(app_id: str, n: int) -> dict:
    return {
        "trigger": "message:appUser", "app": {"_id": app_id}, "version": "v1.1",
        "appUser": {"_id": "c7f6e6d6c3a637261bd9656f", "userId": f"bench-user-{n % 100}",
                    "conversationStarted": True, "signedUpAt": "2015-10-08T23:52:11.677Z",
                    "properties": {}, "clients": [{"id": "faf0a4a9f2e84b6c8a3b6a3e", "platform": "web",
                                                   "active": True, "primary": True,
                                                   "lastSeen": "2019-01-14T16:54:55.000Z"}]},
        "messages": [sample_message(n)],
    }


def make_app(name: str, target: str) -> tuple:
    from django.core.management import call_command

    from messaging.models import App, Webhook

    out = StringIO()
    call_command("createapp", name, "--owner", "bench@example.com", "--json", stdout=out)
    app = App.objects.get(id=json.loads(out.getvalue())["appId"])
    return app, Webhook.objects.create(app=app, target=target, triggers=["*"])


def store_events(webhook, count: int, start: int = 0) -> set[str]:
    """`count` pending events for `webhook` in one transaction (the worker
    is woken once it committed); returns their webhook-ids."""
    from django.db import transaction

    from messaging import background
    from messaging.models import WebhookEvent

    with transaction.atomic():
        rows = []
        for n in range(start, start + count):
            rows.append(WebhookEvent(app_id=webhook.app_id, webhook=webhook, trigger="message:appUser",
                                     payload=sample_payload(webhook.app_id, n)))
        stored = WebhookEvent.objects.bulk_create(rows, batch_size=CHUNK)
        background.enqueue_on_commit("send_webhooks")
    return {e.message_id for e in stored}


def queue_one(app, n: int):
    """One event the way the fan-out stores it (outbox.queue in its own
    transaction); returns (webhook-id, created_at as epoch seconds)."""
    from django.db import transaction

    from messaging.webhooks import outbox

    with transaction.atomic():
        [event] = outbox.queue([(app, "message:appUser", {"detail": {"message": sample_message(n)}}, None, None)])
    return event.message_id, event.created_at.timestamp()


# ------------------------------------------------------------- throughput


def floor_rate(receiver: Receiver, app_id: str, count: int) -> float:
    """Events/s of a plain sequential requests loop to the receiver."""
    bodies = [json.dumps(sample_payload(app_id, n), separators=(",", ":")).encode() for n in range(count)]
    session = requests.Session()
    session.post(receiver.url + "/floor", data=b"{}", headers={"webhook-id": "warm"}).raise_for_status()
    started = time.perf_counter()
    for n, body in enumerate(bodies):
        session.post(receiver.url + "/floor", data=body, timeout=5,
                     headers={"Content-Type": "application/json", "webhook-id": f"floor_{n}"}).raise_for_status()
    return count / (time.perf_counter() - started)


def worker_rate(receiver: Receiver, webhook, count: int, start: int, timeout: float) -> dict:
    path = "/" + webhook.target.rsplit("/", 1)[1]
    ids = store_events(webhook, count, start)
    committed = time.time()
    arrived = receiver.wait_for(path, ids, timeout)
    if not arrived:
        return {"delivered": 0, "rate": 0.0}
    return {"delivered": len(arrived), "rate": len(arrived) / (max(arrived.values()) - committed),
            "first_arrival_s": min(arrived.values()) - committed}


# ------------------------------------------------------- the dead target


def other_app_delivery_times(receiver: Receiver, app, path: str, count: int, rate: float, start: int) -> list:
    """Seconds from each event's created_at to its arrival."""
    created = {}
    first = time.monotonic()
    for i in range(count):
        delay = first + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        webhook_id, at = queue_one(app, start + i)
        created[webhook_id] = at
    arrived = receiver.wait_for(path, set(created), timeout=60)
    return [arrived[k] - created[k] for k in created if k in arrived]


def wait_quiet(timeout: float = 30) -> None:
    """Until no task waits (due now or later): a dead target leaves tasks
    behind (its events' retries; the other app's wake-ups queued behind a
    busy run), and a worker working through them picks up new events
    sooner than an idle one, which is what "without" measures."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    deadline = time.monotonic() + timeout
    while DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def dead_run(receiver: Receiver, dead: DeadTarget, other_app, dead_app, count: int, rate: float,
             dead_events: int, start: int) -> dict:
    from django.conf import settings

    from messaging.models import Webhook

    wait_quiet()
    without = other_app_delivery_times(receiver, other_app, "/other", count, rate, start)
    dead.hold = True
    webhook = Webhook.objects.create(app=dead_app, target=dead.url, triggers=["*"])
    store_events(webhook, dead_events)
    deadline = time.monotonic() + 30
    while dead.holding() < settings.PARLEY_WEBHOOK_IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.05)
    held = dead.holding()
    with_dead = other_app_delivery_times(receiver, other_app, "/other", count, rate, start + count)
    # Clean up for the next run: nothing more goes to this webhook, and
    # what the worker still holds or has claimed for it fails at once.
    Webhook.objects.filter(pk=webhook.pk).update(enabled=False)
    dead.release()
    while time.monotonic() - dead.last_connection < 1.0:
        time.sleep(0.1)
    p50_without, p50_with = pct(without, 50), pct(with_dead, 50)
    return {"held": held, "without": len(without), "with": len(with_dead),
            "p50_without_ms": round(p50_without * 1000, 1), "p50_with_ms": round(p50_with * 1000, 1),
            "p99_without_ms": round(pct(without, 99) * 1000, 1), "p99_with_ms": round(pct(with_dead, 99) * 1000, 1),
            "slowdown": round((p50_with - p50_without) / p50_without, 3)}


# ------------------------------------------------------------------- run


def run(events: int, runs: int, count: int, rate: float, dead_events: int) -> dict:
    receiver = Receiver()
    dead = DeadTarget(hold=False)
    stack = Stack(None)
    stack.env["PARLEY_WEBHOOK_ALLOW_PRIVATE"] = "true"
    try:
        stack.manage("migrate", "--noinput")
        os.environ.update(stack.env)
        import django

        django.setup()
        from django.conf import settings

        bench_app, bench_hook = make_app("Bench", receiver.url + "/bench")
        other_app, _ = make_app("Other", receiver.url + "/other")
        dead_app = make_app("Dead", dead.url)[0]
        dead_app.webhooks.all().delete()  # each dead run makes its own webhook

        log = Path(stack.var) / "worker.log"
        stack.procs.append(subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--interval", "0.1"], cwd=ROOT, env=stack.env,
            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True))
        wait_for_log(log, "running")
        worker_pid = stack.procs[-1].pid
        warm = worker_rate(receiver, bench_hook, WARMUP, 0, timeout=30)
        if warm["delivered"] < WARMUP:
            raise SystemExit("the worker did not deliver the warm-up events:\n" + log.read_text())

        floor_before = floor_rate(receiver, bench_app.id, events)
        cpu_before = cpu_seconds(worker_pid)
        worker = worker_rate(receiver, bench_hook, events, WARMUP, timeout=max(60, events / 20))
        cpu_after = cpu_seconds(worker_pid)
        floor_after = floor_rate(receiver, bench_app.id, events)

        results = [dead_run(receiver, dead, other_app, dead_app, count, rate, dead_events, 2 * count * i)
                   for i in range(runs)]
        from messaging.models import WebhookEvent

        left = WebhookEvent.objects.filter(webhook__enabled=True, state="pending").count()
        concurrency, in_flight = settings.PARLEY_WEBHOOK_CONCURRENCY, settings.PARLEY_WEBHOOK_IN_FLIGHT
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()  # before the stack drops its database
        stack.stop()
        receiver.close()
        dead.close()
    floor = (floor_before + floor_after) / 2
    cpu = (cpu_after - cpu_before) if None not in (cpu_before, cpu_after) else None
    return {
        "database": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite",
        "events": events,
        "delivered": worker["delivered"],
        "worker_events_per_s": round(worker["rate"], 1),
        "floor_events_per_s": round(floor, 1),
        "floor_before_per_s": round(floor_before, 1),
        "floor_after_per_s": round(floor_after, 1),
        "worker_cpu_ms_per_event": round(1000 * cpu / max(1, worker["delivered"]), 2) if cpu is not None else None,
        "ratio": round(worker["rate"] / floor, 3),
        "dead_target_slowdown": statistics.median(r["slowdown"] for r in results),
        "dead_runs": results,
        "dead_events": dead_events,
        "other_events_per_run": count,
        "other_rate_per_s": rate,
        "pending_left": left,
        "concurrency": concurrency,
        "in_flight_per_webhook": in_flight,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under 2 minutes)")
    parser.add_argument("--events", type=int, default=None, help="throughput events (10,000; quick 2,000)")
    parser.add_argument("--runs", type=int, default=5, help="dead-target runs (median taken; default 5)")
    args = parser.parse_args()
    events = args.events or (2000 if args.quick else 10000)
    count, rate = (30, 15.0) if args.quick else (100, 20.0)
    result = run(events, args.runs, count, rate, dead_events=100)
    slowdowns = [r["slowdown"] for r in result["dead_runs"]]
    print(
        f"[{result['database']}] one worker {result['worker_events_per_s']} events/s "
        f"({result['delivered']}/{result['events']} delivered) vs requests loop {result['floor_events_per_s']}/s: "
        f"ratio {result['ratio']} (target >= {TARGET_RATIO}); dead target slowdown median "
        f"{result['dead_target_slowdown']} of {slowdowns} (target < {TARGET_SLOWDOWN})",
        flush=True,
    )
    ok = bool(result["delivered"] == result["events"] and result["ratio"] >= TARGET_RATIO
              and result["dead_target_slowdown"] < TARGET_SLOWDOWN
              and all(r["with"] == r["without"] == count for r in result["dead_runs"]))
    summary = {"bench": "webhooks", "ratio": result.pop("ratio"), "target": f">= {TARGET_RATIO}", "ok": ok,
               "dead_target_slowdown": result.pop("dead_target_slowdown"),
               "dead_target_slowdown_target": f"< {TARGET_SLOWDOWN}",
               "loadavg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(), **result}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
