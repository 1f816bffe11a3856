"""Idle SDK websockets one daphne process holds: CONNECTIONS authenticated
SDK sessions (USERS app users with several devices each), the server's
memory per connection and its CPU while they idle, then a message to one
user that each of its sockets must receive.

    .venv/bin/python bench/sockets.py [--quick]

Starts its own `manage.py serve` on a fresh database (as bench/fanout.py's
Stack: SQLite on the embedded defaults, or PostgreSQL and Redis from
DATABASE_URL and REDIS_URL, with a worker). The load generator is one
asyncio process speaking just enough of RFC 6455 (handshake, masked text
frames, pong), so that it costs little memory per socket; it answers
daphne's pings, which are part of the idle CPU measured.

Target (absolute, DESIGN.md's contract): 15,000 connections, at most 40 KB
each, idle CPU under 10% of a core; `ratio` = connections / 15,000.
The last line is one JSON object.
"""

import argparse
import asyncio
import base64
import json
import os
import struct
import sys
import time
from pathlib import Path

import jwt
import requests

from benchlib import cpu_seconds
from fanout import Stack, app_token_jwt

TARGET_CONNECTIONS = 15_000
TARGET_KB = 40
TARGET_IDLE_CPU = 10.0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS")


class Socket:
    """A websocket client with the least state: a reader, a writer."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.frames: asyncio.Queue = asyncio.Queue()

    @classmethod
    async def open(cls, host, port, path):
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: http://{host}:{port}\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head[:200])
        return cls(reader, writer)

    def _send(self, opcode: int, payload: bytes):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        else:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)

    def send(self, frame: dict):
        self._send(0x1, json.dumps(frame).encode())

    async def read(self):
        """Frames until the socket closes; text frames to `frames`, pings answered."""
        try:
            while True:
                first, second = await self.reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
                payload = await self.reader.readexactly(length)
                opcode = first & 0x0F
                if opcode == 0x9:
                    self._send(0xA, payload)
                elif opcode == 0x1:
                    self.frames.put_nowait(json.loads(payload))
                elif opcode == 0x8:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return


async def connect_all(stack, users, per_user, concurrency=200):
    token = app_token_jwt(stack.app)
    session = requests.Session()
    ids = []
    for i in range(users):
        r = session.post(f"{stack.url}/v1/appusers", json={"userId": f"idle-{i}"},
                         headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        ids.append(r.json()["appUser"]["_id"])
    host, port = "127.0.0.1", stack.port
    sockets, tasks = [], []
    gate = asyncio.Semaphore(concurrency)

    async def one(n):
        user = n % users
        async with gate:
            socket = await Socket.open(host, port, "/sdk/ws/")
            tasks.append(asyncio.create_task(socket.read()))
            socket.send({"type": "auth", "appToken": stack.app["appToken"], "appUserId": ids[user],
                         "clientId": f"device-{n}", "jwt": jwt.encode(
                             {"scope": "appUser", "userId": f"idle-{user}"}, stack.app["secret"],
                             algorithm="HS256", headers={"kid": stack.app["keyId"]})})
            ready = await asyncio.wait_for(socket.frames.get(), 60)
            if ready.get("type") != "ready":
                raise SystemExit(f"auth refused: {ready}")
            sockets.append((user, socket))

    await asyncio.gather(*(one(n) for n in range(users * per_user)))
    return ids, sockets, tasks


async def run(stack, users, per_user, idle_seconds):
    server_pid = stack.procs[0].pid
    before_kb = rss_kb(server_pid)
    started = time.monotonic()
    ids, sockets, tasks = await connect_all(stack, users, per_user)
    connect_s = time.monotonic() - started
    await asyncio.sleep(5)  # let the last auths settle
    after_kb = rss_kb(server_pid)
    cpu0, t0 = cpu_seconds(server_pid), time.monotonic()
    await asyncio.sleep(idle_seconds)
    idle_cpu = 100 * (cpu_seconds(server_pid) - cpu0) / (time.monotonic() - t0)
    # The sample: a message to user 0 reaches each of its sockets.
    sample = [socket for user, socket in sockets if user == 0]
    r = requests.post(f"{stack.url}/v1/appusers/{ids[0]}/messages",
                      json={"role": "appMaker", "type": "text", "text": "still there?"},
                      headers={"Authorization": f"Bearer {app_token_jwt(stack.app)}"}, timeout=30)
    r.raise_for_status()

    async def got_message(socket):
        while True:
            frame = await asyncio.wait_for(socket.frames.get(), 30)
            if frame.get("type") == "message":
                return frame["message"]["text"] == "still there?"

    received = sum(await asyncio.gather(*(got_message(s) for s in sample)))
    open_now = sum(1 for t in tasks if not t.done())
    for _, socket in sockets:
        socket.writer.close()
    return {"connections": open_now, "connect_seconds": round(connect_s, 1),
            "kb_per_connection": round((after_kb - before_kb) / max(1, len(sockets)), 1),
            "server_rss_mb": round(after_kb / 1024, 1), "idle_cpu_percent": round(idle_cpu, 2),
            "idle_seconds": idle_seconds, "sample_sockets": len(sample), "sample_received": received}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 connections, a short idle")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    users, per_user, idle = (100, 10, 10) if args.quick else (500, 30, 30)
    stack = Stack("pubsub" if os.environ.get("REDIS_URL") else None)
    try:
        stack.start()
        result = asyncio.run(run(stack, users, per_user, idle))
    finally:
        stack.stop()
    wanted = users * per_user
    ok = bool(result["connections"] == wanted >= TARGET_CONNECTIONS and result["kb_per_connection"] <= TARGET_KB
              and result["idle_cpu_percent"] < TARGET_IDLE_CPU and result["sample_received"] == per_user)
    print(f"{result['connections']} idle SDK sessions on one daphne process; "
          f"{result['kb_per_connection']} KB each; idle CPU {result['idle_cpu_percent']}% of a core; "
          f"sample {result['sample_received']}/{result['sample_sockets']} received", flush=True)
    summary = {"bench": "sockets", "ratio": round(result["connections"] / TARGET_CONNECTIONS, 3),
               "target": ">= 1 (15,000 connections, <= 40 KB each, idle CPU < 10%)", "ok": ok,
               "loadavg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
               "database": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite", **result}
    print(json.dumps(summary))
    sys.exit(0)


if __name__ == "__main__":
    main()
