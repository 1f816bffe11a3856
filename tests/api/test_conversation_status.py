"""PATCH /v1/appusers/{appUserId}/conversation (Parley extension): the
inbox's status, snooze and assignee over HTTP, every bad input refused
with Smooch's error JSON and nothing changed, and the same fields in the
conversation object the business's calls return (never an end user's)."""

import time

import pytest

from messaging.models import AppUser, LogEntry, Membership, Timer
from tests.api.conftest import error_of


def url(user, prefix="/v1"):
    return f"{prefix}/appusers/{user.id}/conversation"


def state(user):
    """What a refused call must leave as it was."""
    row = AppUser.objects.filter(pk=user.pk).values("status", "snoozed_until", "assignee_id").get()
    return (row, list(Timer.objects.values_list("kind", "subject", "due_at")),
            LogEntry.objects.filter(kind__startswith="conversation:").count())


@pytest.fixture
def started(alice):
    AppUser.objects.filter(pk=alice.pk).update(conversation_started=True)
    return alice


def test_it_resolves_and_reopens(api, app_jwt, started, agent):
    response = api.patch(url(started), {"status": "resolved"}, headers=app_jwt)
    assert response.status_code == 200, response.content
    assert response.data == {"conversation": {"_id": started.id, "unreadCount": 0, "status": "resolved"}}
    started.refresh_from_db()
    assert started.status == "resolved" and started.snoozed_until is None
    entry = LogEntry.objects.get(kind="conversation:status")
    assert entry.detail == {"appUser": {"_id": started.id, "userId": "alice"}, "from": "open", "to": "resolved",
                            "by": "api"}
    response = api.patch(url(started), {"status": "open"}, headers=app_jwt)
    assert response.data["conversation"]["status"] == "open"
    assert LogEntry.objects.filter(kind="conversation:status").count() == 2


def test_it_snoozes_until_a_time_with_a_timer(api, app_jwt, started):
    until = round(time.time() + 3600, 3)
    response = api.patch(url(started), {"status": "snoozed", "snoozedUntil": until}, headers=app_jwt)
    assert response.status_code == 200, response.content
    assert response.data["conversation"] == {"_id": started.id, "unreadCount": 0, "status": "snoozed",
                                             "snoozedUntil": until}
    timer = Timer.objects.get(kind="snooze", subject=started.id)
    assert abs(timer.due_at.timestamp() - until) < 0.001
    # Snoozed again: the same timer moves.
    later = until + 60
    api.patch(url(started), {"status": "snoozed", "snoozedUntil": later}, headers=app_jwt)
    assert abs(Timer.objects.get(kind="snooze", subject=started.id).due_at.timestamp() - later) < 0.001
    # Resolved: the snooze and its timer are gone.
    response = api.patch(url(started), {"status": "resolved"}, headers=app_jwt)
    assert "snoozedUntil" not in response.data["conversation"]
    assert not Timer.objects.filter(kind="snooze").exists()


def test_it_assigns_to_a_team_member_and_unassigns(api, app_jwt, started, agent):
    response = api.patch(url(started), {"assigneeEmail": " Agent@A.example "}, headers=app_jwt)
    assert response.status_code == 200, response.content
    assert response.data["conversation"] == {"_id": started.id, "unreadCount": 0, "status": "open",
                                             "assigneeEmail": "agent@a.example"}
    started.refresh_from_db()
    assert started.assignee == Membership.objects.get(user=agent)
    entry = LogEntry.objects.get(kind="conversation:assigned")
    assert entry.detail == {"appUser": {"_id": started.id, "userId": "alice"}, "to": "agent@a.example", "by": "api"}
    # Status and assignee together.
    response = api.patch(url(started), {"assigneeEmail": None, "status": "resolved"}, headers=app_jwt)
    assert response.data["conversation"] == {"_id": started.id, "unreadCount": 0, "status": "resolved"}
    started.refresh_from_db()
    assert started.assignee is None
    unassigned = LogEntry.objects.filter(kind="conversation:assigned").latest("id")
    assert unassigned.detail["from"] == "agent@a.example" and "to" not in unassigned.detail


def test_a_value_that_does_not_change_emits_nothing(api, app_jwt, started):
    for _ in range(2):
        assert api.patch(url(started), {"status": "open", "assigneeEmail": None},
                         headers=app_jwt).status_code == 200
    assert not LogEntry.objects.filter(kind__startswith="conversation:").exists()


@pytest.mark.parametrize("prefix", ["/v1", "/v1.1"])
def test_it_answers_on_the_account_scope_route(api, account_jwt, app, started, prefix):
    response = api.patch(url(started, f"{prefix}/apps/{app.id}"), {"status": "resolved"}, headers=account_jwt)
    assert response.status_code == 200, response.content
    assert response.data["conversation"]["status"] == "resolved"


def test_v1_1_is_mounted_too(api, app_jwt, started):
    response = api.patch(url(started, "/v1.1"), {"status": "resolved"}, headers=app_jwt)
    assert response.status_code == 200 and response.data["conversation"]["status"] == "resolved"


def future():
    return time.time() + 600


@pytest.mark.parametrize("body,description", [
    ({}, "The body must give status, snoozedUntil or assigneeEmail."),
    ({"status": None}, "The body must give status, snoozedUntil or assigneeEmail."),
    ({"unknown": 1}, "The body must give status, snoozedUntil or assigneeEmail."),
    ({"status": "closed"}, "status must be one of open, snoozed, resolved."),
    ({"status": "Open"}, "status must be one of open, snoozed, resolved."),
    ({"status": 1}, "status must be one of open, snoozed, resolved."),
    ({"status": "snoozed"}, "snoozedUntil is required when status is snoozed."),
    ({"status": "snoozed", "snoozedUntil": 1000}, "snoozedUntil must be in the future."),
    ({"status": "snoozed", "snoozedUntil": "past"}, "snoozedUntil must be a Unix time in seconds "
     "(e.g. 1471995721.586)."),
    ({"status": "snoozed", "snoozedUntil": "tomorrow"}, "snoozedUntil must be a Unix time in seconds "
     "(e.g. 1471995721.586)."),
    ({"status": "snoozed", "snoozedUntil": True}, "snoozedUntil must be a Unix time in seconds "
     "(e.g. 1471995721.586)."),
    ({"status": "snoozed", "snoozedUntil": -5}, "snoozedUntil must be a Unix time in seconds from 0 to "
     "253402300799."),
    ({"status": "snoozed", "snoozedUntil": 1e12}, "snoozedUntil must be a Unix time in seconds from 0 to "
     "253402300799."),
    ({"status": "open", "snoozedUntil": "future"}, "snoozedUntil can only be given with status snoozed."),
    ({"status": "resolved", "snoozedUntil": "future"}, "snoozedUntil can only be given with status snoozed."),
    ({"snoozedUntil": "future"}, "snoozedUntil can only be given with status snoozed."),
    ({"assigneeEmail": "nobody@a.example"}, "assigneeEmail: nobody@a.example is not a member of this app's team."),
    ({"assigneeEmail": "stranger@b.example"}, "assigneeEmail: stranger@b.example is not a member of this app's "
     "team."),
    ({"assigneeEmail": "not-an-email"}, "assigneeEmail must be an email address."),
    ({"assigneeEmail": 5}, "assigneeEmail must be a string."),
    ({"assigneeEmail": ["agent@a.example"]}, "assigneeEmail must be a string."),
    # One bad field refuses the whole body: the good one is not applied.
    ({"status": "resolved", "assigneeEmail": "nobody@a.example"}, "assigneeEmail: nobody@a.example is not a "
     "member of this app's team."),
])
def test_it_refuses_bad_input_and_changes_nothing(api, app_jwt, started, agent, stranger, body, description):
    body = {key: future() if value == "future" else value for key, value in body.items()}
    before = state(started)
    response = api.patch(url(started), body, headers=app_jwt)
    assert error_of(response) == (400, "bad_request", description)
    assert state(started) == before


@pytest.mark.parametrize("raw", ["[]", '"resolved"', "null", "{not json"])
def test_it_refuses_a_body_that_is_not_an_object(api, app_jwt, started, raw):
    before = state(started)
    status, code, _ = error_of(api.patch(url(started), raw=raw, headers=app_jwt))
    assert (status, code) == (400, "bad_request")
    assert state(started) == before


def test_end_user_credentials_are_refused(api, as_alice, started):
    before = state(started)
    status, code, _ = error_of(api.patch(url(started), {"status": "resolved"}, headers=as_alice))
    assert (status, code) == (403, "forbidden")
    assert state(started) == before


@pytest.mark.require_user_jwt(False)
def test_the_app_token_is_refused(api, app_token, started):
    status, code, _ = error_of(api.patch(url(started), {"status": "resolved"}, headers=app_token))
    assert (status, code) == (403, "forbidden")


def test_an_unknown_user_is_404(api, app_jwt, started):
    response = api.patch("/v1/appusers/nobody/conversation", {"status": "resolved"}, headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")


def test_other_methods_are_405(api, app_jwt, started):
    response = api.put(url(started), {"status": "resolved"}, headers=app_jwt)
    assert error_of(response)[:2] == (405, "method_not_allowed")


def test_a_user_message_reopens_a_resolved_conversation(api, app_jwt, as_alice, started):
    api.patch(url(started), {"status": "resolved"}, headers=app_jwt)
    response = api.post(f"/v1/appusers/{started.id}/messages", {"role": "appUser", "type": "text", "text": "again"},
                        headers=as_alice)
    assert response.status_code == 201
    started.refresh_from_db()
    assert started.status == "open"
    reopened = LogEntry.objects.filter(kind="conversation:status").latest("id")
    assert (reopened.detail["from"], reopened.detail["to"], reopened.detail["by"]) == ("resolved", "open", "appUser")
    # A business message does not reopen.
    api.patch(url(started), {"status": "resolved"}, headers=app_jwt)
    api.post(f"/v1/appusers/{started.id}/messages", {"role": "appMaker", "type": "text", "text": "bye"},
             headers=app_jwt)
    started.refresh_from_db()
    assert started.status == "resolved"


def test_the_business_sees_the_inbox_fields_and_the_user_does_not(api, app_jwt, as_alice, started, agent):
    until = round(future(), 3)
    api.patch(url(started), {"status": "snoozed", "snoozedUntil": until, "assigneeEmail": "agent@a.example"},
              headers=app_jwt)
    business = api.get(f"/v1/appusers/{started.id}/messages", headers=app_jwt).data["conversation"]
    assert business == {"_id": started.id, "unreadCount": 0, "status": "snoozed", "snoozedUntil": until,
                        "assigneeEmail": "agent@a.example"}
    # The user's own calls keep Smooch's shape: no team member's email.
    mine = api.get(f"/v1/appusers/{started.id}/messages", headers=as_alice)
    assert mine.data["conversation"] == {"_id": started.id, "unreadCount": 0}
    assert b"agent@a.example" not in mine.content
    sent = api.post(f"/v1/appusers/{started.id}/messages", {"role": "appUser", "type": "text", "text": "hi"},
                    headers=as_alice)
    assert sent.data["conversation"] == {"_id": started.id, "unreadCount": 0}
    # ...and that message reopened the snoozed conversation for the business.
    after = api.get(f"/v1/appusers/{started.id}/messages", headers=app_jwt).data["conversation"]
    assert after == {"_id": started.id, "unreadCount": 0, "status": "open", "assigneeEmail": "agent@a.example"}


def test_webhooks_may_subscribe_to_the_inbox_triggers(api, app_jwt, settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    triggers = ["conversation:status", "conversation:assigned"]
    response = api.post("/v1/webhooks", {"target": "https://example.com/inbox", "triggers": triggers},
                        headers=app_jwt)
    assert response.status_code == 201 and response.data["webhook"]["triggers"] == triggers
    status, _, description = error_of(api.post("/v1/webhooks", {"target": "https://example.com/x",
                                                                 "triggers": ["conversation:closed"]},
                                               headers=app_jwt))
    assert status == 400 and "unknown trigger 'conversation:closed'" in description
