"""The integrations API: create (checked with the platform), list (types,
limit, offset), get, update, delete; at /v1/, /v1.1/ and /v1/apps/{appId}/;
scopes, tenancy, secrets never returned, bad input never a 5xx. Written with
the test-only "fake" channel (tests/support/fake_channel.py) against a fake
platform on 127.0.0.1."""

import json

import pytest

from messaging import schemas, validators
from messaging.integrations.registry import integration_class
from messaging.models import Client, Integration, IntegrationStatus, LogEntry
from messaging.services.errors import ServiceError
from messaging.services.integrations import _clean
from tests.api.conftest import add_client, bearer, error_of, make_jwt
from tests.support.fake_telegram import TOKEN

SECRET = "sk-very-secret-4242"
ONE_OF = f"type must be one of: {', '.join(schemas.CONNECTABLE_TYPES)}."
BODY = {"type": "fake", "apiKey": SECRET, "account": "acme"}



def create(api, headers, body=BODY, prefix="/v1"):
    return api.post(f"{prefix}/integrations", body, headers=headers)


def secret_free(response) -> None:
    assert SECRET not in response.content.decode(), response.content


@pytest.mark.smoke
def test_it_creates_an_integration_checked_with_the_platform(api, app_jwt, app, platform):
    response = create(api, app_jwt)
    assert response.status_code == 201, response.content
    body = response.data["integration"]
    row = Integration.objects.get(app=app)
    assert body == {"_id": row.id, "type": "fake", "status": "active", "displayName": "Fake acme",
                    "account": "acme", "fakeId": f"fake-{platform.received('/check')[0]['n']}",
                    "inboundUrl": f"http://testserver/integrations/fake/{row.id}/webhook",
                    "createdAt": body["createdAt"]}
    secret_free(response)
    assert row.credentials == {"apiKey": SECRET, "account": "acme"}
    # The platform saw the key (check) and was given the inbound URL.
    assert [r["body"] for r in platform.received("/check")] == [{"apiKey": SECRET}]
    assert [r["body"] for r in platform.received("/webhook")] == [{"url": body["inboundUrl"]}]
    assert LogEntry.objects.filter(app=app, kind="integration:created").count() == 1


def test_it_builds_the_inbound_url_from_the_public_url(api, app_jwt, app, platform, settings):
    settings.PARLEY_PUBLIC_URL = "https://parley.example.org"
    body = create(api, app_jwt, {**BODY, "displayName": "Support bot"}).data["integration"]
    assert body["inboundUrl"] == f"https://parley.example.org/integrations/fake/{body['_id']}/webhook"
    assert body["displayName"] == "Support bot"


@pytest.mark.parametrize("prefix", ["/v1", "/v1.1"])
def test_it_answers_at_the_app_paths_of_both_versions(api, app_jwt, app, platform, prefix):
    """smooch-core 3.5.0 calls /v1/apps/{appId}/integrations, 8.11.4
    /v1.1/apps/{appId}/integrations, both with an app-scope key."""
    response = create(api, app_jwt, prefix=f"{prefix}/apps/{app.id}")
    assert response.status_code == 201, response.content
    listed = api.get(f"{prefix}/apps/{app.id}/integrations", headers=app_jwt)
    assert [i["_id"] for i in listed.data["integrations"]] == [response.data["integration"]["_id"]]


def test_it_works_for_an_account_key_of_the_team(api, account_jwt, app, platform):
    response = create(api, account_jwt, prefix=f"/v1.1/apps/{app.id}")
    assert response.status_code == 201, response.content
    assert Integration.objects.get().app == app


@pytest.mark.parametrize("body,description", [
    ({}, ONE_OF),
    ({"type": "nope"}, ONE_OF),
    ({"type": ["fake"]}, ONE_OF),
    ({"type": "web"}, ONE_OF),
    ({"type": "fake"}, "apiKey is required for fake integrations."),
    ({"type": "fake", "apiKey": "k"}, "account is required for fake integrations."),
    ({**BODY, "apiKey": ""}, "apiKey must be a non-empty string."),
    ({**BODY, "apiKey": "   "}, "apiKey must be a non-empty string."),
    ({**BODY, "apiKey": 42}, "apiKey must be a non-empty string."),
    ({**BODY, "apiKey": {"k": 1}}, "apiKey must be a non-empty string."),
    ({**BODY, "account": "x" * 2001}, "account is longer than 2000 characters."),
    ({**BODY, "token": "t"}, "token is not a property of fake integrations (they take apiKey, account, displayName)."),
    ({**BODY, "displayName": 5}, "displayName must be a string of at most 100 characters."),
    ({**BODY, "displayName": "x" * 101}, "displayName must be a string of at most 100 characters."),
])
def test_it_refuses_bad_bodies_before_calling_the_platform(api, app_jwt, platform, body, description):
    status, code, text = error_of(create(api, app_jwt, body))
    assert (status, code, text) == (400, "bad_request", description)
    assert not Integration.objects.exists()
    assert platform.requests == []


@pytest.mark.parametrize("type_, alternative", [
    ("apn", "Web Messenger"), ("fcm", "Web Messenger"), ("twitter", "messenger"), ("messagebird", "twilio"),
])
def test_the_types_parley_deliberately_does_not_connect_are_a_501_naming_the_alternative(
        api, app_jwt, account_jwt, app, type_, alternative):
    for url, headers in (("/v1/integrations", app_jwt), (f"/v1.1/apps/{app.id}/integrations", account_jwt)):
        status, code, text = error_of(api.post(url, {"type": type_, "certificate": "x"}, headers=headers))
        assert (status, code) == (501, "not_implemented") and alternative in text, text
    # Authentication comes first: no credential, no 501.
    assert api.post("/v1/integrations", {"type": type_}).status_code == 401
    assert not Integration.objects.exists()


def test_it_refuses_a_body_that_is_not_an_object(api, app_jwt, platform):
    response = api.post("/v1/integrations", raw=b"[1, 2]", headers=app_jwt)
    assert error_of(response)[:2] == (400, "bad_request")
    response = api.post("/v1/integrations", raw=b"{nope", headers=app_jwt)
    assert error_of(response)[:2] == (400, "bad_request")
    assert not Integration.objects.exists()


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_platform_refusal_is_a_400_with_its_reason_and_stores_nothing(api, app_jwt, app, platform, status):
    platform.fail_next(status, body={"ok": False, "description": "Unauthorized: bad key"})
    code_status, code, text = error_of(create(api, app_jwt))
    assert (code_status, code) == (400, "platform_refused")
    assert text.startswith("Fake (tests) refused:") and "Unauthorized: bad key" in text, text
    assert not Integration.objects.exists()
    assert platform.received("/webhook") == []  # nothing registered with bad credentials


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_platform_outage_is_a_400_not_a_5xx(api, app_jwt, platform, status):
    platform.fail_next(status)
    code_status, code, _ = error_of(create(api, app_jwt))
    assert (code_status, code) == (400, "platform_refused")
    assert not Integration.objects.exists()


def test_a_refused_webhook_registration_stores_nothing(api, app_jwt, platform):
    def handler(record):
        if record["path"] == "/webhook":
            return 400, {}, {"ok": False, "description": "Bad Request: bad webhook: HTTPS url must be provided"}
        return 200, {}, {"id": "bot-1"}

    platform.handler = handler
    code_status, code, text = error_of(create(api, app_jwt))
    assert (code_status, code) == (400, "platform_refused") and "HTTPS url must be provided" in text
    assert not Integration.objects.exists()


def test_an_unreachable_platform_is_a_400(api, app_jwt, settings):
    settings.PARLEY_FAKE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    code_status, code, text = error_of(create(api, app_jwt))
    assert (code_status, code) == (400, "platform_refused") and "could not reach" in text
    assert not Integration.objects.exists()


def make_rows(app, *types):
    return [Integration.objects.create(app=app, type=t, display_name=f"{t} {i}") for i, t in enumerate(types)]


def ids(response):
    assert response.status_code == 200, response.content
    return [i["_id"] for i in response.data["integrations"]]


def test_it_lists_oldest_first_with_the_types_filter(api, app_jwt, app):
    fake, twilio, telegram, fake2 = make_rows(app, "fake", "twilio", "telegram", "fake")
    assert ids(api.get("/v1/integrations", headers=app_jwt)) == [fake.id, twilio.id, telegram.id, fake2.id]
    assert ids(api.get("/v1/integrations", {"types": "fake"}, headers=app_jwt)) == [fake.id, fake2.id]
    # 8.x joins an array with commas
    both = api.get("/v1.1/integrations", {"types": "twilio,telegram"}, headers=app_jwt)
    assert ids(both) == [twilio.id, telegram.id]
    assert ids(api.get("/v1/integrations", {"types": " twilio , "}, headers=app_jwt)) == [twilio.id]
    assert ids(api.get("/v1/integrations", {"types": "messenger"}, headers=app_jwt)) == []
    assert len(ids(api.get("/v1/integrations", {"types": ""}, headers=app_jwt))) == 4
    assert api.get("/v1/integrations", headers=app_jwt).data["hasMore"] is False


def test_it_pages_with_limit_and_offset(api, app_jwt, app):
    rows = make_rows(app, *["fake"] * 5)
    page = api.get("/v1.1/integrations", {"limit": 2}, headers=app_jwt)
    assert ids(page) == [r.id for r in rows[:2]] and page.data["hasMore"] is True
    page = api.get("/v1.1/integrations", {"limit": 2, "offset": 2}, headers=app_jwt)
    assert ids(page) == [r.id for r in rows[2:4]] and page.data["hasMore"] is True
    page = api.get("/v1.1/integrations", {"limit": 2, "offset": 4}, headers=app_jwt)
    assert ids(page) == [rows[4].id] and page.data["hasMore"] is False
    page = api.get("/v1.1/integrations", {"offset": 9}, headers=app_jwt)
    assert ids(page) == [] and page.data["hasMore"] is False


@pytest.mark.parametrize("query,description", [
    ({"types": "fake,nope"}, "types: unknown integration type 'nope'"),
    ({"types": "undefined"}, "types: unknown integration type 'undefined'"),
    ({"limit": "0"}, "limit must be an integer from 1 to 100."),
    ({"limit": "101"}, "limit must be an integer from 1 to 100."),
    ({"limit": "ten"}, "limit must be an integer from 1 to 100."),
    ({"limit": "2.5"}, "limit must be an integer from 1 to 100."),
    ({"limit": "-1"}, "limit must be an integer from 1 to 100."),
    ({"limit": "٣"}, "limit must be an integer from 1 to 100."),
    ({"offset": "-1"}, "offset must be an integer from 0 to 2147483647."),
    ({"offset": "9" * 5000}, "offset must be an integer from 0 to 2147483647."),
    ({"offset": "2147483648"}, "offset must be an integer from 0 to 2147483647."),
])
def test_it_refuses_bad_list_parameters(api, app_jwt, app, query, description):
    make_rows(app, "fake")
    status, code, text = error_of(api.get("/v1/integrations", query, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and text.startswith(description), text


def test_it_gets_one(api, app_jwt, app, platform):
    created = create(api, app_jwt).data["integration"]
    got = api.get(f"/v1/integrations/{created['_id']}", headers=app_jwt)
    assert got.status_code == 200 and got.data["integration"] == created
    secret_free(got)
    assert error_of(api.get("/v1/integrations/nope", headers=app_jwt)) == (
        404, "not_found", "Integration nope not found.")


def test_it_updates_the_display_name_without_calling_the_platform(api, app_jwt, app, platform):
    created = create(api, app_jwt).data["integration"]
    calls = len(platform.requests)
    response = api.put(f"/v1/integrations/{created['_id']}", {"displayName": "Night shift"}, headers=app_jwt)
    assert response.status_code == 200, response.content
    assert response.data["integration"]["displayName"] == "Night shift"
    assert len(platform.requests) == calls
    assert Integration.objects.get().credentials["apiKey"] == SECRET


def test_it_checks_new_credentials_with_the_platform(api, app_jwt, app, platform):
    created = create(api, app_jwt).data["integration"]
    rotated = "sk-rotated-9999"
    response = api.put(f"/v1.1/apps/{app.id}/integrations/{created['_id']}",
                       {"type": "fake", "apiKey": rotated}, headers=app_jwt)
    assert response.status_code == 200, response.content
    assert rotated not in response.content.decode()
    assert platform.received("/check")[-1]["body"] == {"apiKey": rotated}
    assert platform.received("/webhook")[-1]["body"] == {"url": created["inboundUrl"]}
    row = Integration.objects.get()
    assert row.credentials == {"apiKey": rotated, "account": "acme"}
    assert response.data["integration"]["inboundUrl"] == created["inboundUrl"]


def test_a_refused_update_keeps_the_old_credentials(api, app_jwt, app, platform):
    created = create(api, app_jwt).data["integration"]
    platform.fail_next(401)
    status, code, _ = error_of(api.put(f"/v1/integrations/{created['_id']}", {"apiKey": "sk-bad"},
                                       headers=app_jwt))
    assert (status, code) == (400, "platform_refused")
    row = Integration.objects.get()
    assert row.credentials["apiKey"] == SECRET and row.status == IntegrationStatus.ACTIVE


@pytest.mark.parametrize("body,description", [
    ({"type": "twilio"}, "type cannot be changed: delete the integration and create another."),
    ({"token": "t"}, "token is not a property of fake integrations"),
    ({"apiKey": ""}, "apiKey must be a non-empty string."),
    ({"apiKey": ["k"]}, "apiKey must be a non-empty string."),
    ({"displayName": "x" * 101}, "displayName must be a string of at most 100 characters."),
])
def test_it_refuses_bad_updates(api, app_jwt, app, platform, body, description):
    created = create(api, app_jwt).data["integration"]
    calls = len(platform.requests)
    status, code, text = error_of(api.put(f"/v1/integrations/{created['_id']}", body, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and text.startswith(description), text
    assert len(platform.requests) == calls
    assert Integration.objects.get().credentials == {"apiKey": SECRET, "account": "acme"}


def test_it_refuses_to_update_a_type_the_api_cannot_connect(api, app_jwt, app):
    # WeChat: known by its capabilities only (LINE, once here, is connected now).
    (row,) = make_rows(app, "wechat")
    status, code, text = error_of(api.put(f"/v1/integrations/{row.id}", {"displayName": "x"}, headers=app_jwt))
    assert (status, code, text) == (400, "bad_request", "wechat integrations cannot be changed through the API.")


def test_it_deletes_and_unregisters_the_webhook(api, app_jwt, app, platform, make_user):
    created = create(api, app_jwt).data["integration"]
    user = make_user(app, "carol")
    client = add_client(user, "fake", "fake-carol")
    response = api.delete(f"/v1/integrations/{created['_id']}", headers=app_jwt)
    assert response.status_code == 200 and response.data == {}
    assert platform.received("/webhook")[-1]["body"] == {"url": ""}
    assert not Integration.objects.exists()
    client.refresh_from_db()
    assert not client.active  # no longer targeted
    assert error_of(api.get(f"/v1/integrations/{created['_id']}", headers=app_jwt))[:2] == (404, "not_found")
    assert error_of(api.delete(f"/v1/integrations/{created['_id']}", headers=app_jwt))[:2] == (404, "not_found")


def test_it_deletes_even_when_the_platform_refuses_to_unregister(api, app_jwt, app, platform):
    created = create(api, app_jwt).data["integration"]
    platform.fail_next(401)
    assert api.delete(f"/v1/apps/{app.id}/integrations/{created['_id']}", headers=app_jwt).status_code == 200
    assert not Integration.objects.exists()
    entry = LogEntry.objects.get(app=app, kind="integration:deleted")
    assert "401" in entry.detail["unregisterError"]


# ----------------------------------------------------------------- scopes

ROUTES = [("get", ""), ("post", ""), ("get", "/{id}"), ("put", "/{id}"), ("delete", "/{id}")]


def call(api, method, path, headers):
    if method in ("post", "put"):
        return getattr(api, method)(path, BODY if method == "post" else {"displayName": "x"}, headers=headers)
    return getattr(api, method)(path, headers=headers)


@pytest.mark.parametrize("method,where", ROUTES)
def test_the_app_token_and_app_user_jwts_are_refused(api, app, app_token, user_jwt, alice, platform, method,
                                                     where):
    (row,) = make_rows(app, "fake")
    for headers in (app_token, user_jwt("alice")):
        for prefix in ("/v1", "/v1.1"):
            response = call(api, method, f"{prefix}/integrations" + where.format(id=row.id), headers)
            assert error_of(response)[:2] == (403, "forbidden"), (prefix, headers)
    assert platform.requests == []
    assert list(Integration.objects.values_list("id", "display_name")) == [(row.id, row.display_name)]


@pytest.mark.parametrize("method,where", ROUTES)
def test_an_account_key_must_name_the_app(api, account_jwt, app, platform, method, where):
    (row,) = make_rows(app, "fake")
    response = call(api, method, "/v1/integrations" + where.format(id=row.id), account_jwt)
    assert error_of(response)[:2] == (403, "forbidden")
    assert platform.requests == []


@pytest.mark.parametrize("method,where", ROUTES)
def test_another_apps_key_never_sees_or_changes_an_integration(api, app, other_app, platform, method, where):
    """An app key of another team's app, and an account key of another
    team: 404 on this app's paths and this app's integration ids."""
    from messaging.models import KeyScope
    from messaging.services.apps import create_key

    (row,) = make_rows(app, "fake")
    other_key, other_secret = create_key(team=other_app.team, scope=KeyScope.APP, app=other_app, name="b")
    other_app_jwt = bearer(make_jwt(other_key.key_id, other_secret, "app"))
    account_key, account_secret = create_key(team=other_app.team, scope=KeyScope.ACCOUNT, name="b")
    other_account_jwt = bearer(make_jwt(account_key.key_id, account_secret, "account"))
    attempts = [
        (f"/v1/apps/{app.id}/integrations", other_app_jwt),
        (f"/v1.1/apps/{app.id}/integrations", other_account_jwt),
    ]
    if where:
        attempts += [("/v1/integrations", other_app_jwt), (f"/v1/apps/{other_app.id}/integrations", other_account_jwt)]
    for base, headers in attempts:
        response = call(api, method, base + where.format(id=row.id), headers)
        assert error_of(response)[:2] == (404, "not_found"), (base, response.content)
    if not where and method == "get":
        # Their own list holds nothing of this app's.
        assert ids(api.get("/v1/integrations", headers=other_app_jwt)) == []
    row.refresh_from_db()
    assert (row.app_id, row.display_name) == (app.id, "fake 0")
    assert platform.requests == []
    assert Integration.objects.count() == 1


def test_the_secret_never_appears_in_any_response_or_log(api, app_jwt, app, platform):
    created = create(api, app_jwt).data["integration"]
    responses = [
        api.get("/v1/integrations", headers=app_jwt),
        api.get(f"/v1/integrations/{created['_id']}", headers=app_jwt),
        api.put(f"/v1/integrations/{created['_id']}", {"account": "acme2"}, headers=app_jwt),
    ]
    for response in responses:
        assert response.status_code == 200
        secret_free(response)
    platform.fail_next(401, body={"description": "no"})
    responses.append(api.put(f"/v1/integrations/{created['_id']}", {"apiKey": "sk-bad-0000"}, headers=app_jwt))
    assert all("sk-bad-0000" not in r.content.decode() for r in responses)
    for entry in LogEntry.objects.filter(app=app):
        assert SECRET not in json.dumps(entry.detail) + entry.summary


@pytest.mark.parametrize("raw", [
    b'{"type": "fake", "apiKey": "k", "account": "a", "displayName": null}',
    b'{"type": "fake", "apiKey": "k", "account": "a", "x": null}',
    b'{"type": null}',
    b'{"type": {"fake": 1}}',
    b'{"type": "fake", "apiKey": 1e308, "account": true}',
    b'{"type": "fake", "apiKey": "k", "account": "a", "displayName": "\\u0000"}',
    b'{"type": "fake", "apiKey": "k", "account": "a", "\\ud800": 1}',
    b'{"type": "fake", "' + b"k" * 5000 + b'": 1}',
    b'"just a string"',
    b"null",
])
def test_nothing_a_client_sends_causes_a_5xx(api, app_jwt, app, platform, raw):
    (row,) = make_rows(app, "fake")
    for path in ("/v1/integrations", f"/v1.1/apps/{app.id}/integrations"):
        response = api.post(path, raw=raw, headers=app_jwt)
        assert response.status_code in (201, 400), response.content
    response = api.put(f"/v1/integrations/{row.id}", raw=raw, headers=app_jwt)
    assert response.status_code in (200, 400), response.content


# The generated schema is exactly as strict as the service's own check.
CASES = [
    {}, {"type": "fake"}, BODY, {**BODY, "displayName": ""}, {**BODY, "displayName": "d" * 100},
    {**BODY, "displayName": "d" * 101}, {**BODY, "displayName": 1}, {**BODY, "apiKey": " \t"},
    {**BODY, "apiKey": "k" * 2000}, {**BODY, "apiKey": "k" * 2001}, {**BODY, "account": 7},
    {**BODY, "extra": "x"}, {"type": "fake", "account": "a"}, {"apiKey": "k"}, {"displayName": "n"},
    {"type": "fake", "apiKey": "\u00a0k\u2003"}, {"type": "fake", "apiKey": "\u2003"},
    {**BODY, "type": "twilio"},
]


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize("body", CASES, ids=range(len(CASES)))
def test_the_schema_accepts_exactly_what_the_service_accepts(body, partial):
    """For a new integration, and for an update of a fake one."""
    try:
        validators.validate_integration(body, type_="fake" if partial else None)
        documented = True
    except validators.ValidationError:
        documented = False
    type_ = body.get("type", "fake" if partial else None)
    try:
        if type_ != "fake":
            raise ServiceError("another type, or none")
        _clean(integration_class("fake"), body, partial=partial)
        served = True
    except ServiceError:
        served = False
    assert documented == served


def test_every_connectable_channel_has_its_properties_in_the_schema():
    for type_, cls in schemas.CONNECTABLE.items():
        (branch,) = [b["then"] for b in schemas.INTEGRATION["allOf"] if b["if"]["properties"]["type"]["const"] == type_]
        assert set(branch["properties"]) == {f.name for f in cls.fields} | {"displayName"}
        assert branch["required"] == [f.name for f in cls.fields if f.required]


def test_clients_of_other_integrations_are_untouched_by_a_delete(api, app_jwt, app, platform, make_user):
    first = create(api, app_jwt).data["integration"]
    second = create(api, app_jwt, {**BODY, "account": "other"}).data["integration"]
    user = make_user(app, "dave")
    keep = Client.objects.create(app_user=user, platform="fake", external_id="d2", integration_id=second["_id"])
    assert api.delete(f"/v1/integrations/{first['_id']}", headers=app_jwt).status_code == 200
    keep.refresh_from_db()
    assert keep.active
    assert ids(api.get("/v1/integrations", headers=app_jwt)) == [second["_id"]]


# ------------------------------------------- the real channels, as smooch-core sends them


def test_the_official_property_names_are_the_ones_taken():
    """smooch-core's IntegrationType lists (3.5.0 and 8.11.4)."""
    taken = {t: [f.name for f in cls.fields if f.required] for t, cls in schemas.CONNECTABLE.items()}
    assert taken["telegram"] == ["token"]
    assert taken["twilio"] == ["accountSid", "authToken", "phoneNumberSid"]


def test_it_connects_a_telegram_bot(api, app_jwt, app, telegram, settings):
    settings.PARLEY_PUBLIC_URL = "https://parley.example.org"  # Telegram takes HTTPS webhooks only
    response = create(api, app_jwt, {"type": "telegram", "token": TOKEN}, prefix=f"/v1.1/apps/{app.id}")
    assert response.status_code == 201, response.content
    body = response.data["integration"]
    assert (body["type"], body["displayName"], body["username"]) == ("telegram", "Tacos Bot", "tacos_bot")
    assert TOKEN not in response.content.decode()
    row = Integration.objects.get()
    assert telegram.webhook["url"] == body["inboundUrl"] == (
        f"https://parley.example.org/integrations/telegram/{row.id}/webhook")
    assert telegram.webhook["secret_token"] == row.webhook_secret
    assert api.delete(f"/v1.1/apps/{app.id}/integrations/{row.id}", headers=app_jwt).status_code == 200
    assert telegram.calls("deleteWebhook")


def test_a_wrong_telegram_token_is_refused_with_telegrams_reason(api, app_jwt, telegram, settings):
    settings.PARLEY_PUBLIC_URL = "https://parley.example.org"
    wrong = "987654321:" + "B" * 35
    status, code, text = error_of(create(api, app_jwt, {"type": "telegram", "token": wrong}))
    assert (status, code) == (400, "platform_refused") and "Unauthorized" in text, text
    assert wrong not in text
    assert not Integration.objects.exists() and telegram.webhook is None


def test_it_connects_a_twilio_number(api, app_jwt, app, fake_twilio):
    twilio = fake_twilio
    props = {"type": "twilio", **twilio.credentials(), "displayName": "Support line"}
    response = create(api, app_jwt, props, prefix=f"/v1/apps/{app.id}")
    assert response.status_code == 201, response.content
    body = response.data["integration"]
    assert (body["accountSid"], body["phoneNumberSid"], body["phoneNumber"], body["displayName"]) == (
        twilio.account_sid, twilio.phone_number_sid, twilio.phone_number, "Support line")
    assert twilio.auth_token not in response.content.decode()
    assert twilio.numbers[twilio.phone_number_sid]["sms_url"] == body["inboundUrl"]
    listed = api.get(f"/v1/apps/{app.id}/integrations", {"types": "twilio"}, headers=app_jwt)
    assert ids(listed) == [body["_id"]] and twilio.auth_token not in listed.content.decode()
    assert api.delete(f"/v1/apps/{app.id}/integrations/{body['_id']}", headers=app_jwt).status_code == 200
    assert twilio.numbers[twilio.phone_number_sid]["sms_url"] == ""


def test_a_wrong_twilio_auth_token_is_refused_and_stores_nothing(api, app_jwt, fake_twilio):
    twilio = fake_twilio
    props = {"type": "twilio", **twilio.credentials(authToken="0" * 32)}
    status, code, text = error_of(create(api, app_jwt, props))
    assert (status, code) == (400, "platform_refused") and "20003" in text, text
    assert not Integration.objects.exists()
    assert twilio.numbers[twilio.phone_number_sid]["sms_url"] == ""
