"""The OpenAPI document is served, is valid, and lists every API route Django
resolves (responses are checked against it by the `api` fixture)."""

import json
import re

import jsonschema
import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from messaging import validators
from messaging.api.openapi import document
from tests.api.conftest import find_operation

PREFIX = "v1/"


def api_routes():
    """(OpenAPI path, method) for every route under /v1/ in Django's resolver."""
    routes = set()

    def walk(patterns, prefix):
        for entry in patterns:
            regex = entry.pattern.regex.pattern if hasattr(entry.pattern, "regex") else str(entry.pattern)
            regex = regex.lstrip("^").rstrip("$").replace("\\Z", "")
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + regex)
            elif isinstance(entry, URLPattern):
                full = prefix + regex
                if not full.startswith(PREFIX):
                    continue
                methods = getattr(entry.callback, "api_methods", None)
                if methods is None:
                    continue  # the JSON 404 catch-all
                path = "/" + full
                path = path.replace("app[uU]sers", "appusers").replace("\\.", ".")
                path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
                for method in methods:
                    routes.add((path, method.lower()))

    walk(get_resolver().url_patterns, "")
    return routes


@pytest.mark.smoke
def test_it_documents_every_route():
    documented = {(path, method) for path, item in document()["paths"].items() for method in item
                  if method in ("get", "post", "put", "delete", "patch")}
    routes = api_routes()
    assert len(routes) > 30
    missing = sorted(routes - documented)
    assert not missing, f"routes missing from the OpenAPI document: {missing}"
    extra = sorted(documented - routes)
    assert not extra, f"documented but not routed: {extra}"


def test_it_serves_the_document(api):
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.data["openapi"].startswith("3.")
    assert "/v1/appusers/{appUserId}/messages" in response.data["paths"]
    assert response.data == json.loads(json.dumps(document()))


def test_it_holds_valid_schemas_and_unique_operation_ids():
    doc = document()
    assert doc["openapi"] == "3.1.0"
    ids = []
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        assert names == {p["name"] for p in item.get("parameters", [])}, path
        for method, op in item.items():
            if method == "parameters":
                continue
            ids.append(op["operationId"])
            for response in op["responses"].values():
                jsonschema.Draft202012Validator.check_schema(response["content"]["application/json"]["schema"])
            for media in op.get("requestBody", {}).get("content", {}).values():
                jsonschema.Draft202012Validator.check_schema(media["schema"])
    assert len(ids) == len(set(ids))


def test_it_closes_every_response_object():
    def objects(schema):
        if isinstance(schema, dict):
            if schema.get("type") == "object" and "properties" in schema:
                yield schema
            for value in schema.values():
                yield from objects(value)
        elif isinstance(schema, list):
            for value in schema:
                yield from objects(value)

    for path, item in document()["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, response in op["responses"].items():
                for schema in objects(response["content"]["application/json"]["schema"]):
                    assert schema.get("additionalProperties") is False, (path, method, status)


def test_it_answers_the_ping(api):
    response = api.get("/v1/ping")
    assert response.status_code == 200 and response.data == {"ok": True}


# The request bodies: the document serves the very schemas the validators
# check, so the two cannot drift.
VALIDATED = [validators.MESSAGE, validators.APP_USER, validators.PROFILE, validators.EVENT,
             validators.DEVICE_UPDATE, validators.LINK, validators.ACTIVITY, validators.WEBHOOK,
             validators.WEBHOOK_UPDATE, validators.WEBHOOK_REDELIVER, validators.WEBHOOK_ROTATE, validators.INIT,
             validators.INTEGRATION, validators.INTEGRATION_UPDATE, validators.NOTIFICATION,
             validators.APP_CREATE, validators.APP_UPDATE, validators.KEY_CREATE,
             validators.CONVERSATION_UPDATE, validators.TEMPLATE_CREATE,
             validators.TEMPLATE_UPDATE, validators.SERVICE_ACCOUNT, validators.WA_TEMPLATE_CREATE,
             validators.WA_PROFILE_UPDATE, validators.ATTACHMENT_REMOVE, validators.MENU, validators.PUSH_TOKEN,
             validators.POSTBACK, validators.MERGE, validators.TEMPLATE_MESSAGE]


def test_it_documents_the_request_bodies_the_validators_check():
    # As the validators read them (validators.as_read: null and blank as
    # absent, what the decoder refuses left out).
    checked = [json.dumps(validators.as_read(schema.schema), sort_keys=True) for schema in VALIDATED]
    message = validators.as_read(validators.MESSAGE.schema)["properties"]
    bodies = 0
    for path, item in document()["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}) if isinstance(op, dict) else {}
            if "application/json" in content:
                bodies += 1
                schema = content["application/json"]["schema"]
                # A body of several shapes (a message, or one from a template) is each checked shape.
                for one in schema.get("oneOf", [schema]):
                    assert json.dumps(one, sort_keys=True) in checked, (path, method)
            if "multipart/form-data" in content:
                fields = dict(content["multipart/form-data"]["schema"]["properties"])
                fields.pop("source")
                assert all(fields[k] == message[k] for k in fields), path
    assert bodies >= 2 * 12


ITEM = {"title": "T", "actions": [{"type": "postback", "text": "x", "payload": "X"}]}
TEXT = {"role": "appMaker", "type": "text"}
BODIES = [
    ("post", "messages", {**TEXT, "text": "x" * 10_000}),
    ("post", "messages", {**TEXT, "text": "x" * 10_001}),
    ("post", "messages", {**TEXT, "text": "x", "name": 5}),
    ("post", "messages", {**TEXT, "type": "video", "text": "x"}),
    ("post", "messages", {"role": "appMaker", "type": "carousel", "items": [ITEM] * 10}),
    ("post", "messages", {"role": "appMaker", "type": "carousel", "items": [ITEM] * 11}),
    ("post", "messages", {"role": "appMaker", "type": "list", "items": [{**ITEM, "actions": ITEM["actions"] * 3}]}),
    ("post", "messages", {"role": "appMaker", "type": "list", "items": [{**ITEM, "actions": ITEM["actions"] * 4}]}),
    ("post", "messages", {**TEXT, "text": "x", "actions": [{"type": "link", "text": "Go", "uri": "tel:+1555"}]}),
    ("post", "messages", {**TEXT, "text": "x", "actions": [{"type": "link", "text": "Go"}]}),
    ("post", "messages", {**TEXT, "text": "x", "metadata": {"a": {"b": 1}}}),
    ("put", "", {"givenName": "x" * 255, "properties": {"plan": "gold"}}),
    ("put", "", {"givenName": "x" * 256}),
    ("post", "events", {"name": "signed-up", "appUser": {"surname": "L"}}),
    ("post", "events", {"name": " "}),
    ("post", "conversation/activity", {"type": "typing:start"}),
    ("post", "conversation/activity", {"type": "typing"}),
    ("post", "/v1/webhooks", {"target": "https://example.com/a", "triggers": ["payment:success", "message"]}),
    ("post", "/v1/webhooks", {"target": "https://example.com/a", "triggers": ["typing:appUser"]}),
    ("post", "/v1/webhooks", {"target": "https://example.com/a", "triggers": []}),
    ("post", "/v1/webhooks", {"target": "ftp://example.com/a"}),
]


@pytest.mark.parametrize("method,where,body", BODIES, ids=[f"{m} {w} {i}" for i, (m, w, _) in enumerate(BODIES)])
def test_the_api_refuses_exactly_the_bodies_the_document_refuses(api, app_jwt, alice, method, where, body):
    path = where if where.startswith("/") else f"/v1/appusers/{alice.id}/{where}".rstrip("/")
    _, op = find_operation(path, method)
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    documented = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).is_valid(body)
    response = getattr(api, method)(path, body, headers=app_jwt)
    assert (response.status_code < 300) == documented, (documented, response.content)
    assert response.status_code in (200, 201, 400), response.content


def test_every_route_with_credentials_documents_its_429():
    """Every authenticated route can be rate limited (messaging/ratelimits.py)."""
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            if op["security"]:
                assert "429" in op["responses"], (path, method)
                assert "Retry-After" in op["responses"]["429"]["headers"], (path, method)
            else:
                assert "429" not in op["responses"], (path, method)


def test_every_route_with_credentials_documents_its_503():
    """Every authenticated route answers 503 with Retry-After while the
    database is down (api/auth.py, messaging/outages.py; the fault test
    tests/faults/ meets it on a live server)."""
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if method != "parameters" and op["security"]:
                assert "Retry-After" in op["responses"]["503"]["headers"], (path, method)
