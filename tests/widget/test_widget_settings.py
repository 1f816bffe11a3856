"""The Web Messenger settings page: /apps/<id>/widget/."""

import pytest

from messaging.models import App

pytestmark = pytest.mark.django_db


def url(app):
    return f"/apps/{app.id}/widget/"


VALID = {
    "name": "Acme Support",
    "icon_url": "https://cdn.acme.example/icon.png",
    "accent_color": "#FF6600",
    "greeting": "Hi! Ask us anything.",
    "allowed_origins": "https://shop.acme.example\nhttp://localhost:3000\nhttps://shop.acme.example:443/",
}


def test_it_shows_the_settings_and_the_embed_snippet_to_members(client, owner, app):
    client.force_login(owner)
    response = client.get(url(app))
    assert response.status_code == 200
    body = response.content.decode()
    assert "/static/parley/messenger.js" in body
    assert app.app_token in body
    assert f"/demo/{app.id}/" in body
    assert 'name="accent_color"' in body


def test_it_is_404_for_another_teams_app(client, owner, stranger_app):
    client.force_login(owner)
    assert client.get(url(stranger_app)).status_code == 404
    assert client.post(url(stranger_app), VALID).status_code == 404
    stranger_app.refresh_from_db()
    assert stranger_app.settings.get("widget") in (None, {})


def test_it_is_404_for_an_unknown_app(client, owner):
    client.force_login(owner)
    assert client.get("/apps/nosuchapp/widget/").status_code == 404


def test_it_asks_anonymous_visitors_to_log_in(client, app):
    response = client.get(url(app))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_it_lets_an_agent_see_but_not_save(client, agent, app):
    client.force_login(agent)
    response = client.get(url(app))
    assert response.status_code == 200
    assert b'name="accent_color"' not in response.content
    assert b"Only owners and admins" in response.content
    assert client.post(url(app), VALID).status_code == 403
    app.refresh_from_db()
    assert not (app.settings or {}).get("widget")


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_it_saves_branding_and_origins(client, app, who, request):
    app.settings = {**app.settings, "failover": {"delay": 60, "chain": ["telegram"]}}
    app.save()
    client.force_login(request.getfixturevalue(who))
    response = client.post(url(app), VALID)
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.settings["widget"] == {
        "name": "Acme Support",
        "iconUrl": "https://cdn.acme.example/icon.png",
        "accentColor": "#ff6600",
        "greeting": "Hi! Ask us anything.",
    }
    # Normalised like a browser's Origin header, duplicates dropped.
    assert app.settings["allowedOrigins"] == ["https://shop.acme.example", "http://localhost:3000"]
    # Other settings are kept.
    assert app.settings["failover"] == {"delay": 60, "chain": ["telegram"]}
    page = client.get(url(app)).content.decode()
    assert "#ff6600" in page and "https://shop.acme.example" in page


def test_it_saves_with_htmx_and_renders_the_form_part(client, owner, app):
    client.force_login(owner)
    response = client.post(url(app), {**VALID, "allowed_origins": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="widget-form"')
    assert "Saved." in body
    app.refresh_from_db()
    assert app.settings["allowedOrigins"] == []


def test_it_clears_empty_values(client, owner, app):
    app.settings = {"widget": {"name": "Old", "greeting": "Old hello"}, "allowedOrigins": ["https://a.example"]}
    app.save()
    client.force_login(owner)
    client.post(url(app), {"name": "", "icon_url": "", "accent_color": "", "greeting": "", "allowed_origins": ""})
    app.refresh_from_db()
    assert app.settings["widget"] == {}
    assert app.settings["allowedOrigins"] == []


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("accent_color", "red", "#rrggbb"),
        ("accent_color", "#12345", "#rrggbb"),
        ("accent_color", "#12345g", "#rrggbb"),
        ("icon_url", "javascript:alert(1)", "http:// or https://"),
        ("icon_url", "ftp://files.example/icon.png", "http:// or https://"),
        ("allowed_origins", "shop.example", "is not an origin"),
        ("allowed_origins", "https://shop.example/path", "is not an origin"),
        ("allowed_origins", "ftp://shop.example", "is not an origin"),
        ("allowed_origins", "https://user@shop.example", "is not an origin"),
        ("allowed_origins", "https://shop.example:99999", "is not an origin"),
        ("allowed_origins", "https://bad_host!.example", "invalid host"),
        ("name", "x" * 101, "at most 100 characters"),
    ],
)
def test_it_refuses_bad_values_and_changes_nothing(client, owner, app, field, value, error):
    client.force_login(owner)
    response = client.post(url(app), {**VALID, field: value}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "errorlist" in body and error in body
    app.refresh_from_db()
    assert not (app.settings or {}).get("widget")
    assert not (app.settings or {}).get("allowedOrigins")


def test_saved_branding_reaches_v1_init(client, owner, app):
    client.force_login(owner)
    client.post(url(app), {**VALID, "allowed_origins": ""})
    response = client.post(
        "/v1/init",
        {"device": {"id": "device-1", "platform": "web"}},
        content_type="application/json",
        headers={"app-token": app.app_token, "origin": "https://anywhere.example"},
    )
    assert response.status_code == 200, response.content
    data = response.json()["app"]
    assert data["name"] == "Acme Support"
    assert data["accentColor"] == "#ff6600"
    assert data["greeting"] == "Hi! Ask us anything."
    assert data["iconUrl"] == "https://cdn.acme.example/icon.png"


def test_saved_origins_are_enforced_by_v1_init(client, owner, app):
    client.force_login(owner)
    client.post(url(app), VALID)
    init = lambda origin: client.post(  # noqa: E731
        "/v1/init",
        {"device": {"id": "device-1", "platform": "web"}},
        content_type="application/json",
        headers={"app-token": app.app_token, "origin": origin},
    )
    assert init("https://shop.acme.example").status_code == 200
    refused = init("https://evil.example")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert App.objects.get(pk=app.pk).app_users.count() == 1


def test_the_service_keeps_other_settings_and_checks_the_member(app, agent, owner):
    from messaging.models import Membership
    from messaging.services.apps import update_widget_settings
    from messaging.services.errors import PermissionDenied, ServiceError

    app.settings = {**app.settings, "logRetentionDays": 7}
    app.save()
    with pytest.raises(PermissionDenied):
        update_widget_settings(membership=Membership.objects.get(user=agent), app=app,
                               widget={"name": "Nope"}, allowed_origins=[])
    with pytest.raises(ServiceError):
        update_widget_settings(app=app, widget={"colour": "#000000"}, allowed_origins=[])
    update_widget_settings(membership=Membership.objects.get(user=owner), app=app,
                           widget={"name": "Acme", "greeting": ""}, allowed_origins=["https://shop.example"])
    app.refresh_from_db()
    assert app.settings["widget"] == {"name": "Acme"}
    assert app.settings["allowedOrigins"] == ["https://shop.example"]
    assert app.settings["logRetentionDays"] == 7
