"""A fake messaging platform on 127.0.0.1 (the outside world, for tests):
a threaded HTTP server that records every request and answers 200
{"id": ...} unless told to fail (5xx, 429 + Retry-After, 4xx) or to be slow.
It speaks HTTP/1.1 with keep-alive, as real platforms do; each record notes
the client's port (`port`), so a test can tell connections apart.

A platform's own fake (tests/support/fake_telegram.py, ...) passes a
`handler(record) -> (status, headers, answer)` that checks what the real
platform checks and answers its documented bodies; `answer` is JSON-able,
or bytes sent as they are (a media file). Records hold the method, the
path without its query (`query` holds it, parsed) and the body: JSON
decoded, a form parsed to a dict of first values, else text."""

import json
from urllib.parse import parse_qs, urlsplit
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakePlatform:
    def __init__(self, delay: float = 0.0, handler=None):
        self.requests: list[dict] = []
        self.delay = delay
        self.handler = handler
        self._lock = threading.Lock()
        self._failures: deque = deque()
        self._holds: deque = deque()
        self._counter = 0
        self._connections: set = set()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
            # Headers and body go out as separate writes: without this, Nagle's
            # algorithm holds the body for the client's delayed ACK (40 ms).
            disable_nagle_algorithm = True

            def setup(self):
                super().setup()
                with platform._lock:
                    platform._connections.add(self.connection)

            def finish(self):
                with platform._lock:
                    platform._connections.discard(self.connection)
                super().finish()

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    body = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace"),
                                                           keep_blank_values=True).items()}
                else:
                    try:
                        body = json.loads(raw or b"null")
                    except ValueError:
                        body = raw.decode(errors="replace")
                self.answer(body)

            def do_GET(self):
                self.answer(None)

            def answer(self, body):
                status, headers, answer = platform._answer(self.command, self.path, dict(self.headers), body,
                                                           self.client_address[1])
                hold = platform._holds.popleft() if platform._holds else None
                if hold is not None:
                    hold.arrived.set()
                    hold.release.wait(30)
                if platform.delay:
                    threading.Event().wait(platform.delay)
                binary = isinstance(answer, bytes)
                data = answer if binary else json.dumps(answer).encode()
                self.send_response(status)
                if not binary or "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/octet-stream" if binary else "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll: shutdown() (each test's close) waits for it.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def _answer(self, method, target, headers, body, port):
        parts = urlsplit(target)
        with self._lock:
            self._counter += 1
            record = {"method": method, "path": parts.path, "query": parse_qs(parts.query), "headers": headers,
                      "body": body, "at": time.time(), "n": self._counter, "port": port}
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

    def received(self, path: str = "/messages") -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def accepted(self, path: str = "/messages") -> list[dict]:
        return [r for r in self.received(path) if r["status"] == 200]

    def close(self):
        """Stop, dropping the kept-alive connections too (a platform gone
        away, not one idling with its clients' sockets open)."""
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Hold:
    def __init__(self):
        self.arrived = threading.Event()
        self.release = threading.Event()
