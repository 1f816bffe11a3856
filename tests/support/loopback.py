"""A threaded HTTP/1.1 server on 127.0.0.1, the base of the fakes of the
outside world (tests/support/fake_platform.py, webhook_receiver.py).

Connections are kept alive, as real servers do, and tracked so that
close() drops them too (a server gone away, not one idling with its
clients' sockets open). Headers and body go out as separate writes, so
Nagle's algorithm is off (else the body waits for the client's delayed
ACK, 40 ms). A short poll: shutdown() waits for it."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    def __init__(self, respond, port: int = 0):
        """`respond(handler)` answers each GET or POST, on its handler's
        thread; `port` 0 picks a free one."""
        self._lock = threading.Lock()
        self._connections: set = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
            disable_nagle_algorithm = True

            def setup(self):
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self):
                with server._lock:
                    server._connections.discard(self.connection)
                super().finish()

            def do_POST(self):
                respond(self)

            do_GET = do_PUT = do_DELETE = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
