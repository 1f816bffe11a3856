"""Messenger and WhatsApp end to end on PostgreSQL and Redis: a daphne
server (no worker inside) and a separate worker process, the fake Messenger
Platform and the fake WhatsApp Cloud API on 127.0.0.1, a real widget socket,
and the dashboard's group listened to on the channel layer.

1. DESIGN.md's worked example with real channels: one app user with the
   widget (seen last), Messenger (before) and WhatsApp (first). The business
   posts; the widget receives it; Messenger gets a NO_PUSH silent copy at
   once; unread after PARLEY_FAILOVER_SECONDS, the failover sends it to
   Messenger again, with a notification (REGULAR); Messenger's read
   watermark, posted signed to the inbound URL, marks it read; the
   dashboard's group receives every state change. WhatsApp, which cannot
   receive without notifying, gets nothing.
2. A WhatsApp user last heard from 25 hours ago: a free-form message fails
   with `outside_window` without a call, then a message carrying a template
   in `override.whatsapp` is sent as that template."""

import time
from datetime import timedelta

import pytest
import requests
from channels.db import database_sync_to_async as sync_to_async
from django.utils import timezone

from messaging.models import Delivery, Integration, Message
from tests.live.test_channels_end_to_end import GroupListener
from tests.support import fake_messenger, fake_whatsapp
from tests.support.fake_graph import post_event
from tests.support.fake_messenger import FakeMessenger
from tests.support.fake_whatsapp import FakeWhatsApp
from tests.support.live import server_and_worker, wait_until
from tests.support.ws import SdkSocket, app_jwt, decisions, make_client, make_user, user_jwt

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en_US"}}}


@pytest.fixture
def platforms():
    messenger, whatsapp = FakeMessenger(), FakeWhatsApp()
    yield messenger, whatsapp
    messenger.close()
    whatsapp.close()


def channels_of(app):
    page = Integration.objects.create(
        app=app, type="messenger", display_name="Tacos Inc",
        credentials={"pageAccessToken": fake_messenger.TOKEN, "appId": fake_messenger.APP_ID,
                     "appSecret": fake_messenger.APP_SECRET},
        details={"pageId": fake_messenger.PAGE_ID, "appId": fake_messenger.APP_ID})
    number = Integration.objects.create(
        app=app, type="whatsapp", display_name="Tacos WhatsApp",
        credentials={"phoneNumberId": fake_whatsapp.PHONE_NUMBER_ID, "businessAccountId": fake_whatsapp.WABA_ID,
                     "accessToken": fake_whatsapp.TOKEN, "appSecret": fake_whatsapp.APP_SECRET},
        details={"phoneNumberId": fake_whatsapp.PHONE_NUMBER_ID, "businessAccountId": fake_whatsapp.WABA_ID})
    return page, number


def heard_from(app_user, platform, integration, external_id, minutes_ago):
    """A client whose user last wrote `minutes_ago` minutes before now."""
    client = make_client(app_user, platform, minutes_ago=minutes_ago, external_id=external_id,
                         integration=integration)
    client.last_inbound_at = client.last_seen
    client.save(update_fields=["last_inbound_at"])
    return client


def processes(messenger, whatsapp):
    return server_and_worker(PARLEY_MESSENGER_API_BASE=messenger.url, PARLEY_WHATSAPP_API_BASE=whatsapp.url)


def post(server, app, user, text, **extra):
    response = requests.post(f"{server.url}/v1/appusers/{user.id}/messages",
                             json={"role": "appMaker", "type": "text", "text": text, "name": "Tacos Inc",
                                   "email": "team@tacos.example", **extra},
                             headers={"Authorization": f"Bearer {app_jwt(app)}"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["message"]["_id"]


async def test_the_worked_example_with_messenger_and_whatsapp(settings, app, platforms):
    messenger, whatsapp = platforms
    settings.PARLEY_FAILOVER_SECONDS = 2
    user = await sync_to_async(make_user)(app, "alice")
    page, number = await sync_to_async(channels_of)(app)
    await sync_to_async(heard_from)(user, "whatsapp", number, fake_whatsapp.USER, 60)
    on_messenger = await sync_to_async(heard_from)(user, "messenger", page, fake_messenger.PSID, 10)
    listener = GroupListener(app)
    await listener.start()
    server, worker = await sync_to_async(processes)(messenger, whatsapp)
    socket = None
    try:
        socket = await SdkSocket.open(server.url)
        await socket.send({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                           "clientId": "browser-1", "jwt": await sync_to_async(user_jwt)(app, user.user_id)})
        assert (await socket.receive())["type"] == "ready"

        first = await sync_to_async(post)(server, app, user, "Your order shipped")
        frame = await socket.receive_until(lambda f: f["type"] == "message", timeout=5)
        assert frame["message"]["_id"] == first

        # The silent copy, at once; the failover, with a notification, after the delay.
        await sync_to_async(wait_until)(lambda: len(messenger.messages()) == 2, timeout=30,
                                        message=f"the silent copy and the failover at the fake Messenger:\n"
                                                f"{worker.output()[-3000:]}")
        silent, failover = messenger.messages()
        for sent in (silent, failover):
            assert sent["recipient"] == {"id": fake_messenger.PSID}
            assert sent["message"]["text"] == "Your order shipped"
            assert sent["messaging_type"] == "RESPONSE"
        assert (silent["notification_type"], failover["notification_type"]) == ("NO_PUSH", "REGULAR")
        assert whatsapp.sent == []  # WhatsApp always notifies: no silent copy, and Messenger came first

        @sync_to_async
        def by_purpose():
            return {d.purpose: d for d in Delivery.objects.filter(message_id=first).select_related("client")}

        expected = {"preferred": ("web", "sent", True), "silent": ("messenger", "sent", False),
                    "failover": ("messenger", "sent", True)}

        def shown(deliveries):
            return {p: (d.client.platform, d.state, d.notify) for p, d in deliveries.items()}

        deadline = time.monotonic() + 10
        # The platform took it; the worker records the answer a moment later.
        while shown(await by_purpose()) != expected and time.monotonic() < deadline:
            await listener.drain(0.1)
        assert shown(await by_purpose()) == expected
        message = await sync_to_async(Message.objects.get)(id=first)
        assert [d["platform"] for d in await sync_to_async(decisions)(message, "failover")] == ["messenger"]

        # Messenger's read watermark, signed with the app secret, reads it.
        inbound = f"{server.url}/integrations/messenger/{page.id}/webhook"
        body = fake_messenger.page_body(fake_messenger.read(fake_messenger.now_ms()))
        answer = await sync_to_async(post_event)(inbound, body, fake_messenger.APP_SECRET)
        assert answer.status_code == 200, answer.text

        @sync_to_async
        def read_on_messenger():
            return sorted(Delivery.objects.filter(message_id=first, client=on_messenger, state="read")
                          .values_list("purpose", flat=True))

        deadline = time.monotonic() + 20
        while await read_on_messenger() != ["failover", "silent"] and time.monotonic() < deadline:
            await listener.drain(0.2)
        assert await read_on_messenger() == ["failover", "silent"], worker.output()[-3000:]
        await sync_to_async(message.refresh_from_db)()
        assert message.read_at is not None
        await listener.drain(0.5)

        # The dashboard's group saw every state change.
        states = listener.states(first)
        assert ("delivery:success", "web") in states
        assert states.count(("delivery:success", "messenger")) == 2
        assert [k for k, _ in states].count("failover") == 1
        assert ("failover", "messenger") in states
        assert states.count(("delivery:read", "messenger")) == 2
        kinds = [kind for kind, _ in listener.kinds]
        assert "conversation:read" in kinds
    finally:
        listener.stop()
        if socket:
            await socket.close()
        await sync_to_async(worker.stop)()
        await sync_to_async(server.stop)()


def test_outside_the_whatsapp_window_only_a_template_goes(app, platforms):
    messenger, whatsapp = platforms
    user = make_user(app, "kerry")
    _, number = channels_of(app)
    client = heard_from(user, "whatsapp", number, fake_whatsapp.USER, 25 * 60)
    whatsapp.close_window(fake_whatsapp.USER)  # Meta's side agrees: 131047 if it were sent
    assert timezone.now() - client.last_inbound_at > timedelta(hours=24)
    server, worker = processes(messenger, whatsapp)
    try:
        free_form = post(server, app, user, "Are you still there?")
        failed = wait_until(
            lambda: Delivery.objects.filter(message_id=free_form, state="failed").first(), timeout=30,
            message=f"the free-form message failed:\n{worker.output()[-3000:]}")
        assert failed.client_id == client.id and failed.error["code"] == "outside_window"
        assert whatsapp.sent == [] and whatsapp.refusals() == []  # refused by Parley, never sent

        with_template = post(server, app, user, "Your order shipped",
                             override={"whatsapp": {"payload": TEMPLATE}})
        sent = wait_until(lambda: Delivery.objects.filter(message_id=with_template, state="sent").first(),
                          timeout=30, message=f"the template sent:\n{worker.output()[-3000:]}")
        [template] = whatsapp.sent
        assert template["type"] == "template" and template["template"] == TEMPLATE["template"]
        assert template["to"] == fake_whatsapp.USER and template["messaging_product"] == "whatsapp"
        assert sent.platform_message_id.startswith("wamid.")
    finally:
        worker.stop()
        server.stop()
