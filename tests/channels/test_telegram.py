"""The Telegram channel against a fake Bot API on 127.0.0.1
(tests/support/fake_telegram.py): set-up, every message type as the fake
received it, errors mapped to a failure or a retry, typing and its repeat,
inbound updates verified (RequestFactory) and parsed."""

import json
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from messaging.delivery import send_typing, sending, timers
from messaging.integrations import registry
from messaging.integrations.base import InboundRefused
from messaging.integrations.telegram import ACTION_REF, Telegram
from messaging.models import AppUser, Delivery, Integration, LogEntry, Message, Timer
from messaging.services import inbound, integrations
from messaging.services.errors import ServiceError
from tests.support.fake_telegram import (
    PNG,
    TOKEN,
    callback_update,
    message_update,
    photo_sizes,
)
from tests.support.sending import deliver, queued, refusal
from tests.support.ws import make_client, make_user

pytestmark = pytest.mark.django_db

CHAT = "4242"


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="telegram", credentials={"token": TOKEN},
                                      display_name="Tacos Bot")


@pytest.fixture
def bot(integration):
    return Telegram(integration)


@pytest.fixture
def user(app):
    return make_user(app, "alice")


@pytest.fixture
def chat(user, integration):
    return make_client(user, "telegram", external_id=CHAT, integration=integration)


# Set-up.

def test_check_names_the_bot(telegram):
    connected = Telegram().check({"token": TOKEN})
    assert connected.display_name == "Tacos Bot"
    assert connected.details == {"username": "tacos_bot", "botId": 123456789}


@pytest.mark.parametrize("token, status", [
    ("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX", 401),  # a token of the right shape, not the bot's
    ("not-a-token", 404),
    ("../../getMe?x=", 404),  # stays one path segment
])
def test_check_refuses_a_wrong_token_in_plain_words(telegram, token, status):
    error = refusal(lambda: Telegram().check({"token": token}))
    assert error.code == "bad_credentials" and error.permanent and error.status == status
    assert "Telegram" in error.message and "token" in error.message
    [refused] = telegram.refusals()
    assert refused["status"] == status
    if status == 401:
        assert error.message == "Telegram refused the bot token (401 Unauthorized)"
        assert refused["answer"] == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_check_needs_a_token(telegram):
    assert refusal(lambda: Telegram().check({"token": " "})).code == "bad_credentials"
    assert telegram.platform.requests == []


def test_register_and_unregister_the_webhook(telegram, bot, integration):
    bot.register_webhook("https://parley.example/integrations/telegram/x/webhook")
    assert telegram.webhook == {"url": "https://parley.example/integrations/telegram/x/webhook",
                                "secret_token": integration.webhook_secret,
                                "allowed_updates": ["message", "callback_query"]}
    bot.unregister_webhook()
    assert telegram.webhook is None and len(telegram.calls("deleteWebhook")) == 1


def test_the_integrations_service_connects_a_bot_and_refuses_a_wrong_token(telegram, app):
    row = integrations.create_integration(app, {"type": "telegram", "token": f" {TOKEN} "},
                                          base_url="https://parley.example")
    assert (row.display_name, row.details) == ("Tacos Bot", {"username": "tacos_bot", "botId": 123456789})
    assert telegram.webhook == {"url": f"https://parley.example/integrations/telegram/{row.id}/webhook",
                                "secret_token": row.webhook_secret, "allowed_updates": ["message", "callback_query"]}
    with pytest.raises(ServiceError) as refused:
        integrations.create_integration(app, {"type": "telegram", "token": TOKEN[:-1] + "X"},
                                        base_url="https://parley.example")
    assert "Telegram refused the bot token (401 Unauthorized)" in str(refused.value)
    assert TOKEN[:-1] not in str(refused.value)
    integrations.delete_integration(row)
    assert telegram.webhook is None and not Integration.objects.filter(app=app).exists()


def test_the_fake_refuses_what_telegram_refuses(telegram, bot):
    error = refusal(lambda: bot.register_webhook("http://parley.example/hook"))
    assert error.permanent and "HTTPS URL must be provided" in error.message
    # A missing field, a text too long, data too long: as Telegram words them.
    error = refusal(lambda: bot._call("sendMessage", {"chat_id": CHAT}))
    assert error.code == "rejected" and error.message.endswith("Bad Request: message text is empty")
    error = refusal(lambda: bot._call("sendMessage", {"text": "hi"}))
    assert error.message.endswith("Bad Request: chat_id is empty")
    error = refusal(lambda: bot._call("sendMessage", {"chat_id": CHAT, "text": "x" * 4097}))
    assert error.message.endswith("Bad Request: message is too long")
    error = refusal(lambda: bot._call("sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": {
        "inline_keyboard": [[{"text": "Go", "callback_data": "x" * 65}]]}}))
    assert error.message.endswith("BUTTON_DATA_INVALID")
    error = refusal(lambda: bot._call("sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": {
        "inline_keyboard": [[{"text": "Go"}]]}}))
    assert "Text buttons are unallowed" in error.message
    assert telegram.calls("sendMessage") == []


# Sending.

def test_text_goes_with_sendMessage(telegram, chat, user):
    platform_id = deliver(user, type="text", text="Hello there")
    [call] = telegram.calls("sendMessage")
    assert call == {"chat_id": CHAT, "text": "Hello there"}
    assert platform_id == "1"


def test_the_engine_sends_and_records_the_message_id(telegram, chat, user):
    delivery = queued(user, type="text", text="Through the worker")
    sending.run_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.platform_message_id) == ("sent", "1")


def test_a_silent_copy_has_no_notification(telegram, chat, user):
    delivery = queued(user, type="text", text="Quietly")
    delivery.notify = False
    Telegram(chat.integration).send(delivery)
    [call] = telegram.calls("sendMessage")
    assert call["disable_notification"] is True


def test_long_text_is_split_in_messages_within_4096(telegram, chat, user):
    # Cut at a line break, then at a space, then (no separator) at the limit,
    # which counts UTF-16 code units as Telegram does: an emoji counts twice.
    text = "a" * 4000 + "\n" + "é" * 3000 + " " + "😀" * 2100
    platform_id = deliver(user, type="text", text=text, actions=[
        {"type": "link", "text": "More", "uri": "https://example.org/more"}])
    calls = telegram.calls("sendMessage")
    assert [c["text"] for c in calls] == ["a" * 4000, "é" * 3000, "😀" * 2048, "😀" * 52]
    assert platform_id == "1"
    # The buttons go on the last piece only.
    assert [("reply_markup" in c) for c in calls] == [False, False, False, True]


def test_link_and_postback_actions_are_an_inline_keyboard(telegram, chat, user):
    long_payload = "P" * 65
    deliver(user, type="text", text="Pick", actions=[
        {"type": "link", "text": "Menu", "uri": "https://example.org/menu"},
        {"type": "postback", "text": "Call me", "payload": "CALL_ME"},
        {"type": "postback", "text": "Long", "payload": long_payload},
        {"type": "postback", "text": "Lookalike", "payload": ACTION_REF + "x"},
    ])
    [call] = telegram.calls("sendMessage")
    message = Message.objects.get(text="Pick")
    long_id, lookalike_id = message.actions[2]["_id"], message.actions[3]["_id"]
    assert call["reply_markup"] == {"inline_keyboard": [
        [{"text": "Menu", "url": "https://example.org/menu"}],
        [{"text": "Call me", "callback_data": "CALL_ME"}],
        [{"text": "Long", "callback_data": ACTION_REF + long_id}],
        [{"text": "Lookalike", "callback_data": ACTION_REF + lookalike_id}],
    ]}


def test_a_payload_of_exactly_64_bytes_goes_as_it_is(telegram, chat, user):
    payload = "é" * 32  # 64 bytes, 32 characters
    deliver(user, type="text", text="Pick", actions=[{"type": "postback", "text": "Go", "payload": payload}])
    [call] = telegram.calls("sendMessage")
    assert call["reply_markup"]["inline_keyboard"] == [[{"text": "Go", "callback_data": payload}]]


def test_replies_and_location_requests_are_a_one_time_reply_keyboard(telegram, chat, user):
    deliver(user, type="text", text="Where?", actions=[
        {"type": "reply", "text": "Tacos", "payload": "TACOS"},
        {"type": "locationRequest", "text": "Send my location"},
    ])
    [call] = telegram.calls("sendMessage")
    assert call["reply_markup"] == {"keyboard": [[{"text": "Tacos"}],
                                                 [{"text": "Send my location", "request_location": True}]],
                                    "one_time_keyboard": True, "resize_keyboard": True}


def test_buttons_without_text_get_their_labels_as_text(telegram, chat, user):
    deliver(user, type="text", actions=[{"type": "postback", "text": "Yes", "payload": "Y"},
                                        {"type": "postback", "text": "No", "payload": "N"}])
    [call] = telegram.calls("sendMessage")
    assert call["text"] == "Yes\nNo"


def test_an_image_with_a_caption(telegram, chat, user):
    deliver(user, type="image", text="Look", mediaUrl="https://example.org/a.png", actions=[
        {"type": "postback", "text": "Like", "payload": "LIKE"}])
    [call] = telegram.calls("sendPhoto")
    assert call == {"chat_id": CHAT, "photo": "https://example.org/a.png", "caption": "Look",
                    "reply_markup": {"inline_keyboard": [[{"text": "Like", "callback_data": "LIKE"}]]}}
    assert telegram.calls("sendMessage") == []


def test_an_image_whose_text_is_over_the_caption_limit_sends_the_text_after(telegram, chat, user):
    text = "c" * 1025
    platform_id = deliver(user, type="image", text=text, mediaUrl="https://example.org/a.png", actions=[
        {"type": "link", "text": "Buy", "uri": "https://example.org/buy"}])
    [photo] = telegram.calls("sendPhoto")
    [message] = telegram.calls("sendMessage")
    assert "caption" not in photo and "reply_markup" not in photo
    assert message["text"] == text and message["reply_markup"]["inline_keyboard"][0][0]["text"] == "Buy"
    assert platform_id == "1"  # the photo, sent first


def test_a_carousel_is_one_message_per_item_with_its_buttons(telegram, chat, user):
    deliver(user, type="carousel", items=[
        {"title": "Tacos", "description": "Three of them", "mediaUrl": "https://example.org/t.png",
         "actions": [{"type": "postback", "text": "Order", "payload": "TACOS"}]},
        {"title": "Ramen", "actions": [{"type": "link", "text": "More info", "uri": "https://example.org/r"}]},
    ])
    [photo] = telegram.calls("sendPhoto")
    [text] = telegram.calls("sendMessage")
    assert photo["caption"] == "Tacos\nThree of them" and photo["photo"] == "https://example.org/t.png"
    assert photo["reply_markup"] == {"inline_keyboard": [[{"text": "Order", "callback_data": "TACOS"}]]}
    assert text["text"] == "Ramen"
    assert text["reply_markup"] == {"inline_keyboard": [[{"text": "More info", "url": "https://example.org/r"}]]}
    assert [r["method_name"] for r in telegram.platform.requests] == ["sendphoto", "sendmessage"]  # item order


def test_a_list_puts_its_text_first_and_its_own_actions_under_the_last_item(telegram, chat, user):
    deliver(user, type="list", text="Our menu", items=[
        {"title": "One", "actions": [{"type": "postback", "text": "Pick one", "payload": "1"}]},
        {"title": "Two", "actions": [{"type": "postback", "text": "Pick two", "payload": "2"}]},
    ], actions=[{"type": "link", "text": "Everything", "uri": "https://example.org/all"}])
    calls = telegram.calls("sendMessage")
    assert [c["text"] for c in calls] == ["Our menu", "One", "Two"]
    assert "reply_markup" not in calls[0]
    assert calls[2]["reply_markup"]["inline_keyboard"] == [
        [{"text": "Pick two", "callback_data": "2"}], [{"text": "Everything", "url": "https://example.org/all"}]]


def test_a_location_goes_with_sendLocation(telegram, chat, user, app):
    message = Message(app=app, app_user=user, role="appMaker", type="location",
                      coordinates={"lat": 45.5, "long": -73.6})
    Telegram(chat.integration).send(Delivery(message=message, client=chat, purpose="preferred"))
    [call] = telegram.calls("sendLocation")
    assert call == {"chat_id": CHAT, "latitude": 45.5, "longitude": -73.6}


# Errors.

def test_a_blocked_bot_fails_the_delivery_as_blocked(telegram, chat, user):
    telegram.block(CHAT)
    delivery = queued(user, type="text", text="Anyone?")
    error = refusal(lambda: Telegram(chat.integration).send(delivery))
    assert (error.code, error.permanent, error.status) == ("blocked", True, 403)
    assert "bot was blocked by the user" in error.message
    sending.run_due()
    delivery.refresh_from_db()
    chat.refresh_from_db()
    assert delivery.state == "failed" and delivery.error["code"] == "blocked"
    assert chat.unreachable == "blocked"  # nothing more is sent there until the user writes again
    assert len(telegram.refusals()) == 2  # the direct call, then the engine's: no more


def test_an_unknown_chat_is_a_permanent_refusal_in_telegrams_words(telegram, chat, user):
    telegram.forget(CHAT)
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent, error.status) == ("rejected", True, 400)
    assert error.message == "Telegram refused the call (400): Bad Request: chat not found"


def test_a_revoked_token_is_bad_credentials(telegram, chat, user, integration):
    integration.credentials = {"token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX"}
    integration.save()
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent) == ("bad_credentials", True)


def test_rate_limits_are_retried_after_telegrams_retry_after(telegram, chat, user):
    telegram.rate_limit(CHAT, retry_after=37)
    delivery = queued(user, type="text", text="Busy?")
    error = refusal(lambda: Telegram(chat.integration).send(delivery))
    assert (error.code, error.permanent, error.retry_after, error.status) == ("rate_limited", False, 37, 429)
    telegram.rate_limit(CHAT, retry_after=37)
    before = timezone.now()
    sending.run_due()
    delivery.refresh_from_db()
    assert delivery.state == "queued" and delivery.error["code"] == "rate_limited"
    assert delivery.next_attempt_at >= before + timedelta(seconds=37)


def test_server_errors_are_transient(telegram, chat, user):
    telegram.platform.fail_next(502, body={"ok": False, "error_code": 502, "description": "Bad Gateway"})
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.permanent, error.status) == (False, 502)


def test_a_client_without_integration_fails_clearly(telegram, user):
    client = make_client(user, "telegram", external_id="99")
    delivery = queued(user, type="text", text="Hi")
    assert delivery.client == client
    assert refusal(lambda: registry.for_client(client).send(delivery)).code == "no_integration"


# Typing.

def test_typing_start_is_a_chat_action_and_stop_sends_nothing(telegram, chat, bot):
    bot.send_typing(chat, "start")
    bot.send_typing(chat, "stop")
    assert telegram.calls("sendChatAction") == [{"chat_id": CHAT, "action": "typing"}]


def fire_repeats():
    """The next repeat is due: its timer fires."""
    Timer.objects.filter(kind="typing_repeat").update(due_at=timezone.now())
    timers.run_due()


def chat_actions(telegram) -> int:
    """Run the typing calls the engine queued (tasks, in the order queued:
    django-tasks-db's worker would close this test's transaction); how many
    Telegram took."""
    from django_tasks_db.models import DBTaskResult

    for row in DBTaskResult.objects.filter(task_path="messaging.tasks.send_platform_typing").order_by("enqueued_at"):
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
        row.delete()
    return len(telegram.calls("sendChatAction"))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block asks to run after commit
    (the typing tasks' enqueues) when it ends, as a commit would: the
    test's transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_typing_is_repeated_while_it_lasts(telegram, chat, user, settings, committed):
    settings.PARLEY_TYPING_TIMEOUT_SECONDS = 60
    with committed():
        send_typing(user, "typing:start")
    [repeat] = Timer.objects.filter(kind="typing_repeat", subject=user.id)
    assert timezone.now() + timedelta(seconds=4) < repeat.due_at <= timezone.now() + timedelta(seconds=4.5)
    assert repeat.data["clientId"] == chat.id
    with committed():
        fire_repeats()
    with committed():
        fire_repeats()
    assert Timer.objects.filter(kind="typing_repeat").count() == 1  # the next one
    assert chat_actions(telegram) == 3  # the start and two repeats
    assert telegram.calls("sendChatAction")[-1] == {"chat_id": CHAT, "action": "typing"}


@pytest.mark.parametrize("end", ["stop", "message", "timeout"])
def test_a_stop_a_message_or_the_timeout_ends_the_repeats(telegram, chat, user, end, committed):
    with committed():
        send_typing(user, "typing:start")
        if end == "stop":
            send_typing(user, "typing:stop")
        elif end == "message":
            queued(user, type="text", text="Here it is")
        else:
            Timer.objects.filter(kind="typing").update(due_at=timezone.now())
            timers.run_due()
    with committed():
        fire_repeats()
    assert not Timer.objects.filter(kind="typing_repeat").exists()
    assert chat_actions(telegram) == 1  # the start only (a stop sends nothing)


def test_a_new_start_moves_the_repeat(telegram, chat, user, committed):
    with committed():
        send_typing(user, "typing:start")
        send_typing(user, "typing:start")
    user.refresh_from_db()
    [repeat] = Timer.objects.filter(kind="typing_repeat")
    assert repeat.data["until"] == user.app_maker_typing_until.isoformat()
    with committed():
        fire_repeats()
    assert chat_actions(telegram) == 3


def test_no_repeat_is_due_past_the_end_of_typing(telegram, chat, user, settings, committed):
    settings.PARLEY_TYPING_TIMEOUT_SECONDS = 4  # shorter than one repeat
    with committed():
        send_typing(user, "typing:start")
    assert not Timer.objects.filter(kind="typing_repeat").exists()
    settings.PARLEY_TYPING_TIMEOUT_SECONDS = 10
    with committed():
        send_typing(user, "typing:start")
    # Time passes: typing ends in 3 s, sooner than the repeat after this one.
    until = timezone.now() + timedelta(seconds=3)
    AppUser.objects.filter(pk=user.pk).update(app_maker_typing_until=until)
    [repeat] = Timer.objects.filter(kind="typing_repeat")
    Timer.objects.filter(pk=repeat.pk).update(data={**repeat.data, "until": until.isoformat()})
    with committed():
        fire_repeats()
    assert not Timer.objects.filter(kind="typing_repeat").exists()
    assert chat_actions(telegram) == 3  # two starts, one repeat


def test_channels_shown_until_stopped_get_no_repeat(user, fake_platform_settings):
    make_client(user, "fake")
    send_typing(user, "typing:start")
    assert not Timer.objects.filter(kind="typing_repeat").exists()


@pytest.fixture
def fake_platform_settings(settings):
    settings.PARLEY_FAKE_API_BASE = "http://127.0.0.1:9"  # the calls are tasks this test does not run


# Inbound: verify.

def webhook(integration, body, secret=None, **headers):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if secret is not None:
        headers["HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"] = secret
    return RequestFactory().post(f"/integrations/telegram/{integration.id}/webhook", raw,
                                 content_type="application/json", **headers)


def test_verify_takes_an_update_with_the_right_secret(bot, integration):
    update = message_update(7, text="hi")
    [event] = bot.verify(webhook(integration, update, integration.webhook_secret))
    assert event.key == "7" and event.payload == update


@pytest.mark.parametrize("secret", ["missing", "", "wrong", "é", "its first characters"])
def test_verify_refuses_a_missing_or_wrong_secret_with_403(bot, integration, secret):
    secret = {"missing": None, "its first characters": integration.webhook_secret[:-1]}.get(secret, secret)
    with pytest.raises(InboundRefused) as refused:
        bot.verify(webhook(integration, message_update(7, text="hi"), secret))
    assert refused.value.status == 403


def test_verify_refuses_the_secret_of_another_integration(bot, integration, app):
    other = Integration.objects.create(app=app, type="telegram", credentials={"token": TOKEN})
    with pytest.raises(InboundRefused) as refused:
        bot.verify(webhook(integration, message_update(7, text="hi"), other.webhook_secret))
    assert refused.value.status == 403


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", b"\"text\"", {"message": {}}, {"update_id": "7"}, {"update_id": True},
    {"update_id": 7, "message": {"text": "no chat"}}, {"update_id": 7, "message": {"chat": {"id": "x"}}},
    {"update_id": 7, "callback_query": {"data": "x"}},
])
def test_verify_refuses_a_malformed_body_with_400(bot, integration, body):
    with pytest.raises(InboundRefused) as refused:
        bot.verify(webhook(integration, body, integration.webhook_secret))
    assert refused.value.status == 400


def test_verify_keeps_other_kinds_of_update(bot, integration):
    update = {"update_id": 8, "my_chat_member": {"chat": {"id": 1}}}
    [event] = bot.verify(webhook(integration, update, integration.webhook_secret))
    assert bot.parse(event.payload) == []


# Inbound: parse.

def test_a_text_message_with_the_users_names(bot):
    [event] = bot.parse(message_update(9, text="Hello bot"))
    assert (event.kind, event.external_id) == ("message", CHAT)
    assert event.data == {"text": "Hello bot", "platformMessageId": "1009", "displayName": "Alice Liddell",
                          "givenName": "Alice", "surname": "Liddell"}


def test_a_user_with_a_username_only(bot):
    [event] = bot.parse(message_update(9, text="hi", sender={"id": 4242, "is_bot": False, "first_name": "",
                                                              "username": "bob"}))
    assert event.data["displayName"] == "bob" and "givenName" not in event.data


@pytest.mark.parametrize("text, payload", [("/start", None), ("/start promo-42", "promo-42"),
                                           ("/start@tacos_bot", None)])
def test_start_is_a_conversation_start(bot, text, payload):
    [event] = bot.parse(message_update(10, text=text))
    assert (event.kind, event.external_id, event.data.get("payload")) == ("start", CHAT, payload)
    assert event.data["givenName"] == "Alice" and "text" not in event.data


def test_a_photo_is_fetched_largest_size_first_and_no_token_is_kept(telegram, bot):
    update = message_update(11, photo=photo_sizes(telegram, "cat"), caption="My cat")
    [event] = bot.parse(update)
    media = event.data.pop("media")
    assert (media.content, media.content_type, media.filename) == (PNG, "image/png", "cat_800.png")
    assert telegram.calls("getFile") == [{"file_id": "cat-800"}]
    assert event.data["text"] == "My cat"
    assert TOKEN not in json.dumps(event.data) and "/file/" not in json.dumps(event.data)
    [download] = [r for r in telegram.platform.requests if r["path"].startswith("/file/")]
    assert download["path"] == f"/file/bot{TOKEN}/photos/cat_800.png" and download["status"] == 200


def test_an_image_sent_as_a_file_is_fetched_too(telegram, bot):
    telegram.add_file("doc-1", "documents/file_3.png")
    update = message_update(12, document={"file_id": "doc-1", "file_unique_id": "u", "mime_type": "image/png",
                                          "file_name": "scan.png"})
    [event] = bot.parse(update)
    assert event.data["media"].content == PNG and "text" not in event.data


def test_a_photo_telegram_no_longer_has_is_a_permanent_error(telegram, bot):
    update = message_update(13, photo=[{"file_id": "gone", "file_unique_id": "u", "width": 1, "height": 1}])
    error = refusal(lambda: bot.parse(update))
    assert error.permanent and "invalid file_id" in error.message and TOKEN not in error.message


def test_a_file_gone_from_the_file_server_is_no_credentials_problem(telegram, bot):
    update = message_update(13, photo=photo_sizes(telegram, "dog"))
    telegram.expire_file("dog-800")
    error = refusal(lambda: bot.parse(update))
    assert (error.code, error.permanent, error.status) == ("rejected", True, 404)
    assert TOKEN not in error.message


def test_a_location_and_a_venue(bot):
    [event] = bot.parse(message_update(14, location={"latitude": 45.5, "longitude": -73.6}))
    assert event.data["coordinates"] == {"lat": 45.5, "long": -73.6} and "text" not in event.data
    [event] = bot.parse(message_update(15, location={"latitude": 1.5, "longitude": 2.5},
                                       venue={"location": {"latitude": 1.5, "longitude": 2.5},
                                              "title": "Tacos Inc", "address": "1 Main St"}))
    assert event.data["text"] == "Tacos Inc, 1 Main St"


def sent_with_buttons(telegram, bot, chat, user):
    deliver(user, type="text", text="Pick", actions=[
        {"type": "postback", "text": "Call me", "payload": "CALL_ME"},
        {"type": "postback", "text": "Long one", "payload": "L" * 100}])
    [call] = telegram.calls("sendMessage")
    return {"message_id": 1, "date": 0, "chat": {"id": int(CHAT), "type": "private"},
            "text": "Pick", "reply_markup": call["reply_markup"]}


def test_a_button_press_is_a_postback_and_is_answered(telegram, bot, chat, user):
    message = sent_with_buttons(telegram, bot, chat, user)
    [event] = bot.parse(callback_update(16, "CALL_ME", message))
    assert (event.kind, event.external_id) == ("postback", CHAT)
    assert event.data == {"payload": "CALL_ME", "text": "Call me", "displayName": "Alice Liddell",
                          "givenName": "Alice", "surname": "Liddell"}
    assert telegram.calls("answerCallbackQuery") == [{"callback_query_id": "cq-16"}]


def test_a_long_payload_comes_back_as_the_actions_id(telegram, bot, chat, user):
    message = sent_with_buttons(telegram, bot, chat, user)
    data = message["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    [event] = bot.parse(callback_update(17, data, message))
    action_id = Message.objects.get(text="Pick").actions[1]["_id"]
    assert event.data["actionId"] == action_id and "payload" not in event.data
    assert event.data["text"] == "Long one"


def test_a_failed_answer_does_not_lose_the_postback(telegram, bot, chat, user):
    message = sent_with_buttons(telegram, bot, chat, user)
    telegram.platform.fail_next(400, body={"ok": False, "error_code": 400,
                                           "description": "Bad Request: query is too old"})
    [event] = bot.parse(callback_update(18, "CALL_ME", message))
    assert event.data["payload"] == "CALL_ME"


def test_a_callback_without_data_is_answered_and_dropped(telegram, bot):
    update = callback_update(19, "", {"message_id": 1, "chat": {"id": 4242, "type": "private"}})
    del update["callback_query"]["data"]
    assert bot.parse(update) == [] and len(telegram.calls("answerCallbackQuery")) == 1


@pytest.mark.parametrize("content", [
    {"voice": {"file_id": "v", "duration": 2}},
    {"sticker": {"file_id": "s", "width": 1, "height": 1}},
    {"contact": {"phone_number": "+1555", "first_name": "Bob"}},
])
def test_other_messages_make_no_event(bot, content):
    assert bot.parse(message_update(20, **content)) == []


def test_a_sticker_with_an_emoji_is_its_emoji(bot):
    [event] = bot.parse(message_update(21, sticker={"file_id": "s", "emoji": "👍"}))
    assert event.data["text"] == "👍"


def test_edited_messages_make_no_event(bot):
    update = message_update(22, text="edited")
    update["edited_message"] = update.pop("message")
    assert bot.parse(update) == []


# Through the inbound endpoint and the engine.

def post_update(client, integration, update, secret=None):
    return client.post(f"/integrations/telegram/{integration.id}/webhook", data=json.dumps(update),
                       content_type="application/json",
                       HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret or integration.webhook_secret)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PARLEY_PUBLIC_URL = "https://parley.example"
    return tmp_path


def test_a_users_messages_reach_the_conversation(client, telegram, integration, media_root):
    assert post_update(client, integration, message_update(30, text="/start promo-42")).status_code == 200
    assert post_update(client, integration, message_update(31, text="Hello from Telegram")).status_code == 200
    update = message_update(32, photo=photo_sizes(telegram, "menu"), caption="This one")
    assert post_update(client, integration, update).status_code == 200
    assert post_update(client, integration, message_update(31, text="again")).status_code == 200  # a repeat
    assert post_update(client, integration, message_update(33, text="x"), secret="wrong").status_code == 403
    inbound.run_due()

    [alice] = AppUser.objects.filter(app=integration.app)
    assert (alice.given_name, alice.surname, alice.conversation_started) == ("Alice", "Liddell", True)
    [chat] = alice.clients.all()
    assert (chat.platform, chat.external_id, chat.integration_id) == ("telegram", CHAT, integration.id)
    start = LogEntry.objects.get(kind="conversation:start")
    assert start.detail["referral"] == {"code": "promo-42"}
    text, image = Message.objects.filter(app_user=alice).order_by("received")
    assert (text.role, text.text, text.source["type"]) == ("appUser", "Hello from Telegram", "telegram")
    assert (image.type, image.text) == ("image", "This one")
    assert image.media_url.startswith("https://parley.example/media/") and TOKEN not in image.media_url
    assert [p.read_bytes() for p in media_root.rglob("*.png")] == [PNG]


def test_a_button_press_reaches_the_engine_with_its_payload(client, telegram, integration, chat, user):
    message = sent_with_buttons(telegram, None, chat, user)
    long_ref = message["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    post_update(client, integration, callback_update(40, "CALL_ME", message))
    post_update(client, integration, callback_update(41, long_ref, message))
    inbound.run_due()
    postbacks = LogEntry.objects.filter(kind="postback").order_by("id")
    assert [(p.detail["action"]["payload"], p.detail["action"]["text"]) for p in postbacks] == [
        ("CALL_ME", "Call me"), ("L" * 100, "Long one")]
    assert [c["callback_query_id"] for c in telegram.calls("answerCallbackQuery")] == ["cq-40", "cq-41"]
