"""An app's allowed origins (Web Messenger settings) hold on every call made
with a client credential (the app token, or the appUser JWT the widget sends
with it) that carries an Origin: a page of another site gets 403 with the
Smooch error body and changes nothing. Calls without an Origin (server SDKs,
native apps) and server calls with an app JWT are not concerned. Users are
anonymous or reached with their JWT (an app token alone never reaches a
userId when the app requires a user JWT)."""

import pytest

from messaging.models import AppUser, LogEntry, Message
from tests.api.conftest import error_of

SHOP = "https://shop.example"
EVIL = "https://evil.example"
REFUSED = (403, "forbidden", f"Origin {EVIL} is not allowed to embed this app")


@pytest.fixture
def shop_app(app):
    app.settings = {**(app.settings or {}), "allowedOrigins": [SHOP]}
    app.save(update_fields=["settings"])
    return app


@pytest.fixture
def anon(shop_app, make_user):
    """An anonymous user (no userId) with a web client."""
    return make_user(shop_app, None, clients=["web"])


def text(body="hi"):
    return {"role": "appUser", "type": "text", "text": body}


def test_a_message_from_another_origin_is_refused_and_stores_nothing(api, app_token, anon):
    response = api.post(f"/v1/appusers/{anon.id}/messages", text(), headers={**app_token, "Origin": EVIL})
    assert error_of(response) == REFUSED
    assert not Message.objects.exists()
    ok = api.post(f"/v1/appusers/{anon.id}/messages", text(), headers={**app_token, "Origin": SHOP})
    assert ok.status_code == 201, ok.content
    assert Message.objects.count() == 1


@pytest.mark.parametrize("origin", [EVIL, "null", "http://shop.example", "https://shop.example:8443",
                                    "https://www.shop.example"])
def test_only_the_exact_origin_passes(api, app_token, anon, origin):
    response = api.put(f"/v1/appusers/{anon.id}", {"email": "x@evil.example"},
                       headers={**app_token, "Origin": origin})
    assert error_of(response)[:2] == (403, "forbidden")
    anon.refresh_from_db()
    assert anon.email in ("", None)


def test_every_app_token_route_is_guarded(api, app_token, anon):
    headers = {**app_token, "Origin": EVIL}
    calls = [
        api.get(f"/v1/appusers/{anon.id}", headers=headers),
        api.get(f"/v1/appusers/{anon.id}/messages", headers=headers),
        api.get(f"/v1/appusers/{anon.id}/channels", headers=headers),
        api.post(f"/v1/appusers/{anon.id}/conversation/read", {}, headers=headers),
        api.post(f"/v1/appusers/{anon.id}/conversation/activity", {"type": "typing:start", "role": "appUser"},
                 headers=headers),
        api.post(f"/v1/appusers/{anon.id}/events", {"name": "clicked"}, headers=headers),
        api.put(f"/v1/appusers/{anon.id}/devices/d1", {"appVersion": "2"}, headers=headers),
        api.post("/v1/init", {"device": {"id": "d-evil", "platform": "web"}}, headers=headers),
    ]
    assert [error_of(response) for response in calls] == [REFUSED] * len(calls)
    assert list(AppUser.objects.values_list("pk", flat=True)) == [anon.pk]
    assert not LogEntry.objects.exclude(kind="auth:failure").exists()


def test_the_widgets_user_jwt_is_guarded_too(api, app_token, shop_app, user_jwt):
    AppUser.objects.create(app=shop_app, user_id="alice")
    headers = {**app_token, **user_jwt("alice")}
    assert error_of(api.get("/v1/appusers/alice", headers={**headers, "Origin": EVIL})) == REFUSED
    assert api.get("/v1/appusers/alice", headers={**headers, "Origin": SHOP}).status_code == 200


def test_calls_without_origin_and_server_jwts_are_not_concerned(api, app_token, app_jwt, anon):
    assert api.get(f"/v1/appusers/{anon.id}", headers=app_token).status_code == 200
    # A server call with an app JWT, even with an Origin (a server may send one).
    business = {"role": "appMaker", "type": "text", "text": "hello"}
    response = api.post(f"/v1/appusers/{anon.id}/messages", business, headers={**app_jwt, "Origin": EVIL})
    assert response.status_code == 201, response.content


def test_an_app_without_allowed_origins_takes_any(api, app_token, app, make_user):
    anon = make_user(app, None, clients=["web"])
    assert api.get(f"/v1/appusers/{anon.id}", headers={**app_token, "Origin": EVIL}).status_code == 200


def test_refusals_are_logged_at_most_once_a_minute_per_path(api, app_token, anon):
    for _ in range(5):
        api.get(f"/v1/appusers/{anon.id}", headers={**app_token, "Origin": EVIL})
    (entry,) = LogEntry.objects.filter(kind="auth:failure")
    assert entry.detail["status"] == 403 and EVIL in entry.detail["description"]


def test_the_preflight_cannot_know_the_app_and_the_refusal_is_readable(api, app_token, anon):
    """A preflight carries no credential: it is answered for any origin, and
    the call itself is refused with CORS headers, so the page's script (the
    widget) can read the reason."""
    preflight = api.options(f"/v1/appusers/{anon.id}/messages", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "app-token, content-type"})
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"
    refused = api.post(f"/v1/appusers/{anon.id}/messages", text(), headers={**app_token, "Origin": EVIL})
    assert error_of(refused) == REFUSED
    assert refused["Access-Control-Allow-Origin"] == "*"
