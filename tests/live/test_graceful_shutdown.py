"""SIGTERM to a web process (messaging/web_server.py): open websockets are
closed with 1012 (service restart), the port stops accepting, and the
process exits once drained."""

import asyncio
import signal
import socket

import pytest
import websockets

from tests.support.live import LiveServer, wait_until


@pytest.mark.django_db(transaction=True)
def test_sigterm_closes_websockets_with_1012_and_stops_accepting():
    server = LiveServer(worker=False)
    try:
        async def scenario():
            ws_url = server.url.replace("http://", "ws://")
            sdk = await websockets.connect(ws_url + "/sdk/ws/", open_timeout=10)
            await sdk.send('{"type": "ping"}')
            await asyncio.wait_for(sdk.recv(), 10)
            server.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(sdk.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
            return "still open"

        assert asyncio.run(scenario()) == 1012
        wait_until(lambda: server.proc.poll() is not None, timeout=15, message="the process to exit")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        assert "closed 1 websockets with 1012" in server.output()
    finally:
        server.stop()
