"""A fake messaging platform on 127.0.0.1 (the outside world, for tests):
a threaded HTTP server that records every request and answers 200
{"id": ...} unless told to fail (5xx, 429 + Retry-After, 4xx) or to be slow.
It speaks HTTP/1.1 with keep-alive, as real platforms do; each record notes
the client's port (`port`), so a test can tell connections apart."""

import json
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakePlatform:
    def __init__(self, delay: float = 0.0):
        self.requests: list[dict] = []
        self.delay = delay
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
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                status, headers, answer = platform._answer(self.path, dict(self.headers), body,
                                                           self.client_address[1])
                hold = platform._holds.popleft() if platform._holds else None
                if hold is not None:
                    hold.arrived.set()
                    hold.release.wait(30)
                if platform.delay:
                    threading.Event().wait(platform.delay)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _answer(self, path, headers, body, port):
        with self._lock:
            self._counter += 1
            record = {"path": path, "headers": headers, "body": body, "at": time.time(), "n": self._counter,
                      "port": port}
            self.requests.append(record)
            if self._failures:
                status, extra_headers, answer = self._failures.popleft()
                record["status"] = status
                return status, extra_headers, answer
            record["status"] = 200
            return 200, {}, {"id": f"fake-{self._counter}"}

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
