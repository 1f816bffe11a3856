"""The inbound path every channel shares, through the test-only fake
channel: the endpoint verifies and stores, the worker applies each event
once (messages, postbacks, starts, delivery states, reads, opt-outs, link
confirmations), and what a failed delivery says about its client, its
integration and the failover (DESIGN.md rule 5)."""

import json

import pytest

from messaging.models import AppUser, Client, Delivery, Integration, LogEntry, Message, PlatformEvent
from tests.support.fake_channel import signature
from tests.support.ws import business_message, make_client, make_user, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="fake", inbound_url="http://testserver/x",
                                      credentials={"apiKey": "k"})


def post_events(client, integration, events, *, secret=None, raw=None):
    body = raw if raw is not None else json.dumps({"events": events}).encode()
    return client.post(f"/integrations/fake/{integration.id}/webhook", data=body,
                       content_type="application/json",
                       HTTP_X_FAKE_SIGNATURE=signature(secret or integration.webhook_secret, body))


def message_event(event_id, external_id="chat-1", text="hi", **data):
    return {"id": event_id, "kind": "message", "externalId": external_id, "data": {"text": text, **data}}


@pytest.mark.smoke
def test_a_signed_message_creates_the_user_and_client_and_is_stored_once(client, integration):
    response = post_events(client, integration, [message_event(1, displayName="Ada Lovelace")])
    assert response.status_code == 200
    assert PlatformEvent.objects.get().state == "pending"  # stored, answered, worked later
    run_tasks()
    [message] = Message.objects.all()
    assert (message.role, message.text, message.source["type"]) == ("appUser", "hi", "fake")
    assert message.source["integrationId"] == integration.id
    user = message.app_user
    assert user.given_name == "Ada Lovelace"
    [user_client] = Client.objects.filter(app_user=user)
    assert (user_client.platform, user_client.external_id, user_client.integration_id) == (
        "fake", "chat-1", integration.id)
    integration.refresh_from_db()
    assert integration.last_inbound_at is not None
    assert PlatformEvent.objects.get().state == "done"

    # The platform delivers the same event again: ignored.
    assert post_events(client, integration, [message_event(1)]).status_code == 200
    run_tasks()
    assert Message.objects.count() == 1 and PlatformEvent.objects.count() == 1


def test_unsigned_wrongly_signed_malformed_and_unknown_webhooks_store_nothing(client, integration):
    assert post_events(client, integration, [message_event(1)], secret="not-the-secret").status_code == 403
    bad = client.post(f"/integrations/fake/{integration.id}/webhook", data=b"{}", content_type="application/json")
    assert bad.status_code == 403
    assert post_events(client, integration, [], raw=b"{not json").status_code == 400
    assert post_events(client, integration, [], raw=b'{"events": [{"kind": 1}]}').status_code == 400
    assert post_events(client, integration, [], raw=b'{"events": ["\\u0000"]}').status_code == 400
    assert client.post("/integrations/fake/nope/webhook", data=b"{}",
                       content_type="application/json").status_code == 404
    assert client.post(f"/integrations/telegram/{integration.id}/webhook", data=b"{}",
                       content_type="application/json").status_code == 404  # wrong type in the path
    get = client.get(f"/integrations/fake/{integration.id}/webhook")
    assert get.status_code == 405 and get["Allow"] == "POST"
    assert not PlatformEvent.objects.exists() and not Message.objects.exists()


def test_an_inbound_message_moves_the_next_business_message_to_that_channel(client, app, integration):
    user = make_user(app, "u-moves")
    make_client(user, "web", minutes_ago=1)
    make_client(user, "fake", minutes_ago=5, external_id="chat-9", integration=integration)
    post_events(client, integration, [message_event(2, external_id="chat-9", text="from the platform")])
    run_tasks()
    message = business_message(AppUser.objects.get(pk=user.pk), "answer")
    assert [(d.client.platform, d.purpose) for d in message.deliveries.all()][0] == ("fake", "preferred")


def test_postbacks_resolve_an_action_by_id_and_reply_labels_become_payloads(client, app, integration):
    user = make_user(app, "u-post")
    make_client(user, "fake", external_id="chat-p", integration=integration)
    buttons = business_message(user, "Pick", actions=[
        {"_id": "a1", "type": "postback", "text": "Buy", "payload": "BUY_" + "x" * 100}])
    post_events(client, integration, [{"id": 3, "kind": "postback", "externalId": "chat-p",
                                       "data": {"actionId": "a1", "text": "Buy"}}])
    run_tasks()
    postback = LogEntry.objects.get(kind="postback")
    assert postback.detail["action"]["payload"] == "BUY_" + "x" * 100
    assert postback.detail["action"]["_id"] == "a1"
    assert buttons.actions[0]["_id"] == "a1"

    business_message(user, "Which size?", actions=[{"type": "reply", "text": "Large", "payload": "SIZE_L"}])
    post_events(client, integration, [message_event(4, external_id="chat-p", text="large")])
    run_tasks()
    answer = Message.objects.filter(role="appUser").get()
    assert (answer.text, answer.payload) == ("Large", "SIZE_L")


def test_start_begins_the_conversation_once_with_its_referral(client, integration):
    start = {"id": 5, "kind": "start", "externalId": "chat-s", "data": {"payload": "promo-7"}}
    post_events(client, integration, [start, {**start, "id": 6}])
    run_tasks()
    [started] = LogEntry.objects.filter(kind="conversation:start")
    assert started.detail["referral"] == {"code": "promo-7"}
    assert AppUser.objects.get().conversation_started


def test_platform_receipts_move_deliveries_and_a_read_cancels_the_failover(client, app, integration,
                                                                           fake_platform):
    user = make_user(app, "u-receipt")
    make_client(user, "fake", external_id="chat-r", integration=integration)
    message = business_message(user, "Hello")
    run_tasks()
    delivery = Delivery.objects.get(message=message)
    assert delivery.state == "sent"
    post_events(client, integration, [{"id": 7, "kind": "delivery", "externalId": "chat-r",
                                       "data": {"platformMessageId": delivery.platform_message_id,
                                                "state": "delivered"}}])
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    post_events(client, integration, [{"id": 8, "kind": "read", "externalId": "chat-r", "data": {}}])
    run_tasks()
    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.state == "read" and message.read_at is not None


def test_a_late_platform_failure_fails_the_delivery_and_fails_over_at_once(client, app, integration,
                                                                         fake_platform):
    user = make_user(app, "u-late")
    make_client(user, "fake", external_id="chat-l", integration=integration)
    backup = make_client(user, "messenger", minutes_ago=10)
    message = business_message(user, "Hello")
    run_tasks()
    delivery = Delivery.objects.get(message=message, purpose="preferred")
    post_events(client, integration, [{"id": 9, "kind": "delivery", "externalId": "chat-l",
                                       "data": {"platformMessageId": delivery.platform_message_id,
                                                "state": "failed",
                                                "error": {"code": "30003", "message": "Unreachable handset"}}}])
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.error["message"] == "Unreachable handset"
    failover = Delivery.objects.get(message=message, purpose="failover")
    assert failover.client_id == backup.id and failover.notify
    message.refresh_from_db()
    assert [d for d in message.decisions if d["rule"] == "failover"][0]["trigger"].startswith(
        "the preferred delivery failed")


def test_a_blocked_bot_marks_the_client_and_fails_over_at_once_to_the_next_push_channel(client, app, integration,
                                                                                      fake_platform):
    user = make_user(app, "u-blocked")
    blocked = make_client(user, "fake", external_id="chat-b", integration=integration)
    older = make_client(user, "messenger", minutes_ago=30)
    fake_platform.fail_next(403, body={"error": "blocked"})
    message = business_message(user, "Hello")
    run_tasks()
    assert Delivery.objects.get(message=message, purpose="preferred").state == "failed"
    assert Delivery.objects.get(message=message, purpose="failover").client_id == older.id
    blocked.refresh_from_db()
    assert blocked.unreachable == "blocked"
    assert LogEntry.objects.filter(kind="client:unreachable").exists()
    # Nothing more is sent there (no platform call) until the user writes again.
    calls = len(fake_platform.received())
    second = business_message(AppUser.objects.get(pk=user.pk), "Still there?")
    run_tasks()
    assert Delivery.objects.get(message=second, client=blocked).error["code"] == "blocked"
    assert len(fake_platform.received()) == calls
    post_events(client, integration, [message_event(14, external_id="chat-b", text="back")])
    run_tasks()
    blocked.refresh_from_db()
    assert blocked.unreachable == ""


def test_an_unreachable_client_fails_without_a_platform_call_until_the_user_opts_in(client, app, integration,
                                                                                   fake_platform):
    user = make_user(app, "u-stop")
    make_client(user, "fake", external_id="+15550001", integration=integration)
    post_events(client, integration, [{"id": 10, "kind": "opt_out", "externalId": "+15550001",
                                       "data": {"text": "STOP"}}])
    run_tasks()
    message = business_message(AppUser.objects.get(pk=user.pk), "Sale!")
    run_tasks()
    delivery = Delivery.objects.get(message=message)
    assert (delivery.state, delivery.error["code"]) == ("failed", "opted_out")
    assert fake_platform.received() == []
    post_events(client, integration, [{"id": 11, "kind": "opt_in", "externalId": "+15550001", "data": {}}])
    run_tasks()
    again = business_message(AppUser.objects.get(pk=user.pk), "Welcome back")
    run_tasks()
    assert Delivery.objects.get(message=again).state == "sent"
    assert len(fake_platform.received()) == 1


def test_refused_credentials_put_the_integration_in_error(app, integration, fake_platform):
    user = make_user(app, "u-creds")
    make_client(user, "fake", external_id="chat-c", integration=integration)
    fake_platform.fail_next(401)
    business_message(user, "Hello")
    run_tasks()
    integration.refresh_from_db()
    assert integration.status == "error" and "401" in integration.error
    assert LogEntry.objects.filter(kind="integration:error").exists()


def test_yes_from_a_pending_number_confirms_the_link(client, app, integration):
    user = make_user(app, "u-link")
    pending = make_client(user, "fake", external_id="+15550002", integration=integration, pending=True)
    post_events(client, integration, [message_event(12, external_id="+15550002", text="Yes")])
    run_tasks()
    pending.refresh_from_db()
    assert not pending.pending
    assert LogEntry.objects.filter(kind="link:confirmed", app_user=user).exists()
    assert not Message.objects.exists()  # the confirmation is not a conversation message


def test_an_event_that_keeps_failing_is_kept_as_failed_with_its_error(client, integration, monkeypatch):
    from messaging.services import inbound
    from tests.support.fake_channel import FakeChannel

    def broken(self, payload):
        raise ValueError("unexpected payload")

    monkeypatch.setattr(FakeChannel, "parse", broken)
    post_events(client, integration, [message_event(13)])
    for _ in range(8):  # each retry made due at once
        PlatformEvent.objects.update(next_attempt_at="2000-01-01T00:00:00Z")
        inbound.run_due()
    row = PlatformEvent.objects.get()
    assert row.state == "failed" and "unexpected payload" in row.error["message"]
    assert not Message.objects.exists()
