"""The official npm client `smooch-core@8.11.4` (alias smooch-core-8),
unchanged, against a live Parley and its worker, with the fake Telegram Bot
API and the fake Twilio: it creates, lists (types filter, paging), gets,
updates and deletes a Telegram and a Twilio integration at
/v1.1/apps/{appId}/integrations, links a phone number with
`appUsers.linkChannel(..., {type: "twilio", phoneNumber, skipConfirmation})`
and posts a notification, whose SMS the worker sends to the fake Twilio."""

import json
import subprocess

import pytest

from messaging.models import (
    AppUser,
    Client,
    Delivery,
    DeliveryState,
    Integration,
    Message,
)
from tests.api.conftest import add_client
from tests.api.test_smooch_core import JS, declared_clients, install_smooch_core, node
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.fake_twilio import FakeTwilio
from tests.support.live import LiveServer, wait_until

LINK_PHONE = "+15145550101"
NOTIFY_PHONE = "+15145550199"
TEXT = "Your tacos are on their way!"


def run(server, app, phase, **env):
    result = subprocess.run(
        [node(), str(JS / "smooch_core_8_integrations.js")], cwd=JS, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "SERVICE_URL": server.url, "KEY_ID": app.test_key.key_id,
             "SECRET": app.test_secret, "APP_ID": app.id, "PHASE": phase, **env},
    )
    assert result.returncode == 0, f"{result.stderr}\n--- server log ---\n{server.output()[-3000:]}"
    return result.stdout, json.loads(result.stdout)


def ids(listed):
    return [i["_id"] for i in listed["integrations"]]


@pytest.mark.django_db(transaction=True)
def test_smooch_core_8_manages_integrations_links_and_notifies(team, make_app):
    install_smooch_core()
    assert declared_clients()["smooch-core-8"] == "8.11.4"
    app = make_app(team, "Tacos")
    steve = AppUser.objects.create(app=app, user_id="steve")
    add_client(steve, "web", "web-steve")
    telegram = FakeTelegram(https_only=False)  # the live server is on plain http://127.0.0.1
    twilio = FakeTwilio()
    server = LiveServer(worker=True, PARLEY_TELEGRAM_API_BASE=telegram.url, PARLEY_TWILIO_API_BASE=twilio.url)
    try:
        stdout, out = run(
            server, app, "setup", TELEGRAM_TOKEN=TOKEN, WRONG_TOKEN="987654321:" + "W" * 35,
            TWILIO_ACCOUNT_SID=twilio.account_sid, TWILIO_AUTH_TOKEN=twilio.auth_token,
            TWILIO_PHONE_NUMBER_SID=twilio.phone_number_sid, APP_USER_ID="steve", LINK_PHONE=LINK_PHONE,
            NOTIFY_PHONE=NOTIFY_PHONE,
        )
        tg, tw = out["telegram"]["integration"], out["twilio"]["integration"]

        # The notification's SMS, sent by the live server's worker.
        message = Message.objects.get(id=out["notification"]["notification"]["_id"])
        sms = wait_until(lambda: [s for s in twilio.sent() if s.get("To") == NOTIFY_PHONE], timeout=20,
                         message="the notification's SMS at the fake Twilio")
        wait_until(lambda: Delivery.objects.filter(message=message, state=DeliveryState.SENT).exists(),
                   timeout=10, message="the notification's delivery sent")
        # The integration each client was on, before the teardown deletes it.
        on_integration = dict(Client.objects.filter(app_user__app=app).values_list("external_id", "integration_id"))

        teardown_stdout, left = run(server, app, "teardown", TWILIO_ID=tw["_id"])
    finally:
        server.stop()
        telegram.close()
        twilio.close()

    # No secret in anything the client received.
    for text in (stdout, teardown_stdout):
        assert TOKEN not in text and twilio.auth_token not in text

    # create
    assert (tg["type"], tg["status"], tg["displayName"], tg["username"]) == ("telegram", "active", "Tacos Bot",
                                                                              "tacos_bot")
    assert tg["inboundUrl"] == f"{server.url}/integrations/telegram/{tg['_id']}/webhook"
    (set_webhook,) = telegram.calls("setWebhook")
    assert set_webhook["url"] == tg["inboundUrl"] and set_webhook["secret_token"]
    assert (tw["type"], tw["displayName"], tw["phoneNumber"], tw["accountSid"]) == (
        "twilio", "Support line", twilio.phone_number, twilio.account_sid)
    # list (types filter, paging), get, update
    assert ids(out["listed"]) == [tg["_id"], tw["_id"]]
    assert ids(out["listedTwilio"]) == [tw["_id"]]
    assert ids(out["listedBoth"]) == [tg["_id"], tw["_id"]]
    assert ids(out["listedTelegram"]) == [tg["_id"]]
    assert (ids(out["firstPage"]), out["firstPage"]["hasMore"]) == ([tg["_id"]], True)
    assert (ids(out["secondPage"]), out["secondPage"]["hasMore"]) == ([tw["_id"]], False)
    assert out["got"] == {"integration": tw}
    assert out["updated"]["integration"]["displayName"] == "Tacos support"
    # refusals, as the client reports them
    assert (out["badToken"]["status"], out["badToken"]["code"]) == (400, "platform_refused")
    assert "Unauthorized" in out["badToken"]["description"]
    assert (out["badUpdate"]["status"], out["badUpdate"]["code"]) == (400, "bad_request")
    assert out["missing"]["status"] == 404 and out["missing"]["code"] == "not_found"

    # linkChannel with skipConfirmation: linked at once, no confirmation SMS
    (shown,) = [c for c in out["linked"]["appUser"]["clients"] if c["platform"] == "twilio"]
    assert shown["integrationId"] == tw["_id"]
    linked = Client.objects.get(app_user=steve, platform="twilio")
    assert (linked.id, linked.external_id, linked.pending) == (shown["_id"], LINK_PHONE, False)
    assert not [s for s in twilio.sent() if s.get("To") == LINK_PHONE]

    # the notification: a new user and client, the SMS from the integration's number
    delivery = Delivery.objects.select_related("client").get(message=message)
    client = delivery.client
    assert (client.platform, client.external_id, client.pending) == ("twilio", NOTIFY_PHONE, False)
    assert on_integration[NOTIFY_PHONE] == on_integration[LINK_PHONE] == tw["_id"]
    assert client.app_user != steve and message.destination == {"integrationId": tw["_id"]}
    assert message.name == "Tacos"
    assert len(sms) == 1 and sms[0]["From"] == twilio.phone_number and TEXT in sms[0]["Body"]

    # delete: unregistered with each platform
    assert out["deletedTelegram"] == {} and ids(out["afterDelete"]) == [tw["_id"]]
    assert telegram.calls("deleteWebhook")
    assert left == {"deletedTwilio": {}, "left": {"integrations": [], "hasMore": False}}
    assert twilio.numbers[twilio.phone_number_sid]["sms_url"] == ""
    assert not Integration.objects.filter(app=app).exists()
    client.refresh_from_db()
    assert not client.active  # its integration is gone: no longer targeted
