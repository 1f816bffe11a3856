"""Parley's webhook extensions: the webhook object's signing secret and
state, its recorded events (filters, paging), re-delivery of one event or
of every failed one since a time, the test event, re-enabling and secret
rotation; at app scope, account scope and /v1.1, refused to the app token
and appUser JWTs, and never reaching another app's or team's webhooks.

Sending goes through messaging.webhooks.sender.run_due() to a FakePlatform
on 127.0.0.1 (its pool threads only POST: claiming and recording use the
test's own connection, so these tests need no transactional database)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Verifier

from messaging.models import LogEntry, Webhook, WebhookAttempt, WebhookEvent
from messaging.webhooks.sender import run_due
from tests.api.conftest import error_of

HOOK = "/hook"


@pytest.fixture
def receiver(platform_server, settings):
    """The webhook receiver on 127.0.0.1 (the suite's plain FakePlatform),
    with nothing received yet."""
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    platform_server.requests.clear()
    return platform_server


@pytest.fixture
def webhook(app, receiver):
    return Webhook.objects.create(app=app, target=receiver.url + HOOK, triggers=["*"])


def make_event(webhook, state="failed", *, minutes_ago=0, trigger="message:appUser", attempts=()):
    """A recorded event, created `minutes_ago`, with attempt rows: each
    (status or None, error)."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    event = WebhookEvent.objects.create(
        app=webhook.app, webhook=webhook, trigger=trigger, state=state, created_at=at, attempts=len(attempts),
        payload={"trigger": trigger, "app": {"_id": webhook.app_id}, "version": "v1.1", "n": minutes_ago},
        delivered_at=at + timedelta(seconds=1) if state == "delivered" else None,
    )
    for number, (status, error) in enumerate(attempts, 1):
        WebhookAttempt.objects.create(event=event, number=number, at=at + timedelta(seconds=number), status=status,
                                      latency_ms=10 * number, response="" if status is None else f"answer {number}",
                                      error=error)
    return event


def unix(value) -> float:
    """Unix seconds to the millisecond, cut as createdAt's ISO form cuts them."""
    return int(value.timestamp() * 1000) / 1000


def state_of(*events):
    return [(e.state, e.attempts, e.next_attempt_at) for e in WebhookEvent.objects.filter(
        pk__in=[e.pk for e in events]).order_by("pk")]


# ------------------------------------------------------------ the webhook


def test_the_webhook_shows_its_signing_secret_and_state(api, app_jwt, webhook):
    body = api.get(f"/v1/webhooks/{webhook.id}", headers=app_jwt).data["webhook"]
    assert body["signingSecret"] == webhook.signing_secret and body["signingSecret"].startswith("whsec_")
    assert body["enabled"] is True
    assert "disabledReason" not in body and "failingSince" not in body
    since = timezone.now().replace(microsecond=0)
    Webhook.objects.filter(pk=webhook.pk).update(failing_since=since, enabled=False,
                                                 disabled_reason="the target answered 410 Gone")
    body = api.get(f"/v1/webhooks/{webhook.id}", headers=app_jwt).data["webhook"]
    assert body["enabled"] is False and body["disabledReason"] == "the target answered 410 Gone"
    assert body["failingSince"] == since.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_new_webhook_is_enabled_and_enabled_is_not_taken_on_create(api, app_jwt):
    response = api.post("/v1/webhooks", {"target": "https://example.com/cb", "enabled": False}, headers=app_jwt)
    assert response.status_code == 201
    assert response.data["webhook"]["enabled"] is True and Webhook.objects.get().enabled


def test_put_enabled_true_enables_a_webhook_a_410_disabled_and_its_waiting_events_go_out(api, app_jwt, webhook,
                                                                                         receiver):
    Webhook.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason="the target answered 410 Gone")
    waiting = make_event(webhook, "pending")
    assert run_due(budget=5) == 0 and not receiver.received(HOOK)
    response = api.put(f"/v1/webhooks/{webhook.id}", {"enabled": True}, headers=app_jwt)
    assert response.status_code == 200
    assert response.data["webhook"]["enabled"] is True and "disabledReason" not in response.data["webhook"]
    webhook.refresh_from_db()
    assert webhook.enabled and webhook.disabled_reason == ""
    assert run_due(budget=5) == 1
    [request] = receiver.received(HOOK)
    assert request["headers"]["webhook-id"] == waiting.message_id
    assert WebhookEvent.objects.get(pk=waiting.pk).state == "delivered"


def test_put_enabled_false_stops_sending(api, app_jwt, webhook, receiver):
    response = api.put(f"/v1/webhooks/{webhook.id}", {"enabled": False}, headers=app_jwt)
    assert response.data["webhook"]["enabled"] is False and "disabledReason" not in response.data["webhook"]
    make_event(webhook, "pending")
    assert run_due(budget=5) == 0 and not receiver.received(HOOK)


@pytest.mark.parametrize("value", ["true", 1, 0, [], {}])
def test_enabled_must_be_a_boolean(api, app_jwt, webhook, value):
    status, code, text = error_of(api.put(f"/v1/webhooks/{webhook.id}", {"enabled": value}, headers=app_jwt))
    assert (status, code, text) == (400, "bad_request", "enabled must be true or false.")
    assert Webhook.objects.get(pk=webhook.pk).enabled


# ------------------------------------------------------------- the events


def test_it_lists_events_newest_first_with_their_attempts(api, app_jwt, webhook):
    old = make_event(webhook, "failed", minutes_ago=30, attempts=[(500, "the target answered 500"),
                                                                  (None, "timed out after 5s")])
    new = make_event(webhook, "delivered", minutes_ago=1, trigger="conversation:read", attempts=[(200, "")])
    waiting = make_event(webhook, "pending")
    body = api.get(f"/v1/webhooks/{webhook.id}/events", headers=app_jwt).data
    assert [e["_id"] for e in body["events"]] == [str(waiting.pk), str(new.pk), str(old.pk)]
    assert body["hasMore"] is False
    failed = body["events"][2]
    assert failed["trigger"] == "message:appUser" and failed["state"] == "failed"
    assert failed["payload"] == old.payload
    assert failed["webhookId"] == old.message_id == f"msg_{webhook.app_id}_{old.pk}"
    assert "deliveredAt" not in failed and "nextAttemptAt" not in failed
    assert failed["attempts"] == [
        {"number": 1, "at": failed["attempts"][0]["at"], "status": 500, "latencyMs": 10, "response": "answer 1",
         "error": "the target answered 500"},
        {"number": 2, "at": failed["attempts"][1]["at"], "latencyMs": 20, "error": "timed out after 5s"},
    ]
    assert failed["attempts"][0]["at"] < failed["attempts"][1]["at"]
    delivered = body["events"][1]
    assert delivered["deliveredAt"] > delivered["createdAt"]
    assert delivered["attempts"] == [{"number": 1, "at": delivered["attempts"][0]["at"], "status": 200,
                                      "latencyMs": 10, "response": "answer 1"}]
    assert body["events"][0]["attempts"] == [] and "nextAttemptAt" in body["events"][0]


def test_it_filters_events_by_state_and_since(api, app_jwt, webhook):
    old_failure = make_event(webhook, "failed", minutes_ago=60)
    new_failure = make_event(webhook, "failed", minutes_ago=5)
    make_event(webhook, "delivered", minutes_ago=4)
    path = f"/v1/webhooks/{webhook.id}/events"

    def ids(**params):
        return [e["_id"] for e in api.get(path, params, headers=app_jwt).data["events"]]

    assert ids(state="failed") == [str(new_failure.pk), str(old_failure.pk)]
    assert ids(state="pending") == []
    since = unix(new_failure.created_at)
    assert ids(state="failed", since=since) == [str(new_failure.pk)]
    assert len(ids(since=since)) == 2
    assert ids(since=unix(timezone.now()) + 60) == []


def test_it_pages_events_with_limit_and_offset(api, app_jwt, webhook):
    made = [make_event(webhook, "delivered", minutes_ago=n) for n in range(30)]  # made[0] is the newest
    path = f"/v1/webhooks/{webhook.id}/events"
    first = api.get(path, headers=app_jwt).data
    assert len(first["events"]) == 25 and first["hasMore"] is True
    assert [e["_id"] for e in first["events"]] == [str(e.pk) for e in made[:25]]
    rest = api.get(path, {"offset": 25}, headers=app_jwt).data
    assert [e["_id"] for e in rest["events"]] == [str(e.pk) for e in made[25:]] and rest["hasMore"] is False
    page = api.get(path, {"limit": 10, "offset": 10}, headers=app_jwt).data
    assert [e["_id"] for e in page["events"]] == [str(e.pk) for e in made[10:20]] and page["hasMore"] is True
    assert len(api.get(path, {"limit": 100}, headers=app_jwt).data["events"]) == 30
    assert api.get(path, {"limit": 1, "offset": 29}, headers=app_jwt).data["hasMore"] is False


STATE_ERROR = "state must be one of pending, delivered, failed."
SINCE_ERROR = "since must be a Unix timestamp in seconds"
# limit and offset are read as the integrations list reads them (tests/api/test_integrations_api.py).
BAD_QUERIES = {
    "state=lost": STATE_ERROR, "state=": STATE_ERROR, "state=FAILED": STATE_ERROR,
    "since=yesterday": SINCE_ERROR, "since=-1": SINCE_ERROR, "since=NaN": SINCE_ERROR, "since=1e30": SINCE_ERROR,
    "limit=101": "limit must be an integer from 1 to 100.",
    "offset=-1": "offset must be an integer from 0 to 2147483647.",
}


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_event_queries_are_400s(api, app_jwt, webhook, query):
    status, code, text = error_of(api.get(f"/v1/webhooks/{webhook.id}/events?{query}", headers=app_jwt))
    assert (status, code) == (400, "bad_request") and BAD_QUERIES[query] in text, text


# ------------------------------------------------------------- re-delivery


def test_redelivering_one_event_sends_it_again_with_the_same_webhook_id(api, app_jwt, webhook, receiver):
    event = make_event(webhook, "failed", minutes_ago=10, attempts=[(500, "the target answered 500")] * 6)
    response = api.post(f"/v1/webhooks/{webhook.id}/events/{event.pk}/redeliver", headers=app_jwt)
    assert response.status_code == 202
    body = response.data["event"]
    assert body["_id"] == str(event.pk) and body["state"] == "pending" and len(body["attempts"]) == 6
    event.refresh_from_db()
    assert event.state == "pending" and event.attempts == event.retry_base == 6  # numbering goes on
    assert event.next_attempt_at <= timezone.now()
    assert LogEntry.objects.filter(kind="webhook:redeliver").count() == 1
    assert run_due(budget=5) == 1
    [request] = receiver.received(HOOK)
    assert request["headers"]["webhook-id"] == event.message_id
    assert request["body"] == event.payload
    listed = api.get(f"/v1/webhooks/{webhook.id}/events", headers=app_jwt).data["events"][0]
    assert listed["state"] == "delivered" and len(listed["attempts"]) == 7
    assert listed["attempts"][-1]["number"] == 7 and listed["attempts"][-1]["status"] == 200


def test_a_delivered_event_can_be_redelivered_too(api, app_jwt, webhook, receiver):
    event = make_event(webhook, "delivered", attempts=[(200, "")])
    assert api.post(f"/v1/webhooks/{webhook.id}/events/{event.pk}/redeliver", headers=app_jwt).status_code == 202
    assert run_due(budget=5) == 1 and len(receiver.received(HOOK)) == 1


def test_redelivering_failed_events_since_a_time_catches_a_receiver_up(api, app_jwt, webhook, receiver):
    before_outage = make_event(webhook, "failed", minutes_ago=120)
    during = [make_event(webhook, "failed", minutes_ago=n) for n in (30, 20, 10)]
    delivered = make_event(webhook, "delivered", minutes_ago=15)
    since = unix(during[0].created_at)
    response = api.post(f"/v1/webhooks/{webhook.id}/redeliver", {"since": since}, headers=app_jwt)
    assert response.status_code == 202 and response.data == {"count": 3}
    assert [e.state for e in WebhookEvent.objects.filter(pk__in=[e.pk for e in during])] == ["pending"] * 3
    assert WebhookEvent.objects.get(pk=before_outage.pk).state == "failed"
    assert WebhookEvent.objects.get(pk=delivered.pk).state == "delivered"
    assert run_due(budget=5) == 3
    assert sorted(r["headers"]["webhook-id"] for r in receiver.received(HOOK)) == sorted(
        e.message_id for e in during)
    assert {e.state for e in WebhookEvent.objects.filter(pk__in=[e.pk for e in during])} == {"delivered"}
    again = api.post(f"/v1/webhooks/{webhook.id}/redeliver", {"since": since}, headers=app_jwt)
    assert again.data == {"count": 0}


def test_redeliver_since_takes_an_integer_and_only_this_webhooks_events(api, app_jwt, app, webhook):
    other = Webhook.objects.create(app=app, target=webhook.target, triggers=["*"])
    theirs = make_event(other, "failed")
    mine = make_event(webhook, "failed")
    response = api.post(f"/v1/webhooks/{webhook.id}/redeliver", {"since": 0}, headers=app_jwt)
    assert response.data == {"count": 1}
    assert WebhookEvent.objects.get(pk=mine.pk).state == "pending"
    assert WebhookEvent.objects.get(pk=theirs.pk).state == "failed"


@pytest.mark.parametrize("body,description", [
    ({}, "since is required."),
    ({"since": None}, "since is required."),
    ({"since": "1700000000"}, "since must be a Unix time in seconds"),
    ({"since": True}, "since must be a Unix time in seconds"),
    ({"since": -5}, "since must be a Unix time in seconds from 0 to 253402300799."),
    ({"since": 1e20}, "since must be a Unix time in seconds from 0 to 253402300799."),
])
def test_bad_redeliver_bodies_are_400s_and_change_nothing(api, app_jwt, webhook, body, description):
    event = make_event(webhook, "failed")
    status, code, text = error_of(api.post(f"/v1/webhooks/{webhook.id}/redeliver", body, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and description in text, text
    assert WebhookEvent.objects.get(pk=event.pk).state == "failed"


def test_a_body_that_is_not_json_is_a_400(api, app_jwt, webhook):
    status, code, _ = error_of(api.post(f"/v1/webhooks/{webhook.id}/redeliver", raw="since=1", headers=app_jwt))
    assert (status, code) == (400, "bad_request")


# ------------------------------------------------------------- test event


def test_the_test_event_is_sent_signed_and_recorded(api, app_jwt, app, receiver):
    # Only conversation:read: a test event goes whatever the triggers.
    webhook = Webhook.objects.create(app=app, target=receiver.url + HOOK, triggers=["conversation:read"])
    response = api.post(f"/v1/webhooks/{webhook.id}/test", headers=app_jwt)
    assert response.status_code == 202
    event = response.data["event"]
    assert event["trigger"] == "webhook:test" and event["state"] == "pending" and event["attempts"] == []
    assert event["payload"]["webhook"] == {"_id": webhook.id} and event["payload"]["app"] == {"_id": app.id}
    assert run_due(budget=5) == 1
    [request] = receiver.received(HOOK)
    assert request["body"]["trigger"] == "webhook:test"
    assert request["headers"]["X-API-Key"] == webhook.secret
    raw = json.dumps(request["body"], separators=(",", ":"))
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert Verifier(webhook.signing_secret).verify(raw, headers) == request["body"]
    assert headers["webhook-id"] == event["webhookId"]
    [listed] = api.get(f"/v1/webhooks/{webhook.id}/events", headers=app_jwt).data["events"]
    assert listed["state"] == "delivered" and [a["status"] for a in listed["attempts"]] == [200]


# --------------------------------------------------------------- rotation


def test_rotating_the_signing_secret_keeps_the_previous_one_signing(api, app_jwt, webhook, receiver):
    old = webhook.signing_secret
    response = api.post(f"/v1/webhooks/{webhook.id}/rotate", {"secret": "signing"}, headers=app_jwt)
    assert response.status_code == 200
    new = response.data["webhook"]["signingSecret"]
    assert new != old and new.startswith("whsec_") and response.data["webhook"]["secret"] == webhook.secret
    api.post(f"/v1/webhooks/{webhook.id}/test", headers=app_jwt)
    run_due(budget=5)
    [request] = receiver.received(HOOK)
    raw = json.dumps(request["body"], separators=(",", ":"))
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        Verifier(secret).verify(raw, headers)


def test_rotating_the_api_key_secret_replaces_it_at_once(api, app_jwt, webhook):
    response = api.post(f"/v1/webhooks/{webhook.id}/rotate", {"secret": "apiKey"}, headers=app_jwt)
    body = response.data["webhook"]
    assert body["secret"] != webhook.secret and body["signingSecret"] == webhook.signing_secret
    assert Webhook.objects.get(pk=webhook.pk).secret == body["secret"]


@pytest.mark.parametrize("body,description", [
    ({}, "secret is required."),
    ({"secret": "both"}, "secret must be signing or apiKey."),
    ({"secret": 1}, "secret must be signing or apiKey."),
])
def test_bad_rotations_are_400s_and_change_nothing(api, app_jwt, webhook, body, description):
    status, code, text = error_of(api.post(f"/v1/webhooks/{webhook.id}/rotate", body, headers=app_jwt))
    assert (status, code, text) == (400, "bad_request", description)
    after = Webhook.objects.get(pk=webhook.pk)
    assert (after.secret, after.signing_secret) == (webhook.secret, webhook.signing_secret)


# ------------------------------------------------------ scopes and tenancy


def calls(webhook_id, event_id):
    """Every new route: (method, path, body)."""
    base = f"webhooks/{webhook_id}"
    return [
        ("get", f"{base}/events", None),
        ("post", f"{base}/events/{event_id}/redeliver", None),
        ("post", f"{base}/redeliver", {"since": 0}),
        ("post", f"{base}/test", None),
        ("post", f"{base}/rotate", {"secret": "signing"}),
    ]


def test_every_route_answers_at_account_scope_and_under_v1_1(api, account_jwt, app_jwt, app, webhook):
    event = make_event(webhook, "failed")
    for prefix, headers in ((f"/v1/apps/{app.id}/", account_jwt), ("/v1.1/", app_jwt),
                            (f"/v1.1/apps/{app.id}/", account_jwt)):
        for method, path, body in calls(webhook.id, event.pk):
            response = getattr(api, method)(prefix + path, body, headers=headers)
            assert response.status_code in (200, 202), (prefix + path, response.content)


def test_the_app_token_and_appuser_jwts_are_refused(api, app_token, user_jwt, alice, webhook):
    event = make_event(webhook, "failed")
    before = state_of(event), Webhook.objects.values_list("secret", "signing_secret").get(pk=webhook.pk)
    for headers in (app_token, user_jwt("alice")):
        for method, path, body in calls(webhook.id, event.pk):
            status, code, _ = error_of(getattr(api, method)("/v1/" + path, body, headers=headers))
            assert (status, code) == (403, "forbidden"), path
    assert (state_of(event), Webhook.objects.values_list("secret", "signing_secret").get(pk=webhook.pk)) == before
    assert WebhookEvent.objects.count() == 1


def test_no_key_reaches_another_teams_webhooks(api, app_jwt, account_jwt, app, other_app, receiver):
    theirs = Webhook.objects.create(app=other_app, target=receiver.url + HOOK, triggers=["*"])
    event = make_event(theirs, "failed", attempts=[(500, "secret answer of B")])
    before = state_of(event), Webhook.objects.values_list("secret", "signing_secret").get(pk=theirs.pk)
    for prefix, headers in (("/v1/", app_jwt), (f"/v1/apps/{app.id}/", account_jwt),
                            (f"/v1/apps/{other_app.id}/", account_jwt)):
        for method, path, body in calls(theirs.id, event.pk):
            response = getattr(api, method)(prefix + path, body, headers=headers)
            assert error_of(response)[:2] == (404, "not_found"), (prefix + path)
            text = response.content.decode()
            assert theirs.secret not in text and "secret answer of B" not in text
    after = state_of(event), Webhook.objects.values_list("secret", "signing_secret").get(pk=theirs.pk)
    assert after == before and WebhookEvent.objects.count() == 1
    assert run_due(budget=5) == 0 and not receiver.received(HOOK)


def test_an_event_of_another_webhook_is_not_found(api, app_jwt, app, webhook):
    other = Webhook.objects.create(app=app, target=webhook.target, triggers=["*"])
    event = make_event(other, "failed")
    status, code, _ = error_of(api.post(f"/v1/webhooks/{webhook.id}/events/{event.pk}/redeliver", headers=app_jwt))
    assert (status, code) == (404, "not_found")
    assert WebhookEvent.objects.get(pk=event.pk).state == "failed"


@pytest.mark.parametrize("event_id", ["12345", "abc", "99999999999999999999999", "9223372036854775808", "١٢"])
def test_unknown_event_ids_are_404s(api, app_jwt, webhook, event_id):
    status, code, _ = error_of(api.post(f"/v1/webhooks/{webhook.id}/events/{event_id}/redeliver", headers=app_jwt))
    assert (status, code) == (404, "not_found")


def test_unknown_webhook_ids_are_404s(api, app_jwt):
    for method, path, body in calls("nope", 1):
        status, code, text = error_of(getattr(api, method)("/v1/" + path, body, headers=app_jwt))
        assert (status, code) == (404, "not_found") and "Webhook nope not found." == text
