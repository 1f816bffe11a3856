"""REST API send throughput: POST /v1/appusers/{id}/messages (appMaker,
app-scope JWT) against a trivial JSON view (GET /v1/ping) on the same
server, in the same run.

    .venv/bin/python bench/api_send.py [--quick]

Starts its own `manage.py serve` (daphne) on a fresh database: SQLite in a
temp PARLEY_VAR_DIR on the embedded defaults (worker inside daphne), or a
fresh PostgreSQL database on the server of DATABASE_URL (plus a
`manage.py worker` when REDIS_URL is set). Creates an app and key with
`createapp`, and users with two web clients each through POST /v1/init.
The load comes from `wrk` (Debian's package, a Lua script for the POST
body and the JWT; bench/wrkload.py) with CONCURRENCY connections, for a
fixed time per phase, the floor first; only 2xx answers count. The Python
load generator of earlier runs (an asyncio HTTP/1.1 keep-alive client, in
another process) runs after it, and its ratio stays beside wrk's in the
summary (`python_ratio`): it costs the machine's second core much more CPU
than wrk does. Target: send rps >= 0.4 x floor rps (wrk's), set after a
hand-written send with no ORM and no engine logic measured 0.49 on this
stack. The last line is one JSON object.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import wrkload
from benchlib import BENCH_RATES, free_port, pct, stop_group

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.4


# ------------------------------------------------------------------ load


async def _worker(host, port, make_request, ok_status, deadline, latencies, errors):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            request = make_request()
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await reader.readexactly(length)
            elapsed = time.perf_counter() - start
            if status == ok_status:
                latencies.append(elapsed)
            else:
                errors[status] = errors.get(status, 0) + 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _run_phase(host, port, make_request, ok_status, seconds, concurrency):
    latencies, errors = [], {}
    start = time.monotonic()
    deadline = start + seconds
    await asyncio.gather(*[
        _worker(host, port, make_request, ok_status, deadline, latencies, errors) for _ in range(concurrency)
    ])
    wall = time.monotonic() - start
    return latencies, errors, wall


def load_main(spec_path):
    """The load generator (run as a separate process): reads its spec, runs
    the phases, prints one JSON object."""
    spec = json.loads(Path(spec_path).read_text())
    host, port = spec["host"], spec["port"]
    auth = f"Bearer {spec['jwt']}"
    users = spec["users"]
    counter = [0]

    def ping():
        return (f"GET /v1/ping HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n").encode()

    def send():
        counter[0] += 1
        body = json.dumps({"role": "appMaker", "type": "text", "text": f"bench message {counter[0]}",
                           "name": "Bench", "email": "bench@example.com"}).encode()
        user = random.choice(users)
        return (f"POST /v1/appusers/{user}/messages HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: {auth}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    results = {"floor": {"lat": [], "errors": {}, "wall": 0.0, "count": 0},
               "send": {"lat": [], "errors": {}, "wall": 0.0, "count": 0}}
    # The floor runs first, on an idle server: once sends have run, the
    # delivery worker is busy with their backlog and would slow the floor
    # down (flattering the ratio). Each path is warmed up, unmeasured.
    for name, make, ok in (("floor", ping, 200), ("send", send, 201)):
        asyncio.run(_run_phase(host, port, make, ok, spec["warmup"], spec["concurrency"]))
        for _round in range(spec["rounds"]):
            lat, errors, wall = asyncio.run(_run_phase(host, port, make, ok, spec["seconds"], spec["concurrency"]))
            r = results[name]
            r["lat"].extend(lat)
            r["wall"] += wall
            r["count"] += len(lat)
            for status, n in errors.items():
                r["errors"][str(status)] = r["errors"].get(str(status), 0) + n
    summary = {}
    for name, r in results.items():
        summary[name] = {
            "rps": round(r["count"] / r["wall"], 1) if r["wall"] else 0.0,
            "count": r["count"],
            "p50_ms": round(pct(r["lat"], 50) * 1000, 2),
            "p99_ms": round(pct(r["lat"], 99) * 1000, 2),
            "errors": r["errors"],
        }
    print(json.dumps(summary))


# ----------------------------------------------------------------- setup


class Stack:
    """The processes and the database this run created (all removed at the end)."""

    def __init__(self):
        self.var_dir = Path(tempfile.mkdtemp(prefix="parley-bench-send-"))
        self.procs = []
        self.db_name = None
        self.admin_url = None
        self.env = dict(os.environ)
        self.env.update({
            "PARLEY_VAR_DIR": str(self.var_dir),
            "PYTHONUNBUFFERED": "1",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "LOG_LEVEL": "WARNING",
            # The test settings: outbound calls allow-listed to loopback, as in the suite.
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            **BENCH_RATES,
        })
        self.env.pop("DEBUG", None)
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def setup_database(self):
        url = os.environ.get("DATABASE_URL")
        if not url:
            return "sqlite"
        import psycopg

        parsed = urlparse(url)
        self.db_name = f"parley_bench_send_{os.getpid()}"
        self.admin_url = urlunparse(parsed._replace(path="/postgres"))
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.env["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{self.db_name}"))
        return "postgresql"

    def manage(self, *args, capture=True):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                                capture_output=capture, text=True, timeout=300)
        if result.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, args, log_name):
        log = open(self.var_dir / f"{log_name}.log", "w")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((proc, log))
        return proc

    def stop(self):
        for proc, log in reversed(self.procs):
            stop_group(proc)
            log.close()
        if self.db_name:
            import psycopg

            try:
                with psycopg.connect(self.admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001 - report, keep cleaning
                print(f"could not drop {self.db_name}: {error}", file=sys.stderr)
        shutil.rmtree(self.var_dir, ignore_errors=True)


def wait_up(url, proc, timeout=60):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if requests.get(url + "/v1/ping", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (< 2 minutes)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections of the load (default 16)")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        return load_main(args.load)

    import jwt
    import requests

    quick = args.quick
    seconds = 8 if quick else 30
    rounds = 2
    concurrency = args.concurrency
    user_count = 20 if quick else 100
    stack = Stack()
    try:
        database = stack.setup_database()
        redis = bool(os.environ.get("REDIS_URL"))
        stack.manage("migrate", "--noinput")
        creds = json.loads(stack.manage("createapp", "Bench", "--owner", "bench@example.com", "--json").strip()
                           .splitlines()[-1])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = stack.start([sys.executable, "manage.py", "serve", "--port", str(port)], "daphne")
        if redis:
            stack.start([sys.executable, "manage.py", "worker"], "worker")
        wait_up(url, server)

        # Users with two clients each (two devices logging in with one userId).
        session = requests.Session()
        users = []
        for i in range(user_count):
            # New apps require an appUser JWT to claim a userId (requireUserJwt).
            user_token = jwt.encode({"scope": "appUser", "userId": f"bench-user-{i}"}, creds["secret"],
                                    algorithm="HS256", headers={"kid": creds["keyId"]})
            for device in ("a", "b"):
                response = session.post(url + "/v1/init", json={
                    "device": {"id": f"bench-{i}-{device}", "platform": "web"}, "userId": f"bench-user-{i}"},
                    headers={"app-token": creds["appToken"], "authorization": f"Bearer {user_token}"},
                    timeout=10)
                response.raise_for_status()
            body = response.json()["appUser"]
            assert len(body["clients"]) >= 2, body
            users.append(body["_id"])
        token = jwt.encode({"scope": "app"}, creds["secret"], algorithm="HS256", headers={"kid": creds["keyId"]})
        warm = 2 if quick else 5
        wrk = {}
        for name, script in (("floor", wrkload.PING), ("send", wrkload.send_script(users, token))):
            wrkload.run(url, script, concurrency, warm)
            wrk[name] = wrkload.run(url, script, concurrency, seconds * rounds)
        spec = {"host": "127.0.0.1", "port": port, "jwt": token, "users": users, "seconds": seconds,
                "rounds": rounds, "warmup": 2 if quick else 5, "concurrency": concurrency}
        spec_path = stack.var_dir / "load.json"
        spec_path.write_text(json.dumps(spec))
        load = subprocess.run([sys.executable, __file__, "--load", str(spec_path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=seconds * rounds * 2 + 120)
        if load.returncode != 0:
            raise SystemExit(f"the load generator failed:\n{load.stderr}")
        summary = json.loads(load.stdout.strip().splitlines()[-1])
    finally:
        stack.stop()

    floor, send = summary["floor"], summary["send"]
    python_ratio = round(send["rps"] / floor["rps"], 3) if floor["rps"] else 0.0
    ratio = round(wrk["send"]["rps"] / wrk["floor"]["rps"], 3) if wrk["floor"]["rps"] else 0.0
    print(f"database: {database}, channel layer: {'redis' if redis else 'in-memory'}, "
          f"concurrency {concurrency}, {rounds} x {seconds}s per phase, {len(users)} users x 2 clients")
    for name, r in (("wrk floor GET /v1/ping", wrk["floor"]), ("wrk send POST /messages", wrk["send"])):
        print(f"{name:24} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
              f"(n={r['requests']}, errors={r['errors']})")
    for name, r in (("python floor", floor), ("python send", send)):
        print(f"{name:24} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
              f"(n={r['count']}, errors={r['errors']})")
    print(f"ratio send/floor: {ratio} with wrk (target >= {TARGET}), {python_ratio} with the Python generator")
    print(json.dumps({
        "bench": "api_send",
        "ratio": ratio,
        "target": f">= {TARGET}",
        "ok": ratio >= TARGET and not wrk["send"]["errors"],
        "quick": quick,
        "database": database,
        "channel_layer": "redis" if redis else "in-memory",
        "concurrency": concurrency,
        "load": "wrk",
        "send_rps": wrk["send"]["rps"],
        "send_p50_ms": wrk["send"]["p50_ms"],
        "send_p99_ms": wrk["send"]["p99_ms"],
        "send_errors": wrk["send"]["errors"],
        "floor_rps": wrk["floor"]["rps"],
        "floor_p50_ms": wrk["floor"]["p50_ms"],
        "floor_p99_ms": wrk["floor"]["p99_ms"],
        "python_ratio": python_ratio,
        "python_send_rps": send["rps"],
        "python_floor_rps": floor["rps"],
        "python_send_errors": send["errors"],
    }))


if __name__ == "__main__":
    sys.exit(main())
