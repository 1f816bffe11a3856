"""A dead webhook target on 127.0.0.1 (the outside world, for tests and
benches): it accepts TCP connections and never answers while `hold` is
on; `release()` closes what it holds and, from then on, every new
connection at once (the caller sees the connection drop)."""

import socket
import threading
import time


class DeadTarget:
    def __init__(self, hold: bool = True):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/dead"
        self.hold = hold
        self.held: list[socket.socket] = []
        self.max_held = 0  # the most connections held at once
        self.last_connection = 0.0  # time.monotonic() of the last one accepted
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            with self._lock:
                self.last_connection = time.monotonic()
                if self.hold:
                    self.held.append(conn)
                    self.max_held = max(self.max_held, len(self.held))
                    continue
            conn.close()

    def holding(self) -> int:
        with self._lock:
            return len(self.held)

    def release(self):
        with self._lock:
            self.hold = False
            held, self.held = self.held, []
        for conn in held:
            conn.close()

    def close(self):
        self.release()
        self.sock.close()
