"""The OpenAPI document is served, is valid, and lists every API route Django
resolves (responses are checked against it by the `api` fixture)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
import jsonschema

from messaging.api.openapi import document

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
