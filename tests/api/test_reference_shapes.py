"""Parley's message, app user (with its clients) and webhook-configuration
objects, field by field, against every example of them in the reference
(`/work/shared/reference/smooch-v1-rest-api.md`, parsed here: each ```json
block). For each example, Parley's counterpart (made through the API from
the example's own content) carries every key the example shows, with the
same JSON type, nested actions and items included; and Parley adds no key
beyond those the reference shows somewhere for that object and the
extensions listed (and documented) below. No key is ever null."""

import json
import re
from pathlib import Path

import pytest

from messaging.api import openapi
from tests.api.conftest import add_client, make_jwt

REFERENCE = Path("/work/shared/reference/smooch-v1-rest-api.md")
if not REFERENCE.exists():  # a checkout's copy of the shared reference
    REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "smooch-v1-rest-api.md"

# Which key holds which object in the reference's JSON.
HOLDERS = {"message": "message", "messages": "message", "appUser": "appUser", "clients": "client",
           "pendingClients": "client", "webhook": "webhook", "webhooks": "webhook", "actions": "action",
           "items": "item"}

# Keys Parley adds beyond the reference's examples, each documented: in the
# reference's argument tables (a message's email, metadata, payload and
# destination; an action's or item's metadata) or in Parley's OpenAPI
# document (a client's `_id`, integrationId, displayName and linkedAt, as
# Smooch's API returns them, and `unverified`; a webhook's Standard
# Webhooks signing secret and health). test_every_extension_is_documented
# holds this list to the OpenAPI document.
EXTENSIONS = {
    "message": {"email", "metadata", "payload", "destination"},
    "appUser": set(),
    "client": {"_id", "integrationId", "displayName", "linkedAt", "unverified"},
    "webhook": {"signingSecret", "enabled", "disabledReason", "failingSince"},
    "action": {"metadata"},
    "item": {"metadata"},
}
OPENAPI = {"message": openapi.MESSAGE, "appUser": openapi.APP_USER, "client": openapi.CLIENT,
           "webhook": openapi.WEBHOOK, "action": openapi.ACTION, "item": openapi.ITEM}


def _examples():
    """(section title, parsed JSON) of every ```json block."""
    section, found = "", []
    for part in re.split(r"^(#+ .*)$", REFERENCE.read_text(), flags=re.M):
        if part.startswith("#"):
            section = part.lstrip("# ").strip()
            continue
        for block in re.findall(r"```json\n(.*?)```", part, re.S):
            found.append((section, json.loads(block)))
    return found


# Actions and items are a message's parts (a menu's items are no message's).
PARTS = {"actions": ("message", "item"), "items": ("message",)}


def _objects(node, holder=None, parent=None, out=None):
    out = [] if out is None else out
    if isinstance(node, dict):
        kind = HOLDERS.get(holder)
        if kind and (holder not in PARTS or parent in PARTS[holder]):
            out.append((kind, node))
        else:
            kind = None
        for key, value in node.items():
            _objects(value, key, kind, out)
    elif isinstance(node, list):
        for value in node:
            _objects(value, holder, parent, out)
    return out


# Payments are what Parley deliberately does not do (README): no buy action
# with a Stripe checkout `uri` and a `paid` state, no payment:success.
EXAMPLES = [(section, kind, obj) for section, block in _examples() if "payment" not in section
            for kind, obj in _objects(block)]
DOCUMENTED = {kind: set().union(*(set(o) for _, k, o in EXAMPLES if k == kind)) for kind in EXTENSIONS}


def of_kind(kind):
    return [(section, obj) for section, k, obj in EXAMPLES if k == kind]


def json_type(value) -> str:
    for python, name in ((bool, "boolean"), ((int, float), "number"), (str, "string"), (list, "array"),
                         (dict, "object")):
        if isinstance(value, python):
            return name
    return "null"


def assert_shape(kind, example, ours, where):
    assert isinstance(ours, dict), (where, ours)
    for key, value in example.items():
        if value is None or value == "":  # no value (a postback's `"uri": ""`): left out, as DESIGN.md says
            continue
        assert key in ours, f"{where}: Parley's {kind} lacks {key!r} ({sorted(ours)})"
        assert json_type(ours[key]) == json_type(value), f"{where}: {kind}.{key} is {ours[key]!r}"
    extra = set(ours) - DOCUMENTED[kind] - EXTENSIONS[kind]
    assert not extra, f"{where}: Parley's {kind} adds undocumented keys {sorted(extra)}"
    assert None not in ours.values(), f"{where}: a null in Parley's {kind}: {ours}"
    for key, nested in (("actions", "action"), ("items", "item"), ("clients", "client"),
                        ("pendingClients", "client")):
        for mine, theirs in zip(ours.get(key) or [], example.get(key) or []):
            assert_shape(nested, theirs, mine, f"{where} > {key}")


@pytest.mark.parametrize("kind", sorted(EXTENSIONS))
def test_every_extension_is_documented(kind):
    """The OpenAPI document declares every key Parley may send (its objects
    are closed), the reference's and the extensions alike."""
    declared = set(OPENAPI[kind]["properties"])
    assert EXTENSIONS[kind] - declared == set()
    assert DOCUMENTED[kind] - declared == set()


def test_the_reference_holds_examples_of_each_object():
    assert {kind: len(of_kind(kind)) >= 3 for kind in ("message", "appUser", "client", "webhook")} == \
        dict.fromkeys(("message", "appUser", "client", "webhook"), True)


# ----------------------------------------------------------------- messages

CONTENT = ("role", "type", "text", "mediaUrl", "mediaType", "actions", "items", "coordinates", "name",
           "avatarUrl")
SERVER_SET = ("_id", "state")  # ids and a buy action's state are Parley's to give


def _as_sent(value):
    """An example's content as a client sends it: without the ids the
    server gives."""
    if isinstance(value, dict):
        return {k: _as_sent(v) for k, v in value.items() if k not in SERVER_SET}
    if isinstance(value, list):
        return [_as_sent(v) for v in value]
    return value


MESSAGES = of_kind("message")


@pytest.mark.parametrize("section, example", MESSAGES, ids=[f"{i} {s}" for i, (s, _) in enumerate(MESSAGES)])
def test_a_message_has_the_references_shape(api, app, app_jwt, alice, section, example):
    add_client(alice, "messenger")
    body = _as_sent({key: example[key] for key in CONTENT if key in example})
    # Upload Image's example answer has no type: an image message's.
    body.setdefault("type", "image" if "mediaUrl" in body else "text")
    sent = api.post(f"/v1/appusers/{alice.id}/messages", body, headers=app_jwt)
    assert sent.status_code == 201, (section, body, sent.content)
    listed = api.get(f"/v1/appusers/{alice.id}/messages", headers=app_jwt).data["messages"]
    for ours in (sent.data["message"], listed[-1]):
        assert_shape("message", example, ours, section)


# ---------------------------------------------------------------- app users

def _steve(api, app, app_jwt):
    """The reference's Steve, made as a client makes him: pre-created with
    his profile, then his iOS device through /v1/init."""
    created = api.post("/v1/appusers", {
        "userId": "steveb@channel5.com", "givenName": "Steve", "surname": "Brule",
        "email": "steveb@channel5.com", "signedUpAt": "2015-10-08T23:52:11.677Z",
        "properties": {"favoriteFood": "prizza"}}, headers=app_jwt)
    assert created.status_code == 201, created.content
    device = {"id": "5A7F8343-DF41-46A8-96EC-8583FCB422FB", "platform": "ios", "appVersion": "1.0",
              "pushNotificationToken": "<...>", "info": {"appName": "ShellApp", "devicePlatform": "x86_64",
                                                        "os": "iPhone OS", "osVersion": "9.2"}}
    user_jwt = make_jwt(app.test_key.key_id, app.test_secret, "appUser", userId="steveb@channel5.com")
    init = api.post("/v1/init", {"device": device, "userId": "steveb@channel5.com"},
                    headers={"app-token": app.app_token, "Authorization": f"Bearer {user_jwt}"})
    assert init.status_code == 200, init.content
    sent = api.post(f"/v1/appusers/{created.data['appUser']['_id']}/messages",
                    {"role": "appUser", "type": "text", "text": "Hi"}, headers=app_jwt)
    assert sent.status_code == 201, sent.content
    return created.data["appUser"]["_id"]


FULL_APP_USERS = [(s, o) for s, o in of_kind("appUser") if "properties" in o]


@pytest.mark.parametrize("section, example", FULL_APP_USERS,
                         ids=[f"{i} {s}" for i, (s, _) in enumerate(FULL_APP_USERS)])
def test_an_app_user_has_the_references_shape(api, app, app_jwt, section, example):
    steve = _steve(api, app, app_jwt)
    for answer in (api.get(f"/v1/appusers/{steve}", headers=app_jwt),
                   api.put(f"/v1/appusers/{steve}", {"givenName": "Steve"}, headers=app_jwt)):
        assert answer.status_code == 200, answer.content
        assert_shape("appUser", example, answer.data["appUser"], section)


# ----------------------------------------------------------------- webhooks

@pytest.mark.parametrize("section, example", of_kind("webhook"),
                         ids=[f"{i} {s}" for i, (s, _) in enumerate(of_kind("webhook"))])
def test_a_webhook_has_the_references_shape(api, app_jwt, settings, section, example):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = False
    created = api.post("/v1/webhooks", {"target": "https://example.com/callback"}, headers=app_jwt)
    assert created.status_code == 201, created.content
    webhook = created.data["webhook"]
    answers = [webhook, api.get(f"/v1/webhooks/{webhook['_id']}", headers=app_jwt).data["webhook"],
               api.get("/v1/webhooks", headers=app_jwt).data["webhooks"][0],
               api.put(f"/v1/webhooks/{webhook['_id']}", {"triggers": ["message"]},
                       headers=app_jwt).data["webhook"]]
    for ours in answers:
        assert_shape("webhook", example, ours, section)
