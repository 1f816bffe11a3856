"""Persistent menus pushed to the channels that have one, against their
fake platforms: Messenger's persistent menu (Messenger Profile API) and
Telegram's bot commands, each a `push_menu` task enqueued after the change
commits; a Telegram `/command` comes back as the menu item's postback."""

import json

import pytest
from django_tasks_db.models import DBTaskResult

from messaging.integrations.messenger import GET_STARTED, Messenger
from messaging.integrations.registry import REGISTRY
from messaging.integrations.telegram import Telegram, menu_commands
from messaging.models import Integration, LogEntry
from messaging.services import inbound, integrations, menus
from messaging.validators import validate_menu
from tests.support.fake_messenger import APP_ID, APP_SECRET, PAGE_ID
from tests.support.fake_messenger import TOKEN as PAGE_TOKEN
from tests.support.fake_telegram import TOKEN, message_update

pytestmark = pytest.mark.django_db

ITEMS = validate_menu({"items": [
    {"type": "link", "text": "Our shop on the web, open every day", "uri": "https://shop.example/"},
    {"type": "postback", "text": "Talk to a human", "payload": "HUMAN"},
    {"type": "postback", "text": "Öffnungszeiten!", "payload": "HOURS"},
]})["items"]


@pytest.fixture
def bot(app):
    return Integration.objects.create(app=app, type="telegram", credentials={"token": TOKEN})


@pytest.fixture
def page(app):
    return Integration.objects.create(app=app, type="messenger", details={"pageId": PAGE_ID},
                                      credentials={"pageAccessToken": PAGE_TOKEN, "appId": APP_ID,
                                                   "appSecret": APP_SECRET})


def pushes() -> list:
    return sorted(row.args_kwargs["args"][0] for row in DBTaskResult.objects.filter(
        task_path="messaging.tasks.push_menu"))


def test_a_change_enqueues_a_push_for_each_channel_showing_that_menu(app, bot, page, fake_twilio,
                                                                      django_capture_on_commit_callbacks):
    Integration.objects.create(app=app, type="twilio", credentials={})
    with django_capture_on_commit_callbacks(execute=True):
        menus.set_app_menu(app, name="", items=ITEMS)
    assert pushes() == sorted([bot.id, page.id])  # twilio shows no menu
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        menus.create_integration_menu(app, bot.id, name="", items=ITEMS[1:2])
    assert pushes() == [bot.id]
    DBTaskResult.objects.all().delete()
    # The bot's own menu overrides the app's: an app change no longer pushes to it.
    with django_capture_on_commit_callbacks(execute=True):
        menus.delete_app_menu(app)
    assert pushes() == [page.id]


def test_telegram_gets_the_postback_items_as_bot_commands(app, bot, telegram):
    menus.set_app_menu(app, name="", items=ITEMS)
    menus.push(bot.id)
    assert telegram.commands == [{"command": "talk_to_a_human", "description": "Talk to a human"},
                                 {"command": "offnungszeiten", "description": "Öffnungszeiten!"}]
    assert telegram.refusals() == []

    menus.create_integration_menu(app, bot.id, name="", items=validate_menu(
        {"items": [{"type": "link", "text": "Web", "uri": "https://shop.example/"}]})["items"])
    menus.push(bot.id)
    assert telegram.commands == [] and len(telegram.calls("deleteMyCommands")) == 1


def test_command_names_are_valid_and_unique_whatever_the_text():
    items = validate_menu({"items": [
        {"type": "postback", "text": "日本語", "payload": "A"},
        {"type": "postback", "text": "Start", "payload": "B"},
        {"type": "postback", "text": "Help me", "payload": "C"},
        {"type": "postback", "text": "help  ME!", "payload": "D"},
        {"type": "postback", "text": "x" * 40, "payload": "E"},
    ]})["items"]
    names = [command["command"] for command, _ in menu_commands({"items": items})]
    assert names == ["menu1", "menu2", "help_me", "menu4", "x" * 32]


def test_a_menu_command_comes_back_as_its_postback(app, bot, telegram, client):
    menus.set_app_menu(app, name="", items=ITEMS)
    for update_id, text in ((1, "/talk_to_a_human"), (2, "/offnungszeiten@tacos_bot"), (3, "/unknown")):
        answer = client.post(f"/integrations/telegram/{bot.id}/webhook",
                             data=json.dumps(message_update(update_id, text=text)),
                             content_type="application/json",
                             HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=bot.webhook_secret)
        assert answer.status_code == 200
    inbound.run_due()
    postbacks = LogEntry.objects.filter(kind="postback").order_by("id")
    assert [(p.detail["action"]["payload"], p.detail["action"]["text"]) for p in postbacks] == [
        ("HUMAN", "Talk to a human"), ("HOURS", "Öffnungszeiten!")]
    assert LogEntry.objects.filter(kind="message:appUser").count() == 1  # /unknown stays a message


def test_messenger_gets_a_persistent_menu_and_loses_it_on_delete(app, page, messenger):
    Messenger(page).register_webhook("https://parley.example/in")  # sets Get Started, as creation does
    assert messenger.profile["get_started"] == {"payload": GET_STARTED}
    menus.set_app_menu(app, name="", items=ITEMS)
    menus.push(page.id)
    assert messenger.profile["persistent_menu"] == [{"locale": "default", "composer_input_disabled": False,
                                                     "call_to_actions": [
        {"type": "web_url", "title": "Our shop on the web, open eve…", "url": "https://shop.example/",
         "webview_height_ratio": "full"},
        {"type": "postback", "title": "Talk to a human", "payload": "HUMAN"},
        {"type": "postback", "title": "Öffnungszeiten!", "payload": "HOURS"},
    ]}]
    menus.delete_app_menu(app)
    menus.push(page.id)
    assert "persistent_menu" not in messenger.profile and messenger.refusals() == []


def test_a_refused_push_is_logged_and_the_integration_stays_active(app, page, messenger):
    menus.set_app_menu(app, name="", items=ITEMS)
    menus.push(page.id)  # no Get Started button: Meta refuses the menu
    assert [r["path"] for r in messenger.refusals()] == ["/v23.0/me/messenger_profile"]
    entry = LogEntry.objects.get(kind="integration:error")
    assert "menu not pushed" in entry.summary and "Get Started button" in entry.summary
    assert PAGE_TOKEN not in json.dumps(entry.detail)
    page.refresh_from_db()
    assert page.status == "active"


def test_a_transient_failure_is_tried_again_later(app, bot, telegram, django_capture_on_commit_callbacks):
    menus.set_app_menu(app, name="", items=ITEMS)
    DBTaskResult.objects.all().delete()
    telegram.platform.fail_next(502, body={"ok": False, "error_code": 502, "description": "Bad Gateway"})
    with django_capture_on_commit_callbacks(execute=True):
        menus.push(bot.id)
    [retry] = DBTaskResult.objects.filter(task_path="messaging.tasks.push_menu")
    assert retry.args_kwargs["args"] == [bot.id, 2]
    assert not LogEntry.objects.filter(kind="integration:error").exists()


def test_the_channels_without_a_menu_say_so():
    assert Messenger.shows_menu and Telegram.shows_menu
    assert {t for t, cls in REGISTRY.items() if cls.shows_menu} == {"messenger", "telegram"}


def test_a_channel_connected_after_the_menu_was_set_gets_it(app, telegram, django_capture_on_commit_callbacks):
    menus.set_app_menu(app, name="", items=ITEMS)
    with django_capture_on_commit_callbacks(execute=True):
        bot = integrations.create_integration(app, {"type": "telegram", "token": TOKEN},
                                              base_url="https://parley.example")
    assert pushes() == [bot.id]
    menus.push(bot.id)
    assert [c["command"] for c in telegram.commands] == ["talk_to_a_human", "offnungszeiten"]
