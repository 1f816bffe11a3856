"""Tenancy over every route: a member of team A reaches nothing of team B.

The routes come from Django's URL resolver. Each must have a row in
ROUTES saying how it is scoped; a route without one fails
`test_every_route_has_a_tenancy_check`, so a new page cannot ship unchecked.

Checks:
- "tenant": a team B object in the URL answers 404 to team A (GET and POST,
  plain and htmx) and nothing of team B changes or shows.
- "public" / "own": not scoped to an app (login, sign-up, the user's own
  home...): nothing of team B shows.
- "capability": the URL itself is the secret (invitation/reset tokens,
  random media names); a made-up one is 404/200-without-B-data.
- "api": the REST API; a team A session or team A's app key never reaches
  team B (401/403/404, GET, POST and PATCH), nothing of team B shows. The
  inbox's PATCH .../conversation (an "api" route by its prefix) has its
  own checks below: app and account keys of team B get 404 for team A's
  users, and team B's notes and inbox events never reach team A's socket.
- "account-api": the REST API's team routes (apps and their keys): team A's
  account key reaches none of team B's apps or keys (404), lists and
  creates only in team A; an app-scope key (A's or B's) is refused (403).
- "staff": Django admin; a non-staff member is sent to the admin login.
And the websocket: team A's session cannot subscribe to team B's app group.
"""

import json
import re

import jwt
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern, URLResolver, get_resolver

from messaging.models import (
    ApiKey,
    App,
    AppUser,
    Integration,
    Delivery,
    Invitation,
    KeyScope,
    LogEntry,
    Membership,
    Message,
    MessageTemplate,
    Note,
    ServiceAccount,
    Team,
    Webhook,
    WebhookEvent,
)
from messaging.services import inbox, service_accounts, templates
from messaging.services.apps import create_key
from messaging.services.messages import post_message

HX = {"HTTP_HX_REQUEST": "true"}

# Route (as the resolver spells it) -> check. Dashboard routes first.
ROUTES = {
    # Live dashboard (this work).
    "apps/<str:app_id>/inbox/": "tenant",
    "apps/<str:app_id>/inbox/<str:view>/": "tenant",
    "apps/<str:app_id>/inbox/<str:view>/<str:user_id>/": "tenant",
    "apps/<str:app_id>/inbox/<str:view>/<str:user_id>/status/": "tenant",
    "apps/<str:app_id>/inbox/<str:view>/<str:user_id>/assign/": "tenant",
    "apps/<str:app_id>/overview/": "tenant",
    "apps/<str:app_id>/users/": "tenant",
    "apps/<str:app_id>/users/new/": "tenant",
    "apps/<str:app_id>/users/<str:user_id>/": "tenant",
    "apps/<str:app_id>/users/<str:user_id>/messages/": "tenant",
    "apps/<str:app_id>/users/<str:user_id>/messages/<str:message_id>/": "tenant",
    "apps/<str:app_id>/users/<str:user_id>/send/": "tenant",
    "apps/<str:app_id>/users/<str:user_id>/typing/": "tenant",
    "apps/<str:app_id>/users/<str:user_id>/avatar/": "tenant",
    "apps/<str:app_id>/users/<str:user_id>/deliveries/<int:delivery_id>/resend/": "tenant",
    "apps/<str:app_id>/canned/": "tenant",
    "apps/<str:app_id>/canned/<str:template_id>/delete/": "tenant",
    "apps/<str:app_id>/log/": "tenant",
    "apps/<str:app_id>/log/retention/": "tenant",
    # Accounts, teams, apps, keys (accounts work).
    "login/": "public",
    # The operator's probes: no team's data; /readyz and /metrics only to
    # PARLEY_OPS_ALLOW or the ops token (tests/ops/).
    "healthz": "public",
    "readyz": "public",
    "metrics": "public",
    "logout/": "public",
    "signup/": "public",
    "password-reset/": "public",
    "password-reset/sent/": "public",
    "reset/<uidb64>/<token>/": "capability",
    "reset/done/": "public",
    "invite/<str:token>/": "capability",
    "": "own",
    "teams/new/": "own",
    "teams/<int:team_id>/": "tenant",
    "teams/<int:team_id>/invite/": "tenant",
    "teams/<int:team_id>/invitations/<int:invitation_id>/cancel/": "tenant",
    "teams/<int:team_id>/members/<int:member_id>/role/": "tenant",
    "teams/<int:team_id>/members/<int:member_id>/remove/": "tenant",
    "teams/<int:team_id>/settings/": "tenant",
    "teams/<int:team_id>/settings/name/": "tenant",
    "teams/<int:team_id>/audit/": "tenant",
    "teams/<int:team_id>/keys/": "tenant",
    "teams/<int:team_id>/keys/<str:key_id>/revoke/": "tenant",
    "teams/<int:team_id>/service-accounts/": "tenant",
    "teams/<int:team_id>/service-accounts/<str:service_account_id>/delete/": "tenant",
    "teams/<int:team_id>/service-accounts/<str:service_account_id>/keys/": "tenant",
    "teams/<int:team_id>/service-accounts/<str:service_account_id>/keys/<str:key_id>/revoke/": "tenant",
    "teams/<int:team_id>/apps/new/": "tenant",
    "apps/<str:app_id>/": "tenant",
    "apps/<str:app_id>/settings/": "tenant",
    "apps/<str:app_id>/settings/name/": "tenant",
    "apps/<str:app_id>/settings/user-jwt/": "tenant",
    "apps/<str:app_id>/delete/": "tenant",
    "apps/<str:app_id>/keys/": "tenant",
    "apps/<str:app_id>/keys/<str:key_id>/revoke/": "tenant",
    # Web Messenger pages (widget work). The demo page is public by design:
    # it shows only the app token every embedded widget carries.
    "apps/<str:app_id>/widget/": "tenant",
    "demo/<str:app_id>/": "public",
    # Uploaded images: random, never reused names.
    "media/^(?P<name>.+)$": "capability",
    # Channels pages (integrations).
    "apps/<str:app_id>/integrations/": "tenant",
    "apps/<str:app_id>/integrations/new/": "tenant",
    "apps/<str:app_id>/integrations/new/<str:type_>/": "tenant",
    "apps/<str:app_id>/integrations/<str:integration_id>/": "tenant",
    "apps/<str:app_id>/integrations/<str:integration_id>/check/": "tenant",
    "apps/<str:app_id>/integrations/<str:integration_id>/edit/": "tenant",
    "apps/<str:app_id>/integrations/<str:integration_id>/delete/": "tenant",
    # Webhooks pages.
    "apps/<str:app_id>/webhooks/": "tenant",
    "apps/<str:app_id>/webhooks/new/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/edit/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/enable/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/delete/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/secrets/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/secrets/rotate/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/signing-secret/rotate/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/test/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/events/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/events/<int:event_id>/redeliver/": "tenant",
    "apps/<str:app_id>/webhooks/<str:webhook_id>/redeliver/": "tenant",
    # A platform's inbound webhook: its signature (checked against the
    # integration's own secret, tests/delivery/test_inbound.py) is the capability.
    "integrations/<str:type>/<str:integration_id>/webhook": "capability",
    # Viber's QR code link (smooch-core 8.x appUsers.viber.getQRCode): an
    # app user of another app is a 404 (tests/channels/test_viber_inbound.py).
    **{f"{version}/^{prefix}app[uU]sers/(?P<appUserId>[^/]+)/integrations/viber/qrcode$": "api"
       for version in ("v1", "v1.1") for prefix in ("", "apps/(?P<appId>[^/]+)/")},
    # An email link confirmation: the signed token is the capability (a
    # made-up or altered one is 404, tests/api/test_channels_email.py).
    "integrations/email/confirm/<str:token>": "capability",
    # The REST API's team routes: apps and their keys, account scope only.
    **{f"{version}/{route}": "account-api" for version in ("v1", "v1.1") for route in (
        "^apps$",
        "^apps/(?P<appId>[^/]+)$",
        "^apps/(?P<appId>[^/]+)/sdks$",
        "^apps/(?P<appId>[^/]+)/keys$",
        "^apps/(?P<appId>[^/]+)/keys/(?P<keyId>[^/]+)$",
        "^apps/(?P<appId>[^/]+)/keys/(?P<keyId>[^/]+)/jwt$",
        "^serviceaccounts$",
        "^serviceaccounts/(?P<serviceAccountId>[^/]+)$",
        "^serviceaccounts/(?P<serviceAccountId>[^/]+)/keys$",
        "^serviceaccounts/(?P<serviceAccountId>[^/]+)/keys/(?P<keyId>[^/]+)$",
        "^serviceaccounts/(?P<serviceAccountId>[^/]+)/keys/(?P<keyId>[^/]+)/jwt$",
    )},
}
# Whole families, by prefix.
PREFIXES = {"admin/": "staff", "v1/": "api", "v1.1/": "api"}


def all_routes():
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    return list(dict.fromkeys(walk(get_resolver().url_patterns)))


def check_for(route: str) -> str | None:
    if route in ROUTES:
        return ROUTES[route]
    for prefix, check in PREFIXES.items():
        if route.startswith(prefix):
            return check
    return None


def test_every_route_has_a_tenancy_check():
    missing = [r for r in all_routes() if check_for(r) is None]
    assert not missing, f"routes with no tenancy check in tests/live/test_tenancy.py ROUTES: {missing}"


@pytest.fixture
def team_b(stranger, stranger_team, stranger_app, bob):
    """Team B's objects, named like the URL kwargs they fill."""
    account_key, _ = create_key(team=stranger_team, scope=KeyScope.ACCOUNT, name="b-account")
    service_account = service_accounts.create_service_account(team=stranger_team, name="team B service account",
                                                              membership=None)
    service_account_key, _ = service_accounts.create_key(account=service_account, name="b-sa", membership=None)
    invitation = Invitation.objects.create(team=stranger_team, email="someone@b.example")
    answer = post_message(bob, role="appMaker", fields={"type": "text", "text": "team B answer"})
    delivery = Delivery.objects.filter(message=answer).first() or Delivery.objects.create(
        message=answer, client=bob.clients.get(), purpose="preferred", state="failed", error={"message": "x"}
    )
    Delivery.objects.filter(pk=delivery.pk).update(state="failed")
    webhook = Webhook.objects.create(app=stranger_app, target="https://b.example/hook", triggers=["message"])
    event = WebhookEvent.objects.create(app=stranger_app, webhook=webhook, trigger="message:appMaker",
                                        payload={"trigger": "message:appMaker", "text": "team B answer"},
                                        state="failed")
    integration = Integration.objects.create(app=stranger_app, type="fake", display_name="team B channel",
                                             credentials={"apiKey": "team B secret", "account": "b"})
    # Team B's inbox: bob resolved, assigned to their member, with a private note.
    b_member = Membership.objects.select_related("user").get(user=stranger)
    inbox.update_conversation(bob, {"status": "resolved", "assignee_email": stranger.email}, by=b_member)
    inbox.add_note(bob, b_member, "team B note")
    canned = templates.create_template(stranger_app, name="team B canned", message={"type": "text",
                                                                                   "text": "team B reply"})
    return {
        "template_id": canned.id,
        "integration_id": integration.id,
        "webhook_id": webhook.id,
        "event_id": event.id,
        "webhook_secrets": [webhook.secret, webhook.signing_secret],
        "type_": "fake",
        "type": "fake",
        "app_id": stranger_app.id,
        "team_id": stranger_team.id,
        "user_id": bob.id,
        "message_id": answer.id,
        "delivery_id": delivery.id,
        "invitation_id": invitation.id,
        "member_id": Membership.objects.get(user=stranger).id,
        "account_key": account_key.key_id,
        "service_account_id": service_account.id,
        "service_account_key": service_account_key.key_id,
        "serviceAccountId": service_account.id,
        "app_key": stranger_app.test_key.key_id,
        "token": invitation.token,
        "uidb64": "MQ",
        # REST API names.
        "appId": stranger_app.id,
        "appUserId": bob.id,
        "messageId": answer.id,
        "deliveryId": str(delivery.id),
        "webhookId": webhook.id,
        "eventId": str(event.pk),
        "integrationId": integration.id,
        "templateId": canned.id,
        "keyId": stranger_app.test_key.key_id,
        "deviceId": bob.clients.get().external_id,
        "view": "resolved",
        "channel": "web",
        "rest": "apps",
        "name": "uploads/nothing-here.png",
    }


# What must never appear in a response to team A.
def secrets_of_b(team_b):
    return [team_b["user_id"], "bob-secret", "team B secret", "team B answer", "bob@b.example",
            "https://b.example/hook", "team B note", "team B canned", "team B reply", "stranger@b.example", "team B service account", *team_b["webhook_secrets"]]


def fill(route: str, values: dict) -> str:
    """A concrete path from a route, with team B's objects."""
    path = route
    for name in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if name == "key_id" and "service-accounts/" in route:
            value = values["service_account_key"]
        elif name == "key_id":
            value = values["app_key"] if route.startswith("apps/") else values["account_key"]
        else:
            value = values.get(name, "1")
        path = re.sub(r"<(?:\w+:)?" + name + ">", str(value), path)
    # Regex routes (API, media): named groups, then anchors and escapes.
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values.get(m.group(1), "1")), path)
    path = path.replace("^", "").replace("$", "").replace("\\", "").replace("[uU]", "U")
    return "/" + path


def state_of_b(team_b):
    return {
        "apps": list(App.objects.values_list("id", "name", "settings", "require_user_jwt").order_by("id")),
        "users": list(AppUser.objects.values_list("id", "user_id", "given_name", "status", "snoozed_until",
                                                  "assignee_id").order_by("id")),
        "notes": list(Note.objects.values_list("id", "app_user_id", "text").order_by("id")),
        "templates": list(MessageTemplate.objects.values_list("id", "app_id", "name", "message").order_by("id")),
        "messages": list(Message.objects.values_list("id", "text").order_by("id")),
        "deliveries": list(Delivery.objects.values_list("id", "state").order_by("id")),
        "keys": list(ApiKey.objects.values_list("key_id", "revoked_at").order_by("key_id")),
        "service_accounts": list(ServiceAccount.objects.values_list("id", "name").order_by("id")),
        "members": list(Membership.objects.values_list("id", "role").order_by("id")),
        "invitations": list(Invitation.objects.values_list("id", "accepted_at").order_by("id")),
        "teams": list(Team.objects.values_list("id", "name").order_by("id")),
        "typing": LogEntry.objects.filter(kind="typing:appMaker").count(),
        "integrations": list(Integration.objects.values_list("id", "display_name", "status").order_by("id")),
        "webhooks": list(Webhook.objects.values_list("id", "target", "triggers", "enabled", "secret",
                                                     "signing_secret").order_by("id")),
        "webhook_events": list(WebhookEvent.objects.values_list("id", "state", "attempts", "retry_base",
                                                                "next_attempt_at").order_by("id")),
    }


POST_DATA = {
    "name": "Pwned", "email": "x@a.example", "role": "admin", "confirm_name": "App B", "days": "1",
    "type": "text", "text": "intruder", "user_id": "intruder", "action": "typing:start", "q": "bob",
    "target": "https://a.example/pwned", "triggers": "*", "enabled": "on", "since": "2000-01-01T00:00",
}


def dashboard_routes(kind):
    return [r for r in all_routes() if check_for(r) == kind]


@pytest.mark.django_db
@pytest.mark.parametrize("route", dashboard_routes("tenant"))
def test_team_a_gets_404_for_team_bs_objects_on_every_scoped_route(client, owner, agent, team_b, route):
    path = fill(route, team_b)
    for user in (owner, agent):
        client.force_login(user)
        before = state_of_b(team_b)
        for method, headers in (("get", {}), ("get", HX), ("post", {}), ("post", HX)):
            call = getattr(client, method)
            response = call(path, POST_DATA, **headers) if method == "post" else call(path, **headers)
            assert response.status_code in (404, 405), (method, path, response.status_code)
            if response.status_code == 405:
                continue
            body = response.content.decode(errors="replace")
            for secret in secrets_of_b(team_b):
                assert secret not in body, (path, secret)
        assert state_of_b(team_b) == before, path


@pytest.mark.django_db
@pytest.mark.parametrize("route", dashboard_routes("public") + dashboard_routes("own") + dashboard_routes("capability"))
def test_unscoped_routes_show_nothing_of_team_b(owner_client, team_b, route):
    path = fill(route, team_b)
    if route.startswith("invite/"):
        # The token is the capability; a guessed one is refused.
        path = "/invite/not-a-real-token/"
    response = owner_client.get(path)
    assert response.status_code in (200, 302, 404, 405), (path, response.status_code)
    body = response.content.decode(errors="replace")
    for secret in secrets_of_b(team_b):
        assert secret not in body, (path, secret)


@pytest.mark.django_db
def test_home_lists_only_team_as_apps(owner_client, app, team_b):
    body = owner_client.get("/").content.decode()
    assert app.name in body and "App B" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("route", dashboard_routes("api"))
def test_the_api_never_gives_team_a_team_bs_data(owner_client, app, team_b, route):
    path = fill(route, team_b)
    token = jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256", headers={"kid": app.test_key.key_id})
    before = state_of_b(team_b)
    patch = {"data": json.dumps({"status": "open", "assigneeEmail": "owner@a.example"}),
             "content_type": "application/json"}
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {token}"}):
        for method in ("get", "post", "patch"):
            extra = patch if method == "patch" else {}
            response = getattr(owner_client, method)(path, **extra, **headers)
            if not re.search(r"\(\?P<", route):
                # No team B object in the URL: A's own app at most (or what
                # Parley deliberately refuses: 501, messaging/api/views/refusals.py).
                assert response.status_code < 500 or (
                    response.status_code == 501 and response.json()["error"]["code"] == "not_implemented")
            else:
                assert response.status_code in (400, 401, 403, 404, 405), (method, path, response.status_code)
            body = response.content.decode(errors="replace")
            for secret in secrets_of_b(team_b):
                assert secret not in body, (path, secret)
    assert state_of_b(team_b) == before


@pytest.mark.django_db
@pytest.mark.parametrize("route", dashboard_routes("account-api"))
def test_an_account_key_never_reaches_another_teams_apps_or_keys(client, team, app, stranger_app, team_b, route):
    account_key, account_secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="a-account")
    as_team_a = {"HTTP_AUTHORIZATION": "Bearer " + jwt.encode(
        {"scope": "account"}, account_secret, algorithm="HS256", headers={"kid": account_key.key_id})}
    app_keys = [jwt.encode({"scope": "app"}, a.test_secret, algorithm="HS256", headers={"kid": a.test_key.key_id})
                for a in (app, stranger_app)]
    secrets = [*secrets_of_b(team_b), stranger_app.app_token, stranger_app.test_secret, stranger_app.id,
               stranger_app.test_key.key_id]
    path = fill(route, team_b)
    before = state_of_b(team_b)
    b_apps = list(App.objects.filter(team=stranger_app.team).values_list("id", "name"))
    for method in ("get", "post", "put", "delete"):
        call = getattr(client, method)
        for headers in [as_team_a] + [{"HTTP_AUTHORIZATION": f"Bearer {token}"} for token in app_keys]:
            response = call(path, '{"name": "Pwned"}', content_type="application/json", **headers) \
                if method != "get" else call(path, **headers)
            body = response.content.decode(errors="replace")
            for secret in secrets:
                assert secret not in body, (method, path, secret)
            if headers is not as_team_a:
                assert response.status_code in (403, 405), (method, path, response.status_code)
            elif "(?P<" in route:
                assert response.status_code in (404, 405), (method, path, response.status_code)
            else:  # /apps itself: team A's own apps only
                assert response.status_code in (200, 201, 405), (method, path, response.status_code)
    if "(?P<" in route:
        assert state_of_b(team_b) == before, path
    assert list(App.objects.filter(team=stranger_app.team).values_list("id", "name")) == b_apps
    assert not ApiKey.objects.filter(team=stranger_app.team, revoked_at__isnull=False).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("route", dashboard_routes("staff"))
def test_admin_needs_staff(owner_client, team_b, route):
    path = fill(route, {**team_b, "app_label": "messaging", "url": "x"})
    response = owner_client.get(path)
    for secret in secrets_of_b(team_b):
        assert secret not in response.content.decode(errors="replace")
    if route in ("admin/login/", "admin/logout/"):
        assert response.status_code < 500
        return
    assert response.status_code in (302, 404), (path, response.status_code)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]


# ------------------------------------------------------------- websockets


def session_headers(client, user):
    client.force_login(user)
    return [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]


async def _connect(headers, app_id):
    from dashboard.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/dashboard/events/{app_id}/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


@pytest.mark.django_db(transaction=True)
def test_team_a_cannot_subscribe_to_team_bs_app(client, owner, app, team_b):
    from messaging import events

    headers = session_headers(client, owner)

    async def scenario():
        communicator, connected, _ = await _connect(headers, team_b["app_id"])
        assert not connected
        await communicator.disconnect()
        # A's own app works, and carries A's events only.
        mine, connected, _ = await _connect(headers, app.id)
        assert connected
        assert (await mine.receive_json_from(timeout=5))["type"] == "ready"
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        await layer.group_send(events.app_group(team_b["app_id"]), {
            "type": "parley.event", "kind": "message:appUser", "appId": team_b["app_id"],
            "appUserId": team_b["user_id"], "logId": 1, "summary": "team B secret", "detail": {}})
        await layer.group_send(events.app_group(app.id), {
            "type": "parley.event", "kind": "appUser:created", "appId": app.id,
            "appUserId": "a" * 24, "logId": 2, "summary": "A's event", "detail": {}})
        frame = await mine.receive_json_from(timeout=5)
        assert frame["summary"] == "A's event"
        assert await mine.receive_nothing(timeout=0.3)
        await mine.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_anonymous_and_foreign_origin_sockets_are_refused(client, owner, app):
    async def scenario(headers):
        communicator, connected, _ = await _connect(headers, app.id)
        await communicator.disconnect()
        return connected

    assert not async_to_sync(scenario)([(b"origin", b"http://127.0.0.1")])
    headers = session_headers(client, owner)
    foreign = [(b"origin", b"https://evil.example")] + headers[1:]
    assert not async_to_sync(scenario)(foreign)
    assert async_to_sync(scenario)(headers)


@pytest.mark.django_db
def test_searching_team_as_app_never_finds_team_bs_users_or_events(agent_client, app, alice, team_b):
    for query in (team_b["user_id"], "bob-secret", "Bob", "bob@b.example", team_b["message_id"]):
        for path, params in ((f"/apps/{app.id}/users/", {"q": query}),
                             (f"/apps/{app.id}/log/", {"q": query}),
                             (f"/apps/{app.id}/log/", {"user": query})):
            body = agent_client.get(path, params, **HX).content.decode()
            assert 'data-copy="' + team_b["user_id"] not in body
            for secret in secrets_of_b(team_b):
                if secret != query:
                    assert secret not in body, (path, query, secret)


# ---------------------------------------------------------------- the inbox


def _patch(client, path, token, body):
    return client.patch(path, json.dumps(body), content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
def test_team_bs_keys_cannot_change_team_as_conversations(client, app, alice, owner, team_b, stranger_app):
    """A key of app B (or team B's account key) gets 404 for app A's user,
    as every other route answers, and nothing of A changes."""
    b_app = jwt.encode({"scope": "app"}, stranger_app.test_secret, algorithm="HS256",
                       headers={"kid": stranger_app.test_key.key_id})
    b_account = create_key(team=stranger_app.team, scope=KeyScope.ACCOUNT, name="b-inbox")
    b_account = jwt.encode({"scope": "account"}, b_account[1], algorithm="HS256",
                           headers={"kid": b_account[0].key_id})
    before = list(AppUser.objects.filter(pk=alice.pk).values_list("status", "assignee_id"))
    body = {"status": "resolved", "assigneeEmail": "stranger@b.example"}
    for path, token in ((f"/v1/appusers/{alice.id}/conversation", b_app),
                        (f"/v1.1/appusers/{alice.id}/conversation", b_app),
                        (f"/v1/apps/{app.id}/appusers/{alice.id}/conversation", b_account),
                        (f"/v1/apps/{app.id}/appusers/{alice.id}/conversation", b_app)):
        response = _patch(client, path, token, body)
        assert response.status_code == 404, (path, response.content)
        assert json.loads(response.content)["error"]["code"] == "not_found"
    assert list(AppUser.objects.filter(pk=alice.pk).values_list("status", "assignee_id")) == before
    # A's own key cannot hand A's user to B's member either (400, nothing changed).
    a_app = jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256", headers={"kid": app.test_key.key_id})
    response = _patch(client, f"/v1/appusers/{alice.id}/conversation", a_app, {"assigneeEmail": "stranger@b.example"})
    assert response.status_code == 400 and b"stranger@b.example is not a member" in response.content
    assert list(AppUser.objects.filter(pk=alice.pk).values_list("status", "assignee_id")) == before


@pytest.mark.django_db(transaction=True)
def test_team_bs_notes_and_inbox_events_never_reach_team_as_socket(client, owner, app, alice, team_b):
    headers = session_headers(client, owner)
    b_user = AppUser.objects.get(pk=team_b["user_id"])
    b_member = Membership.objects.select_related("user").get(pk=team_b["member_id"])
    a_member = Membership.objects.select_related("user").get(user=owner)

    async def scenario():
        from channels.db import database_sync_to_async

        mine, connected, _ = await _connect(headers, app.id)
        assert connected
        assert (await mine.receive_json_from(timeout=5))["type"] == "ready"
        await database_sync_to_async(inbox.add_note)(b_user, b_member, "team B note again")
        await database_sync_to_async(inbox.update_conversation)(b_user, {"status": "open"}, by=b_member)
        # A's own note is the first thing A's socket hears.
        await database_sync_to_async(inbox.add_note)(alice, a_member, "A's note")
        frame = await mine.receive_json_from(timeout=5)
        assert frame["kind"] == "note:created" and frame["appUserId"] == alice.id, frame
        assert "team B" not in json.dumps(frame)
        await mine.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_team_bs_canned_replies_never_show_on_team_as_pages(owner_client, app, alice, team_b):
    """The composer's `/` list and the Canned replies page list A's own only."""
    templates.create_template(app, name="A hours", message={"type": "text", "text": "A opens at 9"})
    for path in (f"/apps/{app.id}/users/{alice.id}/", f"/apps/{app.id}/canned/"):
        body = owner_client.get(path).content.decode()
        assert "A opens at 9" in body, path
        assert "team B canned" not in body and "team B reply" not in body, path
    # Naming B's template in A's composer sends none of its content.
    owner_client.post(f"/apps/{app.id}/users/{alice.id}/send/",
                      {"type": "text", "text": "hello", "template": team_b["template_id"]}, **HX)
    sent = Message.objects.get(app_user=alice, role="appMaker")
    assert sent.text == "hello" and sent.actions == []
