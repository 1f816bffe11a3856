"""The delivery engine on real channels, end to end on PostgreSQL and
Redis: a daphne server (no worker inside) and a separate worker process,
the fake Telegram Bot API and the fake Twilio on 127.0.0.1, a real widget
socket, and the dashboard's group listened to on the channel layer.

1. One app user with the widget (seen last), Telegram (before) and Twilio
   (first). The business posts through the API; the widget receives it;
   unread after PARLEY_FAILOVER_SECONDS the failover reaches Telegram once,
   with a notification; a second message the user reads in the widget never
   leaves the web; the dashboard's group sees every state change.
2. Telegram preferred, its bot blocked: the failover to Twilio starts at
   once (DESIGN.md rule 5)."""

import asyncio
import time

import pytest
import requests
from channels.db import database_sync_to_async as sync_to_async
from channels.layers import get_channel_layer

from messaging import events
from messaging.models import Delivery, Integration, Message
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.fake_twilio import FakeTwilio
from tests.support.live import server_and_worker, wait_until
from tests.support.ws import SdkSocket, app_jwt, decisions, make_client, make_user, user_jwt

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = "4242"
PHONE = "+15145550100"


@pytest.fixture
def platforms():
    telegram, twilio = FakeTelegram(https_only=False), FakeTwilio()
    yield telegram, twilio
    telegram.close()
    twilio.close()


def channels_of(app, telegram, twilio):
    bot = Integration.objects.create(app=app, type="telegram", credentials={"token": TOKEN},
                                     display_name="Tacos Bot")
    sms = Integration.objects.create(app=app, type="twilio", credentials=twilio.credentials(),
                                     details={"phoneNumber": twilio.phone_number,
                                              "phoneNumberSid": twilio.phone_number_sid},
                                     display_name="Tacos SMS")
    return bot, sms


def processes(telegram, twilio, **extra):
    return server_and_worker(PARLEY_TELEGRAM_API_BASE=telegram.url, PARLEY_TWILIO_API_BASE=twilio.url, **extra)


def post(server, app, user, text):
    response = requests.post(f"{server.url}/v1/appusers/{user.id}/messages",
                             json={"role": "appMaker", "type": "text", "text": text,
                                   "name": "Tacos Inc", "email": "team@tacos.example"},
                             headers={"Authorization": f"Bearer {app_jwt(app)}"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["message"]["_id"]


class GroupListener:
    """What the dashboard's group `app.<id>` receives, on the channel layer:
    one task keeps receiving (a cancelled receive unsubscribes the channel
    on channels-redis' pub/sub layer, so no receive is ever timed out)."""

    def __init__(self, app):
        self.group = events.app_group(app.id)
        self.kinds: list[tuple[str, dict]] = []

    async def start(self):
        self.layer = get_channel_layer()
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.task = asyncio.create_task(self._receive())

    async def _receive(self):
        while True:
            message = await self.layer.receive(self.channel)
            # One event goes as itself, several as {"events": [...]} (messaging.events).
            batch = message["events"] if "events" in message else [message]
            self.kinds += [(event["kind"], event.get("detail") or {}) for event in batch]

    async def drain(self, seconds: float = 0.3):
        await asyncio.sleep(seconds)

    def stop(self):
        self.task.cancel()

    def states(self, message_id: str) -> list[tuple[str, str]]:
        return [(kind, detail.get("platform", "")) for kind, detail in self.kinds
                if detail.get("messageId") == message_id or (detail.get("message") or {}).get("_id") == message_id]


async def test_the_widget_first_then_telegram_once_and_a_read_keeps_the_next_message_on_the_web(
        settings, app, platforms):
    telegram, twilio = platforms
    settings.PARLEY_FAILOVER_SECONDS = 2
    user = await sync_to_async(make_user)(app, "alice")
    bot, sms = await sync_to_async(channels_of)(app, telegram, twilio)
    await sync_to_async(make_client)(user, "twilio", minutes_ago=60, external_id=PHONE, integration=sms)
    tg = await sync_to_async(make_client)(user, "telegram", minutes_ago=10, external_id=CHAT, integration=bot)
    listener = GroupListener(app)
    await listener.start()
    server, worker = await sync_to_async(processes)(telegram, twilio)
    socket = None
    try:
        socket = await SdkSocket.open(server.url)
        await socket.send({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                           "clientId": "browser-1", "jwt": await sync_to_async(user_jwt)(app, user.user_id)})
        assert (await socket.receive())["type"] == "ready"

        first = await sync_to_async(post)(server, app, user, "Your order shipped")
        frame = await socket.receive_until(lambda f: f["type"] == "message", timeout=5)
        assert frame["message"]["_id"] == first

        @sync_to_async
        def failover_sent():
            return Delivery.objects.filter(message_id=first, purpose="failover", state="sent").first()

        deadline = time.monotonic() + 30
        delivery = None
        while delivery is None and time.monotonic() < deadline:
            await listener.drain(0.2)
            delivery = await failover_sent()
        assert delivery is not None, f"no failover sent:\n{worker.output()[-3000:]}"
        assert delivery.client_id == tg.id and delivery.notify
        [sent] = telegram.calls("sendMessage")
        assert sent["chat_id"] in (CHAT, int(CHAT)) and sent["text"] == "Your order shipped"
        assert not sent.get("disable_notification")
        assert twilio.sent() == []  # Twilio holds no silent copy: SMS always notifies
        message = await sync_to_async(Message.objects.get)(id=first)
        assert [d["platform"] for d in await sync_to_async(decisions)(message, "failover")] == ["telegram"]

        # The second message is read in the widget before its failover is due.
        second = await sync_to_async(post)(server, app, user, "Anything else?")
        await socket.receive_until(lambda f: f["type"] == "message" and f["message"]["_id"] == second)
        await socket.send({"type": "read"})
        second_message = await sync_to_async(Message.objects.get)(id=second)
        await sync_to_async(wait_until)(lambda: decisions(second_message, "failover-cancelled"), timeout=30,
                                        message="the second message's failover cancelled")
        await asyncio.sleep(2.5)  # past its failover time: nothing may leave the web
        await listener.drain(0.5)
        assert len(telegram.calls("sendMessage")) == 1 and twilio.sent() == []
        platforms_of_second = await sync_to_async(
            lambda: sorted(Delivery.objects.filter(message_id=second).values_list("client__platform", "state")))()
        assert platforms_of_second == [("web", "read")]

        # The dashboard's group saw every state change of both messages.
        assert ("delivery:success", "web") in listener.states(first)
        assert ("failover", "telegram") in listener.states(first)
        assert ("delivery:success", "telegram") in listener.states(first)
        assert ("delivery:success", "web") in listener.states(second)
        assert ("delivery:read", "web") in listener.states(second)
        # Once: the worker's failover check does not run twice.
        assert [k for k, _ in listener.states(first)].count("failover") == 1
    finally:
        listener.stop()
        if socket:
            await socket.close()
        await sync_to_async(worker.stop)()
        await sync_to_async(server.stop)()


def test_a_blocked_telegram_bot_fails_over_to_twilio_at_once(settings, app, platforms):
    telegram, twilio = platforms
    settings.PARLEY_FAILOVER_SECONDS = 300  # the usual delay: only rule 5 can be this quick
    user = make_user(app, "bob")
    bot, sms = channels_of(app, telegram, twilio)
    make_client(user, "twilio", minutes_ago=60, external_id=PHONE, integration=sms)
    tg = make_client(user, "telegram", minutes_ago=1, external_id=CHAT, integration=bot)
    telegram.block(CHAT)
    server, worker = processes(telegram, twilio)
    try:
        message_id = post(server, app, user, "Your table is ready")

        def failover_sent():
            return Delivery.objects.filter(message_id=message_id, purpose="failover", state="sent").first()

        delivery = wait_until(failover_sent, timeout=30, message="the failover to Twilio")
        assert delivery.client.platform == "twilio"
        preferred = Delivery.objects.get(message_id=message_id, purpose="preferred")
        assert (preferred.client_id, preferred.state, preferred.error["code"]) == (tg.id, "failed", "blocked")
        [sms_sent] = twilio.sent()
        assert (sms_sent["To"], sms_sent["Body"]) == (PHONE, "Your table is ready")
        tg.refresh_from_db()
        assert tg.unreachable == "blocked"
        [failover] = decisions(Message.objects.get(id=message_id), "failover")
        assert failover["platform"] == "twilio" and "blocked" in failover["trigger"]
    finally:
        worker.stop()
        server.stop()
