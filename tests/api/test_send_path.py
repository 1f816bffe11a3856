"""The send path's budget: the API key cache (and how revocation still
wins), and the statements one POST /v1/appusers/{id}/messages costs."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import process_cache
from messaging.models import ApiKey, Delivery, LogEntry, Message, Webhook, WebhookEvent
from messaging.process_cache import ProcessCache
from messaging.services import credentials
from messaging.services.apps import revoke_key
from tests.api.conftest import add_client, error_of


def url(app_user):
    return f"/v1/appusers/{app_user.id}/messages"


def send(api, app_user, headers, text="hi"):
    return api.post(url(app_user), {"type": "text", "text": text, "role": "appMaker"}, headers=headers)


def test_it_refuses_a_key_revoked_in_this_process_at_once(api, app, alice, app_jwt):
    assert send(api, alice, app_jwt).status_code == 201  # the key is cached now
    revoke_key(app.test_key)
    response = send(api, alice, app_jwt)
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: this key has been revoked.")


def test_it_refuses_a_deleted_key_at_once(api, app, alice, app_jwt):
    assert send(api, alice, app_jwt).status_code == 201
    app.test_key.delete()
    assert error_of(send(api, alice, app_jwt))[0] == 401


def test_it_sees_a_revocation_from_another_process_at_its_next_check(api, app, alice, app_jwt, monkeypatch):
    assert send(api, alice, app_jwt).status_code == 201
    # Another process revokes: its signal tells every process through the
    # shared generation (its own cache, here a second instance), but this
    # process's post_save never ran.
    ApiKey.objects.filter(pk=app.test_key.pk).update(revoked_at=timezone.now())
    ProcessCache("api-keys").changed()
    # Before the next check, this process still has the key...
    assert send(api, alice, app_jwt).status_code == 201
    clock = process_cache.time.monotonic()
    monkeypatch.setattr(process_cache.time, "monotonic", lambda: clock + process_cache.CHECK_SECONDS)
    # ...and at it, sees the change (tests/live/test_process_caches.py: between real processes).
    response = send(api, alice, app_jwt)
    assert error_of(response) == (401, "unauthorized", "Invalid JWT: this key has been revoked.")


def test_it_does_not_cache_unknown_key_ids(api, app, alice, app_jwt):
    credentials.forget_keys()
    api.get(f"/v1/appusers/{alice.id}", headers={"Authorization": "Bearer x.y.z"})
    assert credentials._keys._entries == {}


def test_it_sends_in_few_statements_when_the_app_has_no_webhook(api, app, alice, app_jwt):
    add_client(alice, "web", external_id="second-device")
    send(api, alice, app_jwt, "first")  # starts the conversation, caches the key
    with CaptureQueriesContext(connection) as queries:
        response = send(api, alice, app_jwt, "second")
    assert response.status_code == 201
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # app user (+ has-webhooks), clients, message (with its decisions),
    # conversation counters, the log entries (the message's and both
    # deliveries'), the deliveries (stored as sent: web).
    assert len(statements) <= 6, "\n".join(statements)
    assert sum('INSERT INTO "messaging_logentry"' in sql for sql in statements) == 1
    assert not any('FROM "messaging_webhook"' in sql and "EXISTS" not in sql for sql in statements)
    message = Message.objects.get(pk=response.data["message"]["_id"])
    assert [d["rule"] for d in message.decisions] == ["preferred", "silent", "no-failover"]
    assert Delivery.objects.filter(message=message).count() == 2


def test_it_still_queues_webhooks_when_the_app_has_one(api, app, alice, app_jwt):
    send(api, alice, app_jwt, "first")
    Webhook.objects.create(app=app, target="https://hooks.example/parley", triggers=["message:appMaker"])
    response = send(api, alice, app_jwt, "second")
    assert response.status_code == 201
    assert WebhookEvent.objects.filter(app=app, trigger="message:appMaker").count() == 1


def test_web_deliveries_are_stored_sent_with_the_message(api, app, alice, app_jwt,
                                                         django_capture_on_commit_callbacks):
    add_client(alice, "web", external_id="second-device")
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, alice, app_jwt, "hello")
    assert response.status_code == 201
    message_id = response.data["message"]["_id"]
    deliveries = Delivery.objects.filter(message_id=message_id).order_by("purpose")
    # Parley is the web widget's platform: nothing to wait for.
    assert [(d.purpose, d.state, d.attempts, d.platform_message_id) for d in deliveries] == [
        ("preferred", "sent", 1, f"web:{message_id}"), ("silent", "sent", 1, f"web:{message_id}")]
    assert all(d.sent_at is not None for d in deliveries)
    success = LogEntry.objects.filter(app=app, kind="delivery:success")
    assert sorted(entry.detail["deliveryId"] for entry in success) == sorted(d.id for d in deliveries)
    # No worker round for them.
    assert not DBTaskResult.objects.filter(task_path__endswith="send_deliveries").exists()


def test_platform_deliveries_still_wait_for_the_worker(api, app, alice, app_jwt,
                                                       django_capture_on_commit_callbacks):
    add_client(alice, "telegram", external_id="tg-1")  # seen last: the preferred client
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, alice, app_jwt, "hello")
    assert response.status_code == 201
    states = dict(Delivery.objects.filter(message_id=response.data["message"]["_id"])
                  .values_list("client__platform", "state"))
    assert states == {"telegram": "queued", "web": "sent"}
    assert DBTaskResult.objects.filter(task_path__endswith="send_deliveries", status="READY").count() == 1


def test_web_deliveries_fire_delivery_success_webhooks(api, app, alice, app_jwt):
    Webhook.objects.create(app=app, target="https://hooks.example/parley", triggers=["delivery:success"])
    response = send(api, alice, app_jwt, "hello")
    assert response.status_code == 201
    event = WebhookEvent.objects.get(app=app, trigger="delivery:success")
    assert event.payload["destination"] == {"type": "web"}
    assert event.payload["messages"][0]["_id"] == response.data["message"]["_id"]
    assert event.payload["isFinalEvent"] is False


@pytest.mark.smoke
def test_a_webhook_created_just_before_a_send_gets_its_events(api, app, alice, app_jwt):
    """Whether the app has webhooks is read in the send's own transaction:
    no answer from an earlier call is trusted (on every database: SQLite
    answers EXISTS with 0 / 1)."""
    assert send(api, alice, app_jwt, "before").status_code == 201
    assert not WebhookEvent.objects.filter(app=app).exists()
    created = api.post("/v1/webhooks", {"target": "https://hooks.example/parley", "triggers": ["*"]},
                       headers=app_jwt)
    assert created.status_code == 201, created.content
    response = send(api, alice, app_jwt, "after")
    assert response.status_code == 201
    events = WebhookEvent.objects.filter(app=app).order_by("id")
    assert [e.trigger for e in events] == ["message:appMaker", "delivery:success"]
    assert all(e.payload["messages"][0]["_id"] == response.data["message"]["_id"] for e in events)


def test_a_send_to_an_app_with_webhooks_reads_the_users_clients_twice_at_most(api, app, alice, app_jwt):
    """Once to target the message, once for the webhook payloads' appUser
    (shared by the conversation's, the message's and the delivery's events)."""
    Webhook.objects.create(app=app, target="https://hooks.example/parley", triggers=["*"])
    with CaptureQueriesContext(connection) as queries:
        assert send(api, alice, app_jwt, "hello").status_code == 201
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith("SELECT") and 'FROM "messaging_client"' in q["sql"]]
    assert len(reads) == 2, "\n".join(reads)
    events = WebhookEvent.objects.filter(app=app).order_by("id")
    assert [e.trigger for e in events] == ["conversation:start", "message:appMaker", "delivery:success"]
    assert all(e.payload["appUser"]["_id"] == alice.id for e in events)


def test_a_flushed_shared_cache_hides_no_revocation(api, app, alice, app_jwt, monkeypatch):
    """Redis restarted (or its cache flushed) between two changes: the new
    generation never equals the one a process remembers."""
    clock = [process_cache.time.monotonic()]
    monkeypatch.setattr(process_cache.time, "monotonic", lambda: clock[0])

    def later():
        clock[0] += process_cache.CHECK_SECONDS

    # A generation this process takes as seen (a counter's 1, say)...
    cache.set(ProcessCache("api-keys")._shared_key, 1, timeout=None)
    later()
    assert send(api, alice, app_jwt).status_code == 201  # the key cached, the generation seen
    # ...then the flush, and a change counted from nothing again.
    cache.clear()
    ApiKey.objects.filter(pk=app.test_key.pk).update(revoked_at=timezone.now())
    ProcessCache("api-keys").changed()
    later()
    assert error_of(send(api, alice, app_jwt)) == (401, "unauthorized", "Invalid JWT: this key has been revoked.")
