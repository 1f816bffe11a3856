"""daphne's Server with a graceful stop, for `manage.py serve`.

On SIGTERM (or SIGINT) daphne stops its reactor and cancels every
application at once: requests in flight lose their answer and websockets
drop without a close frame. This server first drains:
1. it stops listening, so the proxy sends new connections elsewhere;
2. it closes every open websocket with 1012 (service restart; the widget
   and the dashboard reconnect at once, to another process: see
   docs/sdk-protocol.md);
3. it waits, at most DRAIN_SECONDS, for the sockets to close and for the
   HTTP requests in flight to be answered;
and only then lets daphne cancel what is left.

Written here because daphne has no graceful stop of its own; the hook is
Twisted's "before shutdown" trigger, which daphne itself uses.
"""

import asyncio
import logging

from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
SERVICE_RESTART = 1012


class FormsLeftToDjango(WebRequest):
    """Twisted parses a multipart POST body itself before daphne hands the
    request to Django, and answers one it cannot parse (an empty upload:
    just the closing boundary) with a bare 400, no JSON error body. Django
    parses the body anyway (once, where a view asks for it), so Twisted's
    parse is switched off: its own flag for this."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False


class FormsLeftToDjangoFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = FormsLeftToDjango
        return protocol


class GracefulServer(Server):
    # daphne's run() makes its HTTPFactory and listens with it at once:
    # this is where ours takes its place.
    @property
    def http_factory(self):
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory):
        self._http_factory = FormsLeftToDjangoFactory(self) if type(factory) is HTTPFactory else factory

    def listen_success(self, port):
        self.ports = [*getattr(self, "ports", []), port]
        super().listen_success(port)

    def kill_all_applications(self):
        drained = defer.Deferred.fromFuture(asyncio.ensure_future(self.drain()))
        drained.addErrback(lambda failure: logger.error("drain failed: %s", failure.getErrorMessage()))
        drained.addCallback(lambda _: Server.kill_all_applications(self))
        return drained

    async def drain(self):
        for port in getattr(self, "ports", []):
            port.stopListening()
        sockets = 0
        for protocol in list(self.connections):
            if isinstance(protocol, WebSocketProtocol) and protocol.state == AutobahnProtocol.STATE_OPEN:
                # autobahn's sendClose refuses 1012 (its list of codes
                # predates it); its frame-level call sends any code.
                protocol.sendCloseFrame(code=SERVICE_RESTART, reasonUtf8=b"service restart", isReply=False)
                sockets += 1
        logger.info("stopping: closed %d websockets with %d, draining requests", sockets, SERVICE_RESTART)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while self._busy() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        left = self._busy()
        if left:
            logger.warning("stopping with %d connections still busy after %g s", left, DRAIN_SECONDS)

    def _busy(self) -> int:
        """Connections still open as websockets, or with a request whose
        application has not finished."""
        busy = 0
        for protocol, details in list(self.connections.items()):
            if "disconnected" in details:
                continue
            instance = details.get("application_instance")
            if isinstance(protocol, WebSocketProtocol) or (instance is not None and not instance.done()):
                busy += 1
        return busy
