"""Scale-out on PostgreSQL and Redis: two daphne processes (A and B) and two
worker processes, none with a worker inside, cooperating as a deployment's
would:
- a message posted to A reaches an SDK socket and a dashboard socket held
  by B, and so does typing; a delivery state reaches the dashboard socket;
- twenty messages posted through both processes reach the fake Telegram
  exactly once each, although two workers claim deliveries;
- a message left unread fails over to Telegram once.
What is counted is what the fake platform received, not Parley's tables."""

import asyncio
import json
import time
from collections import Counter

import pytest
import requests
import websockets
from channels.db import database_sync_to_async as sync_to_async

from messaging.models import Integration
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.live import LiveServer, WorkerProcess
from tests.support.ws import SdkSocket, app_jwt, make_client, make_user, user_jwt

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, app, user, text):
    response = requests.post(f"{server.url}/v1/appusers/{user.id}/messages",
                             json={"role": "appMaker", "type": "text", "text": text, "name": "Tacos Inc"},
                             headers={"Authorization": f"Bearer {app_jwt(app)}"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["message"]["_id"]


def typing(server, app, user):
    response = requests.post(f"{server.url}/v1/appusers/{user.id}/conversation/activity",
                             json={"role": "appMaker", "type": "typing:start"},
                             headers={"Authorization": f"Bearer {app_jwt(app)}"}, timeout=10)
    assert response.status_code == 200, response.text


def texts_sent(telegram, chat):
    return Counter(call["text"] for call in telegram.calls("sendMessage") if str(call["chat_id"]) == chat)


async def until(check, timeout, message):
    deadline = time.monotonic() + timeout
    while not (value := await sync_to_async(check)()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.1)
    return value


async def test_two_web_processes_and_two_workers_cooperate(client, owner, app):
    telegram = FakeTelegram(https_only=False)
    env = {"PARLEY_TELEGRAM_API_BASE": telegram.url, "PARLEY_FAILOVER_SECONDS": "2",
           "PARLEY_WORKER_INTERVAL": "0.1"}
    bot = await sync_to_async(Integration.objects.create)(app=app, type="telegram", credentials={"token": TOKEN})
    alice = await sync_to_async(make_user)(app, "alice")
    await sync_to_async(make_client)(alice, "telegram", minutes_ago=10, external_id="100", integration=bot)
    bob = await sync_to_async(make_user)(app, "bob")
    await sync_to_async(make_client)(bob, "telegram", external_id="200", integration=bot)
    await sync_to_async(client.force_login)(owner)
    session = client.cookies["sessionid"].value

    processes = []
    try:
        for _ in range(2):
            processes.append(await sync_to_async(LiveServer)(worker=False, **env))
        a, b = processes
        for _ in range(2):
            processes.append(await sync_to_async(WorkerProcess)(interval=0.1, **env))

        sdk = await SdkSocket.open(b.url)
        await sdk.send({"type": "auth", "appToken": app.app_token, "appUserId": alice.id, "clientId": "browser-1",
                        "jwt": await sync_to_async(user_jwt)(app, alice.user_id)})
        assert (await sdk.receive())["type"] == "ready"
        dashboard = await websockets.connect(
            b.url.replace("http://", "ws://") + f"/ws/dashboard/events/{app.id}/", open_timeout=10,
            additional_headers={"Cookie": f"sessionid={session}", "Origin": b.url})
        assert json.loads(await asyncio.wait_for(dashboard.recv(), 10))["type"] == "ready"

        # An API call on A, both sockets on B.
        first = await sync_to_async(post)(a, app, alice, "Your order shipped")
        frame = await sdk.receive_until(lambda f: f["type"] == "message", timeout=10)
        assert frame["message"]["_id"] == first
        seen = []
        while not any(f["kind"] == "message:appMaker" and f["detail"].get("messageId") == first for f in seen):
            seen.append(json.loads(await asyncio.wait_for(dashboard.recv(), 10)))
        await sync_to_async(typing)(a, app, alice)
        assert (await sdk.receive_until(lambda f: f["type"] == "typing", timeout=10))["state"] == "start"

        # Twenty messages through both web processes; two workers send them.
        sent = [f"Order {n} is ready" for n in range(20)]
        for n, text in enumerate(sent):
            await sync_to_async(post)(processes[n % 2], app, bob, text)
        await until(lambda: sum(texts_sent(telegram, "200").values()) >= 20, 30, "twenty messages at Telegram")

        # The first message, unread, fails over to Telegram once.
        await until(lambda: texts_sent(telegram, "100")["Your order shipped"] >= 1, 30, "the failover at Telegram")
        # The dashboard socket on B saw the failover's delivery, made by a worker.
        while not any(f["kind"] == "delivery:success" and f["detail"].get("platform") == "telegram" for f in seen):
            seen.append(json.loads(await asyncio.wait_for(dashboard.recv(), 10)))

        await asyncio.sleep(3)  # time enough for a duplicate to show
        assert texts_sent(telegram, "200") == Counter(sent)
        assert texts_sent(telegram, "100") == Counter(["Your order shipped"])
        await sdk.close()
        await dashboard.close()
    finally:
        for process in processes:
            process.stop()
        telegram.close()
