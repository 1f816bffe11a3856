"""Webhook configuration: create, list, get, update, delete (app scope)."""

import pytest

from messaging.events import KINDS, SUBSCRIBABLE_TRIGGERS
from messaging.models import Webhook
from messaging.webhooks import outbox
from tests.api.conftest import error_of


@pytest.mark.smoke
def test_it_creates_a_webhook_with_the_default_trigger(api, app_jwt, app):
    response = api.post("/v1/webhooks", {"target": "http://example.com/callback"}, headers=app_jwt)
    assert response.status_code == 201, response.content
    body = response.data["webhook"]
    assert body["triggers"] == ["message"] and body["target"] == "http://example.com/callback"
    assert len(body["secret"]) >= 20
    assert Webhook.objects.get(app=app).secret == body["secret"]


def test_it_creates_with_triggers(api, app_jwt):
    response = api.post("/v1/webhooks", {"target": "https://example.com/cb",
                                         "triggers": ["message:appUser", "postback", "*"]}, headers=app_jwt)
    assert response.data["webhook"]["triggers"] == ["message:appUser", "postback", "*"]


@pytest.mark.parametrize("body,description", [
    ({}, "target is required."),
    ({"target": "ftp://example.com"}, "target must be an http or https URL."),
    ({"target": "not a url"}, "target must be an http or https URL."),
    ({"target": "http://example.com", "triggers": "message"}, "triggers must be an array of strings."),
    ({"target": "http://example.com", "triggers": []}, "triggers must name at least one trigger."),
    ({"target": "http://example.com", "triggers": ["Message"]}, "unknown trigger 'Message'"),
    ({"target": "http://example.com", "triggers": ["typing:appUser"]}, "unknown trigger 'typing:appUser'"),
])
def test_it_rejects_invalid_webhooks(api, app_jwt, body, description):
    status, code, text = error_of(api.post("/v1/webhooks", body, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and description in text, text
    assert not Webhook.objects.exists()


def test_it_lists_gets_updates_and_deletes(api, app_jwt):
    created = api.post("/v1/webhooks", {"target": "http://example.com/a"}, headers=app_jwt).data["webhook"]
    listed = api.get("/v1/webhooks", headers=app_jwt).data["webhooks"]
    assert listed == [created]
    got = api.get(f"/v1/webhooks/{created['_id']}", headers=app_jwt).data["webhook"]
    assert got == created
    updated = api.put(f"/v1/webhooks/{created['_id']}", {"triggers": ["delivery:failure"]}, headers=app_jwt)
    assert updated.data["webhook"]["triggers"] == ["delivery:failure"]
    assert updated.data["webhook"]["target"] == "http://example.com/a"
    bad = api.put(f"/v1/webhooks/{created['_id']}", {"target": "nope"}, headers=app_jwt)
    assert error_of(bad)[:2] == (400, "bad_request")
    assert api.delete(f"/v1/webhooks/{created['_id']}", headers=app_jwt).status_code == 200
    assert error_of(api.get(f"/v1/webhooks/{created['_id']}", headers=app_jwt))[:2] == (404, "not_found")


def test_it_keeps_webhooks_per_app(api, app_jwt, other_app):
    other = Webhook.objects.create(app=other_app, target="http://example.com/b", triggers=["message"])
    assert api.get("/v1/webhooks", headers=app_jwt).data["webhooks"] == []
    for call in (api.get, api.delete):
        assert error_of(call(f"/v1/webhooks/{other.id}", headers=app_jwt))[:2] == (404, "not_found")
    assert Webhook.objects.filter(pk=other.pk).exists()


def test_it_works_for_an_account_key(api, account_jwt, app):
    response = api.post(f"/v1/apps/{app.id}/webhooks", {"target": "http://example.com/c"}, headers=account_jwt)
    assert response.status_code == 201
    assert Webhook.objects.get().app == app


def test_it_refuses_the_app_token(api, app_token):
    assert error_of(api.get("/v1/webhooks", headers=app_token))[:2] == (403, "forbidden")


@pytest.mark.parametrize("target", ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.0.0.5/h",
                                    "http://[::1]/h", "http://169.254.169.254/latest"])
def test_it_refuses_private_targets_unless_allowed(api, app_jwt, settings, target):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = False
    status, code, text = error_of(api.post("/v1/webhooks", {"target": target}, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and "loopback or private" in text
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    assert api.post("/v1/webhooks", {"target": target}, headers=app_jwt).status_code == 201


def test_every_accepted_trigger_but_payment_success_is_emitted(api, app_jwt):
    emitted = [trigger for _, trigger in KINDS.values() if trigger]
    for trigger in SUBSCRIBABLE_TRIGGERS:
        fired_by = [t for t in emitted if outbox.matches([trigger], t)]
        if trigger == "payment:success":
            assert not fired_by, "Parley takes no payments: payment:success is never emitted"
        else:
            assert fired_by, f"{trigger} is accepted but no event kind fires it"
    # ...and each of them is accepted by the API, payment:success included.
    response = api.post("/v1/webhooks", {"target": "https://example.com/cb", "triggers": list(SUBSCRIBABLE_TRIGGERS)},
                        headers=app_jwt)
    assert response.data["webhook"]["triggers"] == list(SUBSCRIBABLE_TRIGGERS)
