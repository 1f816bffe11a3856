"""menu.* and integrations.menu.* (both clients): the app's persistent
menu with the app key, an integration's own with the account key on v3
(its integrations are account scope only) and the app key on v8. A menu
set on an app with a Telegram bot reaches the fake Bot API as commands,
through the live server's worker."""

from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging.models import Integration, Menu
from tests.api.client_methods import case
from tests.support.fake_telegram import TOKEN
from tests.support.live import wait_until

BOTH = ("v3", "v8")
ITEMS = [{"type": "link", "text": "Shop", "uri": "https://shop.example/"},
         {"type": "postback", "text": "Talk to us", "payload": "HUMAN"}]
TALK = {"command": "talk_to_us", "description": "Talk to us"}


def _bot(t) -> Integration:
    return Integration.objects.create(app=t.app, type="telegram", credentials={"token": TOKEN})


def _settled():
    """Wait until the pushes the case enqueued have run: a task row the
    next case's flush deletes under the running worker stops that worker."""
    wait_until(lambda: not DBTaskResult.objects.filter(
        task_path="messaging.tasks.push_menu",
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]).exists(), message="the menu pushed")


def _menu_call(t, client, method, integration_id, *args, tenant=None):
    tenant = tenant or t
    if client == "v3":
        return tenant.call(client, method, tenant.app.id, integration_id, *args, as_="account")
    return tenant.call(client, method, integration_id, *args)


def _without_ids(items):
    return [{k: v for k, v in item.items() if k != "_id"} for item in items]


@case(*(f"{c} menu.configure" for c in BOTH))
def configure(t, client):
    _bot(t)
    answer = t.call(client, "menu.configure", {"name": "Help", "items": ITEMS})
    assert answer.ok and answer.body["menu"]["name"] == "Help", answer
    assert _without_ids(answer.body["menu"]["items"]) == ITEMS
    assert Menu.objects.get(app=t.app, integration=None).items == answer.body["menu"]["items"]
    wait_until(lambda: t.fakes["telegram"].commands == [TALK], message="the bot's commands set")
    refused = t.call(client, "menu.configure", {"items": [{"type": "link", "text": "x"}]})
    assert refused.status == 400 and "items[0].uri is required" in str(refused.body), refused
    _settled()


@case(*(f"{c} menu.get" for c in BOTH))
def get(t, client):
    empty = t.call(client, "menu.get")
    assert empty.ok and empty.body == {"menu": {"items": []}}, empty
    made = t.call(client, "menu.configure", {"items": ITEMS}).body["menu"]
    answer = t.call(client, "menu.get")
    assert answer.ok and answer.body == {"menu": made}, answer
    assert t.other().call(client, "menu.get").body == {"menu": {"items": []}}


@case(*(f"{c} menu.remove" for c in BOTH))
def remove(t, client):
    t.call(client, "menu.configure", {"items": ITEMS})
    answer = t.call(client, "menu.remove")
    assert answer.ok and answer.body == {"menu": {"items": []}}, answer
    assert not Menu.objects.filter(app=t.app).exists()


@case(*(f"{c} integrations.menu.create" for c in BOTH))
def integration_create(t, client):
    bot = _bot(t)
    answer = _menu_call(t, client, "integrations.menu.create", bot.id, {"items": ITEMS[1:]})
    assert answer.ok and _without_ids(answer.body["menu"]["items"]) == ITEMS[1:], answer
    assert Menu.objects.get(integration=bot).items == answer.body["menu"]["items"]
    wait_until(lambda: t.fakes["telegram"].commands == [TALK], message="the bot's commands set")
    again = _menu_call(t, client, "integrations.menu.create", bot.id, {"items": ITEMS})
    assert again.status == 409, again
    refused = _menu_call(t, client, "integrations.menu.create", bot.id, {"items": ITEMS}, tenant=t.other())
    assert refused.status == 404, refused
    _settled()


@case(*(f"{c} integrations.menu.get" for c in BOTH))
def integration_get(t, client):
    bot = _bot(t)
    empty = _menu_call(t, client, "integrations.menu.get", bot.id)
    assert empty.ok and empty.body == {"menu": {"items": []}}, empty
    made = _menu_call(t, client, "integrations.menu.create", bot.id, {"name": "Bot", "items": ITEMS}).body
    answer = _menu_call(t, client, "integrations.menu.get", bot.id)
    assert answer.ok and answer.body == made, answer
    refused = _menu_call(t, client, "integrations.menu.get", bot.id, tenant=t.other())
    assert refused.status == 404, refused
    _settled()


@case(*(f"{c} integrations.menu.update" for c in BOTH))
def integration_update(t, client):
    bot = _bot(t)
    _menu_call(t, client, "integrations.menu.create", bot.id, {"items": ITEMS})
    answer = _menu_call(t, client, "integrations.menu.update", bot.id, {"items": ITEMS[:1]})
    assert answer.ok and _without_ids(answer.body["menu"]["items"]) == ITEMS[:1], answer
    assert Menu.objects.get(integration=bot).items == answer.body["menu"]["items"]
    refused = _menu_call(t, client, "integrations.menu.update", bot.id, {"items": ITEMS}, tenant=t.other())
    assert refused.status == 404 and len(Menu.objects.get(integration=bot).items) == 1, refused
    _settled()


@case(*(f"{c} integrations.menu.delete" for c in BOTH))
def integration_delete(t, client):
    bot = _bot(t)
    _menu_call(t, client, "integrations.menu.create", bot.id, {"items": ITEMS})
    refused = _menu_call(t, client, "integrations.menu.delete", bot.id, tenant=t.other())
    assert refused.status == 404 and Menu.objects.filter(integration=bot).exists(), refused
    answer = _menu_call(t, client, "integrations.menu.delete", bot.id)
    assert answer.ok and answer.body == {"menu": {"items": []}}, answer
    assert not Menu.objects.filter(integration=bot).exists()
    _settled()