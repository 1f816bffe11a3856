"""A TCP forwarder on 127.0.0.1 to another loopback port: a server under test
reaches PostgreSQL through it, and `cut()` makes the database unreachable
(every forwarded connection dropped, new ones refused) without touching the
suite's own server; `restore()` forwards again on the same port. As a
stand-in for a proxy in front of web processes, `retarget(port)` sends new
connections elsewhere while the open ones stay where they are."""

import socket
import threading


class TcpForwarder:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.port = 0
        self._listen()

    def _listen(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def retarget(self, port: int, host: str = "127.0.0.1"):
        self.target = (host, port)

    def cut(self):
        self.listener.close()
        with self._lock:
            held, self._sockets = self._sockets, set()
        for s in held:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self):
        self._listen()

    def close(self):
        self.cut()
