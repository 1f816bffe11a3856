"""Fixtures for the REST API tests.

`api` is Django's test Client whose every response is checked against the
OpenAPI document (messaging/api/openapi.py): the operation must exist for the
path and method, the status must be documented, and the JSON body must match
that status's schema. So the document stays true wherever the API is used.
"""

import json
import re
from functools import cache

import jsonschema
import jwt as pyjwt
import pytest
from django.test import Client as DjangoClient

from messaging.api.openapi import document
from messaging.models import AppUser, Client, Integration, KeyScope


@cache
def _operations():
    """[(regex, template, method) ...] for every documented operation."""
    ops = []
    for template, item in document()["paths"].items():
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                ops.append((re.compile(regex), template, method, op))
    return ops


def find_operation(path: str, method: str):
    path = re.sub(r"^/v1\.1/", "/v1/", path.split("?")[0])
    path = path.replace("/appUsers", "/appusers")
    for regex, template, op_method, op in _operations():
        if op_method == method.lower() and regex.match(path):
            return template, op
    return None, None


def check_response(path: str, method: str, response) -> None:
    template, op = find_operation(path, method)
    if op is None:
        if response.status_code in (404, 405):
            return  # unknown routes and methods: the JSON error shape is checked by tests
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")
    status = str(response.status_code)
    documented = op["responses"].get(status)
    assert documented is not None, f"{method} {template}: status {status} is not documented"
    schema = documented["content"]["application/json"]["schema"]
    body = json.loads(response.content)
    try:
        jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as error:
        raise AssertionError(f"{method} {template} {status}: response does not match the document: "
                             f"{error.message}\n{json.dumps(body)[:2000]}")


class ApiClient:
    """Django's test Client with JSON bodies and OpenAPI-checked responses."""

    def __init__(self):
        self.client = DjangoClient()

    def _call(self, method, path, data=None, headers=None, raw=None, content_type="application/json",
              **extra):
        headers = dict(headers or {})
        kwargs = {"headers": headers, **extra}
        if method in ("post", "put", "delete", "patch"):
            if raw is not None:
                kwargs["data"] = raw
                kwargs["content_type"] = content_type
            elif data is not None:
                if content_type == "multipart":
                    kwargs["data"] = data
                else:
                    kwargs["data"] = json.dumps(data)
                    kwargs["content_type"] = "application/json"
        elif data is not None:
            kwargs["data"] = data
        response = getattr(self.client, method)(path, **kwargs)
        if response.get("Content-Type", "").startswith("application/json"):
            check_response(path, method, response)
            response.data = json.loads(response.content)
        return response

    def get(self, path, data=None, **kw):
        return self._call("get", path, data, **kw)

    def post(self, path, data=None, **kw):
        return self._call("post", path, data, **kw)

    def put(self, path, data=None, **kw):
        return self._call("put", path, data, **kw)

    def delete(self, path, data=None, **kw):
        return self._call("delete", path, data, **kw)

    def patch(self, path, data=None, **kw):
        return self._call("patch", path, data, **kw)

    def options(self, path, **kw):
        return self.client.options(path, **kw)


@pytest.fixture
def api(db):
    return ApiClient()


def make_jwt(key_id: str, secret: str, scope: str = "app", **claims) -> str:
    return pyjwt.encode({"scope": scope, **claims}, secret, algorithm="HS256", headers={"kid": key_id})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app_jwt(app):
    """Headers with an app-scope JWT of `app`."""
    return bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))


@pytest.fixture
def app_token(app):
    return {"app-token": app.app_token}


@pytest.fixture
def user_jwt(app):
    def make(user_id):
        return bearer(make_jwt(app.test_key.key_id, app.test_secret, "appUser", userId=user_id))

    return make


@pytest.fixture
def as_alice(user_jwt):
    """Headers of alice's own device: an appUser JWT for her, as new apps
    require (`requireUserJwt`). Tests of Smooch v1's app-token behaviour use
    `app_token` with `@pytest.mark.require_user_jwt(False)` instead."""
    return user_jwt("alice")


@pytest.fixture
def account_jwt(team):
    from messaging.services.apps import create_key

    key, secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="account")
    return bearer(make_jwt(key.key_id, secret, "account"))


@pytest.fixture
def make_user(db):
    def make(app, user_id=None, clients=(), **fields):
        app_user = AppUser.objects.create(app=app, user_id=user_id, **fields)
        for platform in clients:
            add_client(app_user, platform)
        return app_user

    return make


def add_client(app_user, platform, external_id=None, **fields):
    integration = None
    if platform not in ("web", "ios", "android", "other"):
        integration = Integration.objects.filter(app_id=app_user.app_id, type=platform).first()
        if integration is None:
            integration = Integration.objects.create(app_id=app_user.app_id, type=platform)
    return Client.objects.create(
        app_user=app_user,
        platform=platform,
        integration=integration,
        external_id=external_id or f"{platform}-{app_user.id}",
        **fields,
    )


@pytest.fixture
def alice(app, make_user):
    """An app user of `app` with a web client."""
    return make_user(app, "alice", clients=["web"], given_name="Alice", surname="Liddell")


@pytest.fixture
def other_app(stranger, make_app):
    """An app of another team (team B) with a user."""
    other = make_app(stranger.teams.get(), "App B")
    other.user = AppUser.objects.create(app=other, user_id="bob")
    return other


def error_of(response) -> tuple[int, str, str]:
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "description"}, body
    return response.status_code, body["error"]["code"], body["error"]["description"]
