"""The auth attack matrix: every REST API route, listed from Django's URL
resolver, against every way in that must fail (issue 19).

The victim is team B (tests/live/test_tenancy.py's `team_b`: an app with a
user, a conversation, a webhook with its events, a channel, a canned
reply). Each attack is one test that calls every route and method with
team B's objects in the path and asserts, for each call:
- the documented status: 401 for a missing, malformed or unverifiable
  credential; 403 for a credential of the wrong scope; 404 for another
  tenant's object (or, where the path names no object of team B, the
  attacker's own answer, with nothing of team B in it);
- a Smooch error body and nothing else (no data of team B in any answer);
- and, once all routes have been tried, that nothing of team B changed.

A route with a path parameter this module cannot fill, or a route and
method that no attack tried, fails the test: a new route cannot ship
unattacked. Public routes (ping, the OpenAPI document, the JSON 404) are
listed in PUBLIC and checked to show nothing of team B.
"""

import json
import re
import time

import jwt as pyjwt
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from messaging.models import (
    ApiKey,
    App,
    AppUser,
    Delivery,
    Integration,
    Invitation,
    KeyScope,
    Membership,
    Message,
    MessageTemplate,
    Note,
    ServiceAccount,
    Team,
    Webhook,
    WebhookEvent,
)
from messaging.services import service_accounts
from messaging.services.apps import create_key, revoke_key
from tests.live.test_tenancy import secrets_of_b, team_b  # noqa: F401 (fixture)

PUBLIC = {"^ping$", "^openapi\\.json$", "^(?P<rest>.*)$"}
# Bodies sent with POST, PUT and PATCH: an empty object, and one naming
# team B's objects wherever a body can name one (merges, template sends,
# attachments...), so that a route taking ids from its body is attacked too.
EMPTY = {}


def b_body(values):
    return {
        "role": "appMaker", "type": "text", "text": "intruder", "userId": "bob-secret",
        "appUserId": values["appUserId"], "templateId": values["templateId"],
        "integrationId": values["integrationId"], "surviving": {"_id": values["appUserId"]},
        "discarded": [{"_id": values["appUserId"]}], "mediaUrl": "http://testserver/media/uploads/x.png",
        "destination": {"integrationId": values["integrationId"]},
    }


def api_routes():
    """(version, pattern, {method: scope}) for every API route."""
    found = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix, str(p.pattern), p.callback

    for prefix, pattern, view in walk(get_resolver().url_patterns):
        if prefix in ("v1/", "v1.1/"):
            found.append((prefix, pattern, getattr(view, "api_methods", None)))
    return found


ROUTES = api_routes()
ATTACKED = [(v, p, m) for v, p, methods in ROUTES if p not in PUBLIC for m in methods]


def state_of_b(victim) -> dict:
    """Everything of team B's app and team an attack could change (the
    attacker's own writes, in its own app, are not B's)."""
    app, team = victim["appId"], victim["team_id"]
    rows = {
        App: App.objects.filter(id=app),
        Team: Team.objects.filter(id=team),
        AppUser: AppUser.objects.filter(app_id=app),
        Message: Message.objects.filter(app_id=app),
        Delivery: Delivery.objects.filter(message__app_id=app),
        Note: Note.objects.filter(app_user__app_id=app),
        MessageTemplate: MessageTemplate.objects.filter(app_id=app),
        ApiKey: ApiKey.objects.filter(team_id=team).exclude(key_id=victim["sibling_key"]),
        Membership: Membership.objects.filter(team_id=team),
        ServiceAccount: ServiceAccount.objects.filter(team_id=team),
        Invitation: Invitation.objects.filter(team_id=team),
        Integration: Integration.objects.filter(app_id=app),
        Webhook: Webhook.objects.filter(app_id=app),
        WebhookEvent: WebhookEvent.objects.filter(app_id=app),
    }
    return {model.__name__: list(query.order_by("pk").values()) for model, query in rows.items()}


def _without_use(state: dict) -> dict:
    """(ApiKey.last_used_at moves when a key is used: the attacks use B's keys.)"""
    for row in state["ApiKey"]:
        row.pop("last_used_at", None)
    return state


def path_of(version: str, pattern: str, values: dict) -> str:
    names = re.findall(r"\(\?P<(\w+)>", pattern)
    unknown = [n for n in names if n not in values]
    assert not unknown, f"the attack matrix cannot fill {unknown} in {pattern}: add team B's value to team_b"
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), pattern)
    return "/" + version + path.replace("^", "").replace("$", "").replace("\\", "").replace("[uU]", "U")


def names_b_object(pattern: str) -> bool:
    # A deployment id is made up (Parley keeps no deployments).
    return bool(set(re.findall(r"\(\?P<(\w+)>", pattern)) - {"deploymentId"})


def call(client, method, path, headers, body=EMPTY):
    kwargs = {"headers": headers}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method.lower())(path, **kwargs)


def token(key_id, secret, scope="app", headers=None, algorithm="HS256", **claims):
    return pyjwt.encode({"scope": scope, **claims}, secret, algorithm=algorithm,
                        headers={"kid": key_id, **(headers or {})})


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def victim(team_b, stranger_app, stranger_team):  # noqa: F811 (the imported fixture)
    """Team B's values for the paths, its keys' secrets, and its state."""
    # A secured user (has used a JWT: the app token no longer acts as her)
    # and a second user of the app, for the appUser-token attacks.
    AppUser.objects.filter(id=team_b["appUserId"]).update(credential_required=True)
    AppUser.objects.create(app=stranger_app, user_id="mallory")
    revoked, revoked_secret = create_key(team=stranger_team, scope=KeyScope.APP, app=stranger_app,
                                         name="revoked")
    revoke_key(revoked)
    account = service_accounts.create_service_account(team=stranger_team, name="team B robot", membership=None)
    service_accounts.create_key(account=account, name="team B robot key", membership=None)
    return {**team_b, "deploymentId": "b-deployment", "serviceAccountId": account.id,
            "templateName": "team_b_template", "revoked": (revoked.key_id, revoked_secret),
            "app_secret": stranger_app.test_secret, "app_token": stranger_app.app_token}


def attacks(victim, app, team, make_app, stranger_team):
    """Attack name -> (headers, the statuses it may get, whether an answer
    of the attacker's own may come where the path names nothing of B)."""
    key_id = victim["app_key"]
    now = int(time.time())
    a_account, a_account_secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="attacker account")
    sibling = make_app(stranger_team, "B's other app")
    victim["sibling_key"] = sibling.test_key.key_id
    return {
        "no credentials": ({}, {401}, False),
        "malformed header": ({"Authorization": "Bearer"}, {401}, False),
        "not a JWT": (bearer("not.a.jwt"), {401}, False),
        "basic auth": ({"Authorization": "Basic Ym9iOnNlY3JldA=="}, {401}, False),
        "expired": (bearer(token(key_id, victim["app_secret"], exp=now - 60)), {401}, False),
        "not yet valid": (bearer(token(key_id, victim["app_secret"], nbf=now + 3600)), {401}, False),
        "alg none": (bearer(pyjwt.encode({"scope": "app"}, None, algorithm="none",
                                         headers={"kid": key_id})), {401}, False),
        "signed with another key": (bearer(token(key_id, "not-the-secret-" * 3)), {401}, False),
        "unknown kid": (bearer(token("app_000000000000000000000000", victim["app_secret"])), {401}, False),
        "revoked kid": (bearer(token(*victim["revoked"])), {401}, False),
        "another team's app key": (bearer(token(app.test_key.key_id, app.test_secret)), {403, 404}, True),
        "another team's account key": (bearer(token(a_account.key_id, a_account_secret, "account")),
                                       {403, 404}, True),
        "another app's key of the same team": (bearer(token(sibling.test_key.key_id, sibling.test_secret)),
                                               {403, 404}, True),
        "appUser token for another user": (
            bearer(token(key_id, victim["app_secret"], "appUser", userId="mallory")), {401, 403, 404}, False),
        "app token on a secured user": ({"app-token": victim["app_token"]}, {401, 403, 404}, False),
    }


ATTACKS = ["no credentials", "malformed header", "not a JWT", "basic auth", "expired", "not yet valid",
           "alg none", "signed with another key", "unknown kid", "revoked kid", "another team's app key",
           "another team's account key", "another app's key of the same team",
           "appUser token for another user", "app token on a secured user"]

# Where a user credential of B's own app legitimately answers with its own
# user's data: the routes that name no user and that an appUser credential
# may call create or find *its* user (POST /appusers, /init).
OWN_USER_ROUTES = {"^app[uU]sers$", "^init$"}


def test_every_api_route_is_attacked():
    assert len(ATTACKED) > 100, "the URL resolver listed too few API routes"
    for version, pattern, methods in ROUTES:
        assert methods or pattern in PUBLIC, f"/{version}{pattern} is not a route() view: the matrix cannot know its methods"


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attack_gets_nothing_on_every_route(attack, victim, app, team, make_app, stranger_team):
    headers, statuses, own_answer_allowed = attacks(victim, app, team, make_app, stranger_team)[attack]
    # appUser credentials of B's own app meet B's own user-creating routes.
    user_credential = attack in ("appUser token for another user", "app token on a secured user")
    client = Client()
    before = _without_use(state_of_b(victim))
    secrets = secrets_of_b(victim)
    tried = set()
    wrong = []
    for version, pattern, method in ATTACKED:
        path = path_of(version, pattern, victim)
        for body in (EMPTY, b_body(victim)) if method in ("POST", "PUT", "PATCH") else (EMPTY,):
            response = call(client, method, path, headers, body)
            tried.add((version, pattern, method))
            text = response.content.decode(errors="replace")
            # What the attacker sent may come back (an id in "not found");
            # nothing else of team B may.
            sent = path + json.dumps(body)
            leaked = [s for s in secrets if s in text and s not in sent]
            own = (own_answer_allowed and not names_b_object(pattern)) or (
                user_credential and pattern in OWN_USER_ROUTES)
            if leaked:
                wrong.append(f"{method} {path}: {response.status_code} showed {leaked}")
            elif own:
                # 501: the deliberate refusals (Stripe, deployments).
                if response.status_code >= 500 and response.status_code != 501:
                    wrong.append(f"{method} {path}: {response.status_code}")
            elif response.status_code not in statuses:
                wrong.append(f"{method} {path}: {response.status_code} {text[:160]}")
            elif not response["Content-Type"].startswith("application/json") or set(json.loads(text)) != {"error"}:
                wrong.append(f"{method} {path}: not a Smooch error body: {text[:160]}")
    assert not wrong, f"{attack}: {len(wrong)} calls got through or answered wrongly:\n" + "\n".join(wrong[:40])
    assert tried == set(ATTACKED)
    assert _without_use(state_of_b(victim)) == before, f"{attack} changed team B's data"


def test_public_routes_show_nothing_of_team_b(victim):
    client = Client()
    secrets = secrets_of_b(victim)
    for version, pattern, methods in ROUTES:
        if pattern not in PUBLIC:
            continue
        path = path_of(version, pattern, {**victim, "rest": f"apps/{victim['appId']}/nothing"})
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        text = response.content.decode()
        assert not [s for s in secrets if s in text], path


@pytest.mark.django_db
def test_every_405_names_the_methods_in_allow(victim):
    client = Client()
    for version, pattern, methods in ROUTES:
        path = path_of(version, pattern, {**victim, "rest": "x"})
        if pattern == "^(?P<rest>.*)$":
            continue
        response = client.generic("TRACE", path)
        assert response.status_code == 405, (path, response.status_code)
        assert set(json.loads(response.content)) == {"error"}, path
        allowed = {m.strip() for m in response["Allow"].split(",")}
        assert allowed >= set(methods), (path, response["Allow"], methods)


@pytest.mark.django_db
def test_the_public_routes_answer_a_session_like_any_api_route(owner):
    """/v1/ping and the OpenAPI document under a browser session with CSRF
    checks on: the API's JSON 405 with Allow, not Django's HTML 403."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    for path in ("/v1/ping", "/v1.1/ping", "/v1/openapi.json"):
        response = client.post(path, data="{}", content_type="application/json")
        assert response.status_code == 405 and response["Allow"] == "GET, HEAD", (path, response.status_code)
        assert json.loads(response.content)["error"]["code"] == "method_not_allowed"
        assert client.get(path).status_code == 200
