"""Scale-out: API send throughput and API-to-socket latency with one and
with two daphne processes, each time with two workers, on PostgreSQL and
Redis (DATABASE_URL and REDIS_URL must be set).

    .venv/bin/python bench/scale.py [--quick]

Each configuration gets a fresh database and its own processes (serve
--worker no, worker x 2). The load is `wrk` (bench/wrkload.py), one wrk
per web process with an equal share of CONCURRENCY connections, as a
proxy's even spread would give them; throughput is their sum. While wrk
runs, the bench posts a sample message every 200 ms to users holding an
SDK socket on the *other* process (on the only one, with one), and times
API call to socket frame.

`ratio` = throughput with 2 processes / with 1 (target >= 1.3 on this
2-core machine: about 15 ms of CPU per send across all processes caps it
near 1.5 before wrk's own CPU); `p99_ratio` = the socket latency's p99 with
2 / with 1 (target <= 2). The last line is one JSON object.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import jwt
import requests

import wrkload
from api_send import Stack, wait_up
from benchlib import free_port, pct

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 16


def users_with_sockets(url, creds, count, prefix):
    """App users created through /v1/init (one web client each)."""
    session = requests.Session()
    users = []
    for i in range(count):
        user_id = f"{prefix}-{i}"
        token = jwt.encode({"scope": "appUser", "userId": user_id}, creds["secret"], algorithm="HS256",
                           headers={"kid": creds["keyId"]})
        response = session.post(url + "/v1/init", json={"device": {"id": f"{user_id}-d", "platform": "web"},
                                                         "userId": user_id},
                                headers={"app-token": creds["appToken"], "authorization": f"Bearer {token}"},
                                timeout=10)
        response.raise_for_status()
        users.append((response.json()["appUser"]["_id"], user_id, token))
    return users


async def sample_latency(post_url, socket_url, creds, app_token_jwt, samplers, seconds):
    """Every 200 ms, a message to a sampled user; the time to its socket."""
    import websockets

    sockets = []
    for app_user_id, _, token in samplers:
        ws = await websockets.connect(socket_url, open_timeout=10)
        await ws.send(json.dumps({"type": "auth", "appToken": creds["appToken"], "appUserId": app_user_id,
                                  "clientId": f"sampler-{app_user_id}", "jwt": token}))
        while json.loads(await ws.recv())["type"] != "ready":
            pass
        sockets.append(ws)
    latencies, session = [], requests.Session()
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        index = n % len(sockets)
        text = f"sample {n}"
        started = time.perf_counter()
        await loop.run_in_executor(None, lambda: session.post(
            f"{post_url}/v1/appusers/{samplers[index][0]}/messages",
            json={"role": "appMaker", "type": "text", "text": text},
            headers={"Authorization": f"Bearer {app_token_jwt}"}, timeout=30).raise_for_status())
        while True:
            frame = json.loads(await asyncio.wait_for(sockets[index].recv(), 30))
            if frame.get("type") == "message" and frame["message"].get("text") == text:
                latencies.append(time.perf_counter() - started)
                break
        await asyncio.sleep(0.2)
    for ws in sockets:
        await ws.close()
    return latencies


def one_configuration(web_processes, seconds):
    stack = Stack()
    try:
        stack.setup_database()
        stack.manage("migrate", "--noinput")
        creds = json.loads(stack.manage("createapp", "Bench", "--owner", "bench@example.com", "--json").strip()
                           .splitlines()[-1])
        urls = []
        for _ in range(web_processes):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server = stack.start([sys.executable, "manage.py", "serve", "--port", str(port), "--worker", "no"],
                                 f"daphne-{port}")
            wait_up(url, server)
            urls.append(url)
        for n in range(2):
            stack.start([sys.executable, "manage.py", "worker", "--interval", "0.1"], f"worker-{n}")
        load_users = [u[0] for u in users_with_sockets(urls[0], creds, 50, "load")]
        samplers = users_with_sockets(urls[0], creds, 5, "sampler")
        token = jwt.encode({"scope": "app"}, creds["secret"], algorithm="HS256", headers={"kid": creds["keyId"]})
        script = wrkload.send_script(load_users, token)
        for url in urls:  # warm-up, unmeasured
            wrkload.run(url, script, CONCURRENCY // len(urls), 3)
        loads = [wrkload.start(url, script, CONCURRENCY // len(urls), seconds) for url in urls]
        socket_url = urls[-1].replace("http://", "ws://") + "/sdk/ws/"
        latencies = asyncio.run(sample_latency(urls[0], socket_url, creds, token, samplers, seconds - 2))
        results = [wrkload.result(load) for load in loads]
    finally:
        stack.stop()
    return {
        "web_processes": web_processes,
        "send_rps": round(sum(r["rps"] for r in results), 1),
        "api_p99_ms": max(r["p99_ms"] for r in results),
        "socket_p50_ms": round(pct(latencies, 50) * 1000, 2),
        "socket_p99_ms": round(pct(latencies, 99) * 1000, 2),
        "samples": len(latencies),
        "errors": [r["errors"] for r in results if r["errors"]],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per configuration")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("bench/scale.py runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    wrkload.require_wrk()
    seconds = 10 if args.quick else 30
    one = one_configuration(1, seconds)
    two = one_configuration(2, seconds)
    ratio = round(two["send_rps"] / one["send_rps"], 3) if one["send_rps"] else 0.0
    p99_ratio = round(two["socket_p99_ms"] / one["socket_p99_ms"], 2) if one["socket_p99_ms"] else None
    for run in (one, two):
        print(f"{run['web_processes']} web process(es) + 2 workers: {run['send_rps']} sends/s "
              f"(API p99 {run['api_p99_ms']} ms); API->socket p50 {run['socket_p50_ms']} ms, "
              f"p99 {run['socket_p99_ms']} ms over {run['samples']} samples; errors {run['errors']}", flush=True)
    print(f"ratio {ratio} (target >= 1.3), p99_ratio {p99_ratio} (target <= 2)")
    ok = bool(ratio >= 1.3 and p99_ratio is not None and p99_ratio <= 2 and not one["errors"] and not two["errors"])
    print(json.dumps({"bench": "scale", "ratio": ratio, "target": ">= 1.3", "ok": ok, "p99_ratio": p99_ratio,
                      "p99_target": "<= 2", "quick": args.quick, "load": "wrk", "concurrency": CONCURRENCY,
                      "loadavg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                      "one": one, "two": two}))


if __name__ == "__main__":
    main()
