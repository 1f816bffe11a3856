"""SIGTERM to a web process (messaging/web_server.py): open websockets are
closed with 1012 (service restart), the port stops accepting, and the
process exits once drained. SIGTERM to a worker mid-batch: it finishes what
it holds and exits; another worker sends the rest; every delivery arrives
once, counted at the fake Telegram."""

import asyncio
import signal
import socket
import time
from collections import Counter

import pytest
import websockets

from messaging.models import Integration
from tests.live.test_scale_out import post, texts_sent
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.live import LiveServer, WorkerProcess, wait_until
from tests.support.ws import make_client, make_user


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


@pytest.mark.django_db(transaction=True)
def test_sigterm_to_a_worker_mid_batch_loses_and_repeats_nothing(app):
    telegram = FakeTelegram(https_only=False)
    telegram.platform.delay = 0.1  # each send takes a while: the worker is mid-batch when stopped
    bot = Integration.objects.create(app=app, type="telegram", credentials={"token": TOKEN})
    bob = make_user(app, "bob")
    make_client(bob, "telegram", external_id="200", integration=bot)
    env = {"PARLEY_TELEGRAM_API_BASE": telegram.url}
    server = LiveServer(worker=False, **env)
    workers = []
    try:
        # More than one batch (sending.BATCH): the stopped worker finishes
        # the batch it holds and leaves the rest.
        sent = [f"Order {n} is ready" for n in range(40)]
        for text in sent:
            post(server, app, bob, text)
        workers.append(WorkerProcess(interval=0.1, **env))
        wait_until(lambda: sum(texts_sent(telegram, "200").values()) >= 2, timeout=30, message="sending started")
        workers[0].proc.send_signal(signal.SIGTERM)
        wait_until(lambda: workers[0].proc.poll() is not None, timeout=30, message="the worker to finish and exit")
        assert workers[0].proc.returncode == 0 and "stopped" in workers[0].output()
        before = sum(texts_sent(telegram, "200").values())
        assert before < len(sent), "the worker was stopped before its work was done"
        # Another worker takes over what is left at once (no lease to wait out).
        workers.append(WorkerProcess(interval=0.1, **env))
        wait_until(lambda: sum(texts_sent(telegram, "200").values()) >= len(sent), timeout=30,
                   message="every delivery")
        time.sleep(1)  # time enough for a duplicate to show
        assert texts_sent(telegram, "200") == Counter(sent)
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
        telegram.close()
