"""Link requests (GET .../linkrequest, v3's .../transferrequest): the links
and codes each linkable channel gets, and the way back: a Telegram
`/start <code>`, a Messenger m.me referral and a code texted over SMS join
the platform account to the app user the code names; a forged, foreign or
known account's code links nobody."""

import json
import time
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest

from messaging.integrations.base import link_ref, linked_app_user
from messaging.integrations.messenger import GET_STARTED
from messaging.models import AppUser, Client, Integration, LogEntry, Message
from messaging.services import inbound
from messaging.services.integrations import create_integration
from tests.api.conftest import error_of
from tests.support import fake_messenger
from tests.support.fake_graph import signed
from tests.support.fake_telegram import TOKEN as TELEGRAM_TOKEN, message_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(app):
    """One integration of each linkable type, with the details each link needs."""
    def make(type_, details, **credentials):
        return Integration.objects.create(app=app, type=type_, details=details, credentials=credentials)

    return {
        "messenger": make("messenger", {"pageId": fake_messenger.PAGE_ID}, pageAccessToken=fake_messenger.TOKEN,
                          appId=fake_messenger.APP_ID, appSecret=fake_messenger.APP_SECRET),
        "telegram": make("telegram", {"username": "tacos_bot"}, token=TELEGRAM_TOKEN),
        "viber": make("viber", {"uri": "tacosbot"}, token="viber-token"),
        "whatsapp": make("whatsapp", {"phoneNumber": "+1 555-010-0999"}),
        "twilio": make("twilio", {"phoneNumber": "+15145550199"}),
        "line": make("line", {"basicId": "@tacos"}),
    }


def link_requests(api, user, ids, headers):
    return api.get(f"/v1.1/appusers/{user.id}/linkrequest?integrationIds={','.join(ids)}", headers=headers)


def test_each_linkable_channel_gets_its_link_and_code(api, app_jwt, alice, channels):
    ids = [row.id for row in channels.values()]
    response = link_requests(api, alice, ids, app_jwt)
    assert response.status_code == 200, response.content
    answered = {r["type"]: r for r in response.data["linkRequests"]}
    assert [r["integrationId"] for r in response.data["linkRequests"]] == ids
    for type_, row in channels.items():
        assert linked_app_user(row, answered[type_]["code"]) == alice.id, type_
    code = {t: r["code"] for t, r in answered.items()}
    assert answered["messenger"]["url"] == f"https://m.me/{fake_messenger.PAGE_ID}?ref={code['messenger']}"
    assert answered["telegram"]["url"] == f"https://t.me/tacos_bot?start={code['telegram']}"
    assert answered["viber"]["url"] == f"viber://pa?chatURI=tacosbot&context={code['viber']}"
    assert answered["whatsapp"]["url"] == f"https://wa.me/15550100999?text={code['whatsapp']}"
    assert answered["twilio"]["url"] == f"sms:+15145550199?body={code['twilio']}"
    assert answered["line"]["url"] == f"https://line.me/R/oaMessage/%40tacos/?{code['line']}"
    # A code fits Telegram's start parameter: 64 characters of [A-Za-z0-9_-].
    assert all(len(c) <= 64 and c.replace("-", "").replace("_", "").isalnum() for c in code.values())
    # A code is for its own integration only.
    assert linked_app_user(channels["telegram"], code["messenger"]) == ""


def test_transfer_request_answers_every_integration_of_one_type(api, app_jwt, alice, channels):
    response = api.get(f"/v1/appusers/{alice.id}/transferrequest?type=telegram", headers=app_jwt)
    assert response.status_code == 200, response.content
    [request] = response.data["transferRequests"]
    assert request["integrationId"] == channels["telegram"].id
    assert linked_app_user(channels["telegram"], request["code"]) == alice.id
    assert error_of(api.get(f"/v1/appusers/{alice.id}/transferrequest?type=web", headers=app_jwt))[:2] == (
        400, "bad_request")
    assert error_of(api.get(f"/v1/appusers/{alice.id}/transferrequest", headers=app_jwt))[0] == 400


def test_refusals(api, app_jwt, alice, channels, other_app):
    theirs = Integration.objects.create(app=other_app, type="telegram", details={"username": "their_bot"})
    web = Integration.objects.create(app=alice.app, type="web")
    assert error_of(link_requests(api, alice, [theirs.id], app_jwt))[:2] == (404, "not_found")
    assert error_of(link_requests(api, alice, [channels["telegram"].id, "nope"], app_jwt))[0] == 404
    status, code, description = error_of(link_requests(api, alice, [web.id], app_jwt))
    assert (status, code) == (400, "bad_request") and "telegram" in description
    assert error_of(link_requests(api, alice, [], app_jwt))[0] == 400
    # Another app's user is not found with this app's key.
    response = api.get(f"/v1.1/appusers/{other_app.user.id}/linkrequest?integrationIds={channels['telegram'].id}",
                       headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")


def test_a_forged_or_stale_ref_names_nobody(channels, alice, monkeypatch):
    telegram = channels["telegram"]
    ref = link_ref(telegram, alice.id)
    assert linked_app_user(telegram, ref) == alice.id
    assert linked_app_user(telegram, ref[:-1] + ("A" if ref[-1] != "A" else "B")) == ""
    assert linked_app_user(telegram, ref.replace(alice.id, "0" * len(alice.id), 1)) == ""
    assert linked_app_user(telegram, "promo-42") == ""
    later = time.time() + 31 * 24 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert linked_app_user(telegram, ref) == ""


# The way back, through each platform's inbound endpoint and the engine.

def telegram_update(client, integration, update):
    response = client.post(f"/integrations/telegram/{integration.id}/webhook", data=json.dumps(update),
                           content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=integration.webhook_secret)
    assert response.status_code == 200
    inbound.run_due()


def code_for(api, headers, user, integration) -> str:
    response = link_requests(api, user, [integration.id], headers)
    return response.data["linkRequests"][0]["code"]


@pytest.fixture
def telegram_bot(app, telegram):
    return Integration.objects.create(app=app, type="telegram", credentials={"token": TELEGRAM_TOKEN},
                                      details={"username": "tacos_bot"}, webhook_secret="s3cret-token")


def test_telegram_start_with_the_code_links_the_chat_to_the_user(client, api, app_jwt, alice, telegram_bot):
    url = link_requests(api, alice, [telegram_bot.id], app_jwt).data["linkRequests"][0]["url"]
    code = parse_qs(urlsplit(url).query)["start"][0]
    telegram_update(client, telegram_bot, message_update(1, text=f"/start {code}"))
    chat = Client.objects.get(platform="telegram")
    assert (chat.app_user_id, chat.external_id) == (alice.id, "4242")
    assert AppUser.objects.filter(app=alice.app).count() == 1
    assert LogEntry.objects.filter(app_user=alice, kind="link:confirmed").exists()
    # The user's next message is in alice's conversation.
    telegram_update(client, telegram_bot, message_update(2, text="Hello"))
    assert Message.objects.get(text="Hello").app_user_id == alice.id


def test_telegram_start_with_a_forged_code_opens_a_conversation_of_its_own(client, api, app_jwt, alice,
                                                                           telegram_bot):
    code = code_for(api, app_jwt, alice, telegram_bot)
    telegram_update(client, telegram_bot, message_update(1, text=f"/start {code[:-2]}xx"))
    chat = Client.objects.get(platform="telegram")
    assert chat.app_user_id != alice.id
    start = LogEntry.objects.get(kind="conversation:start")
    assert start.detail["referral"] == {"code": f"{code[:-2]}xx"}  # a plain deep-link payload


def test_a_chat_known_already_stays_with_its_user(client, api, app_jwt, alice, telegram_bot):
    telegram_update(client, telegram_bot, message_update(1, text="Hi, I am new"))
    first = Client.objects.get(platform="telegram").app_user_id
    code = code_for(api, app_jwt, alice, telegram_bot)
    telegram_update(client, telegram_bot, message_update(2, text=f"/start {code}"))
    assert list(Client.objects.filter(platform="telegram").values_list("app_user_id", flat=True)) == [first]


@pytest.fixture
def page(app, messenger):
    return Integration.objects.create(app=app, type="messenger", details={"pageId": fake_messenger.PAGE_ID},
                                      credentials={"pageAccessToken": fake_messenger.TOKEN,
                                                   "appId": fake_messenger.APP_ID,
                                                   "appSecret": fake_messenger.APP_SECRET})


def messenger_event(client, integration, event):
    raw, headers = signed(fake_messenger.page_body(event), fake_messenger.APP_SECRET)
    response = client.post(f"/integrations/messenger/{integration.id}/webhook", data=raw,
                           content_type="application/json",
                           HTTP_X_HUB_SIGNATURE_256=headers["X-Hub-Signature-256"])
    assert response.status_code == 200
    inbound.run_due()


def test_a_messenger_referral_with_the_code_links_the_psid_to_the_user(client, api, app_jwt, alice, page):
    url = link_requests(api, alice, [page.id], app_jwt).data["linkRequests"][0]["url"]
    ref = parse_qs(urlsplit(url).query)["ref"][0]
    messenger_event(client, page, fake_messenger.referral(ref))
    psid = Client.objects.get(platform="messenger")
    assert (psid.app_user_id, psid.external_id) == (alice.id, fake_messenger.PSID)


def test_get_started_with_the_code_links_a_new_messenger_user(client, api, app_jwt, alice, page):
    code = code_for(api, app_jwt, alice, page)
    messenger_event(client, page, fake_messenger.postback("Get Started", GET_STARTED, ref=code))
    assert Client.objects.get(platform="messenger").app_user_id == alice.id


@pytest.fixture
def sms(app, fake_twilio):
    return create_integration(app, {"type": "twilio", **fake_twilio.credentials()}, base_url="https://parley.example")


def test_a_code_texted_over_sms_links_the_number_and_is_no_message(client, api, app_jwt, alice, sms, fake_twilio):
    url = link_requests(api, alice, [sms.id], app_jwt).data["linkRequests"][0]["url"]
    assert url.startswith("sms:+")
    code = unquote(url.split("body=")[1])
    params = fake_twilio.incoming(code, from_="+15145550142")
    response = client.post(f"/integrations/twilio/{sms.id}/webhook", data=urlencode(params),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE=fake_twilio.sign(sms.inbound_url, params))
    assert response.status_code == 200
    inbound.run_due()
    number = Client.objects.get(platform="twilio")
    assert (number.app_user_id, number.external_id) == (alice.id, "+15145550142")
    assert not Message.objects.exists()  # the code itself is not part of the conversation
