"""A fake messaging platform on 127.0.0.1 (the outside world, for tests):
a threaded HTTP server that records every request and answers 200
{"id": ...} unless told to fail (5xx, 429 + Retry-After, 4xx), to be slow,
or to hang (`hang()`: requests are recorded but get no answer until
`hang(False)`, as a platform that stops answering for a while).
It speaks HTTP/1.1 with keep-alive, as real platforms do; each record notes
the client's port (`port`), so a test can tell connections apart.

A platform's own fake (tests/support/fake_telegram.py, ...) passes a
`handler(record) -> (status, headers, answer)` that checks what the real
platform checks and answers its documented bodies; `answer` is JSON-able,
or bytes sent as they are (a media file). Records hold the method, the
path without its query (`query` holds it, parsed) and the body: JSON
decoded, a form parsed to a dict of first values, else text (`raw` holds
its bytes)."""

import json
import threading
import time
from collections import deque
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback import LoopbackServer


class FakePlatform:
    def __init__(self, delay: float = 0.0, handler=None):
        self.requests: list[dict] = []
        self.delay = delay
        self.handler = handler
        self._lock = threading.Lock()
        self._failures: deque = deque()
        self._holds: deque = deque()
        self._counter = 0
        self._answering = threading.Event()  # cleared while the platform hangs
        self._answering.set()
        self._loopback = LoopbackServer(self._respond)
        self.url = self._loopback.url

    def _respond(self, handler) -> None:
        body = None
        raw = b""
        length = int(handler.headers.get("Content-Length") or 0)
        if handler.command == "POST" or length:
            raw = handler.rfile.read(length)
            if "application/x-www-form-urlencoded" in (handler.headers.get("Content-Type") or ""):
                body = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace"), keep_blank_values=True).items()}
            else:
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
        status, headers, answer = self._answer(handler.command, handler.path, dict(handler.headers), body,
                                               handler.client_address[1], raw)
        hold = self._holds.popleft() if self._holds else None
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(30)
        if self.delay:
            threading.Event().wait(self.delay)
        # A hung platform answers late, if at all: the caller may have
        # given up by then (a late answer on a closed socket is dropped).
        self._answering.wait(120)
        binary = isinstance(answer, bytes)
        data = answer if binary else json.dumps(answer).encode()
        try:
            handler.send_response(status)
            if not binary or "Content-Type" not in headers:
                handler.send_header("Content-Type", "application/octet-stream" if binary else "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the caller gave up waiting (timed out, or was killed)

    def _answer(self, method, target, headers, body, port, raw=b""):
        parts = urlsplit(target)
        with self._lock:
            self._counter += 1
            # `raw`: the body's bytes as sent (a file upload).
            record = {"method": method, "path": parts.path, "query": parse_qs(parts.query), "headers": headers,
                      "body": body, "raw": raw, "at": time.time(), "n": self._counter, "port": port}
            self.requests.append(record)
            if self._failures:
                status, extra_headers, answer = self._failures.popleft()
            elif self.handler is not None:
                status, extra_headers, answer = self.handler(record)
            else:
                status, extra_headers, answer = 200, {}, {"id": f"fake-{self._counter}"}
            record["status"] = status
            return status, extra_headers, answer

    def fail_next(self, status: int, times: int = 1, headers: dict | None = None, body=None):
        """Answer the next `times` requests with `status`."""
        with self._lock:
            for _ in range(times):
                self._failures.append((status, headers or {}, body or {"error": f"status {status}"}))

    def hold_next(self) -> "Hold":
        """Keep the next request waiting for its answer until `release()`
        (`arrived` is set once it came in): a platform call in flight."""
        hold = Hold()
        self._holds.append(hold)
        return hold

    def hang(self, on: bool = True) -> None:
        """Stop answering (requests are read and recorded, their answers
        held) until `hang(False)`, which sends the held answers."""
        if on:
            self._answering.clear()
        else:
            self._answering.set()

    def received(self, path: str = "/messages") -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def accepted(self, path: str = "/messages") -> list[dict]:
        return [r for r in self.received(path) if r["status"] == 200]

    def close(self):
        """Stop, dropping the kept-alive connections too (a platform gone
        away, not one idling with its clients' sockets open)."""
        self._answering.set()  # held answers end
        self._loopback.close()


class Hold:
    def __init__(self):
        self.arrived = threading.Event()
        self.release = threading.Event()
