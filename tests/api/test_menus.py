"""Persistent menus over the API (smooch-core's menu.* and
integrations.menu.*): the app's menu at /v1/menu and an integration's own
at /v1/integrations/{id}/menu; a bad menu is a 400 that changes nothing;
another app's integration is a 404."""

import pytest

from messaging.models import Integration, Menu
from tests.api.conftest import error_of

ITEMS = [{"type": "link", "text": "Smooch", "uri": "http://smooch.io"},
         {"type": "postback", "text": "Hello", "payload": "HELLO"}]


def test_the_app_menu_is_set_read_and_removed(api, app_jwt, app):
    assert api.get("/v1/menu", headers=app_jwt).data == {"menu": {"items": []}}
    answer = api.put("/v1/menu", {"name": "My Awesome Menu", "items": ITEMS}, headers=app_jwt)
    assert answer.status_code == 200, answer.content
    menu = answer.data["menu"]
    assert menu["name"] == "My Awesome Menu"
    assert [{k: v for k, v in item.items() if k != "_id"} for item in menu["items"]] == ITEMS
    assert all(len(item["_id"]) == 24 for item in menu["items"])
    assert Menu.objects.get(app=app, integration=None).items == menu["items"]
    assert api.get("/v1/menu", headers=app_jwt).data == {"menu": menu}

    # A client that reads, edits and writes back keeps its items' ids.
    edited = [menu["items"][1], {**menu["items"][0], "text": "Docs"}]
    again = api.put("/v1.1/menu", {"items": edited}, headers=app_jwt).data["menu"]
    assert again == {"items": edited}

    assert api.delete("/v1/menu", headers=app_jwt).data == {"menu": {"items": []}}
    assert not Menu.objects.filter(app=app).exists()
    assert api.get("/v1/menu", headers=app_jwt).data == {"menu": {"items": []}}


def test_an_item_keeps_only_what_its_type_carries(api, app_jwt, app):
    items = [{"type": "link", "text": " Site ", "uri": "https://shop.example", "payload": "IGNORED"}]
    menu = api.put("/v1/menu", {"items": items}, headers=app_jwt).data["menu"]
    assert [{k: v for k, v in item.items() if k != "_id"} for item in menu["items"]] == [
        {"type": "link", "text": "Site", "uri": "https://shop.example"}]


@pytest.mark.parametrize("body,description", [
    ({}, "items is required: 1 to 5 menu items."),
    ({"items": []}, "items must hold 1 to 5 menu items (0 given)."),
    ({"items": [ITEMS[1]] * 6}, "items must hold 1 to 5 menu items (6 given)."),
    ({"items": "menu"}, "items must be an array."),
    ({"items": [{"type": "reply", "text": "x", "payload": "X"}]}, "items[0].type must be link or postback."),
    ({"items": [{"type": "link", "text": "x"}]}, "items[0].uri is required."),
    ({"items": [{"type": "link", "text": "x", "uri": "javascript:alert(1)"}]},
     "items[0].uri must be an http or https URL."),
    ({"items": [{"type": "postback", "text": "x"}]}, "items[0].payload is required."),
    ({"items": [{"type": "postback", "payload": "X"}]}, "items[0].text is required."),
    ({"items": [{"type": "postback", "text": " ", "payload": "X"}]}, "items[0].text must be a non-empty string."),
    ({"items": [{"type": "postback", "text": "x" * 257, "payload": "X"}]},
     "items[0].text must be at most 256 characters."),
    ({"items": [{"type": "postback", "text": "x", "payload": "X", "icon": "y"}]},
     "icon is not a property of a menu item"),
    ({"items": ITEMS, "color": "red"}, "color is not a property of a menu (name, items)."),
    ({"items": ITEMS, "name": 3}, "name must be a string."),
])
def test_a_bad_menu_is_refused_and_nothing_changes(api, app_jwt, app, body, description):
    api.put("/v1/menu", {"items": ITEMS[:1]}, headers=app_jwt)
    before = Menu.objects.get(app=app).items
    status, code, text = error_of(api.put("/v1/menu", body, headers=app_jwt))
    assert (status, code) == (400, "bad_request"), text
    assert description in text, text
    assert Menu.objects.get(app=app).items == before


@pytest.fixture
def telegram(app):
    return Integration.objects.create(app=app, type="telegram", credentials={"token": "1:x"})


def test_an_integration_menu_overrides_the_apps_and_goes_when_deleted(api, app_jwt, app, telegram):
    url = f"/v1/integrations/{telegram.id}/menu"
    api.put("/v1/menu", {"items": ITEMS}, headers=app_jwt)
    assert api.get(url, headers=app_jwt).data == {"menu": {"items": []}}
    created = api.post(url, {"items": ITEMS[1:]}, headers=app_jwt)
    assert created.status_code == 201, created.content
    assert created.data["menu"]["items"][0]["payload"] == "HELLO"
    assert Menu.objects.get(integration=telegram).items == created.data["menu"]["items"]
    assert error_of(api.post(url, {"items": ITEMS}, headers=app_jwt))[:2] == (409, "conflict")

    updated = api.put(url, {"name": "Bot", "items": ITEMS[:1]}, headers=app_jwt).data["menu"]
    assert (updated["name"], updated["items"][0]["type"]) == ("Bot", "link")
    assert api.get(url, headers=app_jwt).data == {"menu": updated}
    # The app's menu is untouched by the integration's.
    assert len(api.get("/v1/menu", headers=app_jwt).data["menu"]["items"]) == 2

    assert api.delete(url, headers=app_jwt).data == {"menu": {"items": []}}
    assert not Menu.objects.filter(integration=telegram).exists()
    assert error_of(api.delete(url, headers=app_jwt))[:2] == (404, "not_found")


def test_an_account_key_reaches_its_apps_menus(api, account_jwt, app, telegram):
    answer = api.put(f"/v1/apps/{app.id}/menu", {"items": ITEMS}, headers=account_jwt)
    assert answer.status_code == 200, answer.content
    created = api.post(f"/v1/apps/{app.id}/integrations/{telegram.id}/menu", {"items": ITEMS}, headers=account_jwt)
    assert created.status_code == 201, created.content


def test_another_apps_integration_menu_is_a_404(api, app_jwt, app, other_app):
    theirs = Integration.objects.create(app=other_app, type="telegram", credentials={"token": "2:y"})
    Menu.objects.create(app=other_app, integration=theirs, items=[{"_id": "x", **ITEMS[1], "text": "secret B"}])
    url = f"/v1/integrations/{theirs.id}/menu"
    for call in (api.get, api.delete):
        assert error_of(call(url, headers=app_jwt))[:2] == (404, "not_found")
    for call in (api.post, api.put):
        assert error_of(call(url, {"items": ITEMS}, headers=app_jwt))[:2] == (404, "not_found")
    assert Menu.objects.get(integration=theirs).items[0]["text"] == "secret B"
    assert "secret B" not in str(api.get("/v1/menu", headers=app_jwt).content)


def test_the_widget_gets_the_app_menu_from_init(api, app_jwt, app):
    device = {"id": "03f70682b7f5b21536a3674f38b3e220", "platform": "web", "appVersion": "1.0"}
    before = api.post("/v1/init", {"device": device}, headers={"app-token": app.app_token})
    assert before.status_code == 200 and "menu" not in before.data["app"], before.content
    menu = api.put("/v1/menu", {"name": "Help", "items": ITEMS}, headers=app_jwt).data["menu"]
    after = api.post("/v1/init", {"device": device}, headers={"app-token": app.app_token})
    assert after.data["app"]["menu"] == menu
