"""A business's webhook endpoint on 127.0.0.1 (the outside world, for the
webhook tests): a threaded HTTP server that records every request it gets,
with the raw body bytes and the headers as they came, so a test can verify
a signature exactly the way a receiver does.

It answers 200 unless told otherwise:
- `answer(status, times=..., retry_after=...)`: the next `times` requests
  get `status` (with `Retry-After` when given); `always(status)` for every
  request from now on (None: back to 200);
- `slow(seconds)`: wait that long before each answer;
- `hang()`: read each request, record it, and never answer (the connection
  stays open until the client gives up or the receiver closes);
  `hang(False)` answers again;
- `stop()` / `start()`: the target goes down (connections refused) and
  comes back on the same port.
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from tests.support.loopback import LoopbackServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names as the client sent them
    body: bytes  # the raw bytes, as a receiver must verify them
    at: float = field(default_factory=time.time)
    status: int | None = None  # what the receiver answered (None: it never did)

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class WebhookReceiver:
    def __init__(self):
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._scripted: deque = deque()  # (status, headers) for the next requests
        self._always: int | None = None
        self._delay = 0.0
        self._hang = False
        self._closing = threading.Event()
        self._arrived = threading.Condition(self._lock)
        self._server = None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}"

    # What the receiver does.

    def answer(self, status: int, *, times: int = 1, retry_after: str | int | None = None) -> None:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._scripted.extend([(status, headers)] * times)

    def always(self, status: int | None) -> None:
        with self._lock:
            self._always = status

    def slow(self, seconds: float) -> None:
        self._delay = seconds

    def hang(self, on: bool = True) -> None:
        self._hang = on

    # What it received.

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def payloads(self, path: str | None = None) -> list[dict]:
        return [r.json() for r in self.received(path)]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The requests once at least `count` came in (AssertionError at the deadline)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} requests came in, not {count}")
                self._arrived.wait(left)
            return list(self.requests)

    # Up and down.

    def start(self) -> None:
        self._closing.clear()
        self._server = LoopbackServer(self._handle, port=self.port)
        self.port = self._server.port

    def stop(self) -> None:
        """Stop listening and drop open connections: requests are refused
        until start()."""
        if self._server is not None:
            self._closing.set()  # hung requests end
            self._server.close()
            self._server = None

    close = stop

    def _handle(self, handler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        record = Received(method=handler.command, path=handler.path, headers=dict(handler.headers.items()),
                          body=raw)
        with self._lock:
            self.requests.append(record)
            if self._scripted:
                status, headers = self._scripted.popleft()
            else:
                status, headers = self._always or 200, {}
            self._arrived.notify_all()
        if self._hang:
            self._closing.wait()
            handler.close_connection = True
            return
        if self._delay:
            self._closing.wait(self._delay)
        record.status = status
        data = b'{"ok":true}' if 200 <= status < 300 else json.dumps({"error": f"status {status}"}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
