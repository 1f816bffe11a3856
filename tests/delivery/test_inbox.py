"""The inbox's engine (messaging/services/inbox.py): status, the snooze's
timer, the reopen on a user message, assignment and a member leaving, the
views and counts, private notes, and where each event goes (the app's
group, never the user's; webhooks only when named)."""

import asyncio
import time
from datetime import timedelta

import jwt
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.utils import timezone

from messaging import events
from messaging.delivery import timers
from messaging.models import (
    NOTE_MAX_LENGTH,
    AppUser,
    LogEntry,
    Membership,
    Message,
    Note,
    Role,
    Timer,
    Webhook,
    WebhookEvent,
)
from messaging.services import accounts, inbox
from messaging.services.errors import PermissionDenied, ServiceError
from messaging.services.messages import post_message
from messaging.webhooks import sender
from tests.support.cast import add_member
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.ws import business_message, make_client, make_user, user_jwt


def user_message(app_user, text="hello"):
    return post_message(app_user, role="appUser", fields={"type": "text", "text": text})


def member(user):
    return Membership.objects.select_related("user").get(user=user)


def kinds(**filters):
    return list(LogEntry.objects.filter(**filters).order_by("id").values_list("kind", flat=True))


def status_of(app_user):
    return AppUser.objects.filter(pk=app_user.pk).values_list("status", "snoozed_until").get()


def wait_until(check, timeout=2.0):
    """Poll `check` to a deadline (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ------------------------------------------------------------ status, snooze


@pytest.mark.django_db
def test_new_conversations_are_open(user):
    user_message(user)
    assert status_of(user) == ("open", None)
    assert "conversation:status" not in kinds()


@pytest.mark.django_db
def test_a_snooze_wakes_at_its_time_through_its_timer(user):
    user_message(user)
    until = timezone.now() + timedelta(milliseconds=500)
    inbox.update_conversation(user, {"status": "snoozed", "snoozed_until": until})
    assert status_of(user) == ("snoozed", until)
    assert timers.run_due() == 0  # not yet due: nothing fires
    assert status_of(user)[0] == "snoozed"

    wait_until(lambda: timers.run_due() == 1)
    assert status_of(user) == ("open", None)
    assert not Timer.objects.filter(kind="snooze").exists()
    woke = LogEntry.objects.filter(kind="conversation:status").latest("id")
    assert (woke.detail["from"], woke.detail["to"], woke.detail["by"]) == ("snoozed", "open", "snooze")


@pytest.mark.django_db
def test_a_user_message_reopens_a_snoozed_conversation_and_its_timer_then_does_nothing(user):
    user_message(user)
    until = timezone.now() + timedelta(milliseconds=200)
    inbox.update_conversation(user, {"status": "snoozed", "snoozed_until": until})
    fresh = AppUser.objects.get(pk=user.pk)
    user_message(fresh, "still there?")
    assert status_of(user) == ("open", None)
    reopened = LogEntry.objects.filter(kind="conversation:status").latest("id")
    assert reopened.detail["by"] == "appUser" and reopened.detail["from"] == "snoozed"
    # The same message's events: the reopen follows the message.
    assert kinds()[-2:] == ["message:appUser", "conversation:status"]
    # The timer is left (locking it after the app user would invert the
    # handler's order): when it fires it finds the conversation open.
    count = LogEntry.objects.count()
    wait_until(lambda: timers.run_due() == 1)
    assert status_of(user) == ("open", None) and LogEntry.objects.count() == count


@pytest.mark.django_db
def test_a_stale_instance_still_reopens(user):
    """The reopen reads the status from the message's own UPDATE, not the
    caller's copy of the user (an SDK socket holds one for its life)."""
    user_message(user)
    stale = AppUser.objects.get(pk=user.pk)
    inbox.update_conversation(user, {"status": "resolved"})
    assert stale.status == "open"
    user_message(stale)
    assert status_of(user) == ("open", None)


@pytest.mark.django_db
def test_a_snooze_moved_later_wakes_only_at_the_new_time(user):
    user_message(user)
    inbox.update_conversation(user, {"status": "snoozed", "snoozed_until": timezone.now() + timedelta(hours=1)})
    soon = timezone.now() + timedelta(milliseconds=200)
    inbox.update_conversation(user, {"status": "snoozed", "snoozed_until": soon})
    assert Timer.objects.filter(kind="snooze").count() == 1
    wait_until(lambda: timers.run_due() == 1)
    assert status_of(user) == ("open", None)


@pytest.mark.django_db
def test_the_service_refuses_what_the_api_refuses(user, owner, stranger):
    with pytest.raises(ServiceError, match="snoozedUntil is required"):
        inbox.update_conversation(user, {"status": "snoozed"})
    with pytest.raises(ServiceError, match="in the future"):
        inbox.update_conversation(user, {"status": "snoozed", "snoozed_until": timezone.now()})
    with pytest.raises(ServiceError, match="status must be one of"):
        inbox.update_conversation(user, {"status": "closed"})
    with pytest.raises(ServiceError, match="not a member of this app's team"):
        inbox.update_conversation(user, {"assignee_email": "stranger@b.example"})
    with pytest.raises(PermissionDenied):
        inbox.update_conversation(user, {"status": "resolved"}, by=member(stranger))
    assert status_of(user) == ("open", None) and not LogEntry.objects.exists()


# ----------------------------------------------------------------- assignment


@pytest.mark.django_db
def test_a_member_names_themselves_in_the_event(user, owner, agent):
    inbox.update_conversation(user, {"assignee_email": "agent@a.example", "status": "resolved"}, by=member(owner))
    details = {e.kind: e.detail for e in LogEntry.objects.all()}
    assert details["conversation:assigned"]["by"] == "owner@a.example"
    assert details["conversation:status"]["by"] == "owner@a.example"


@pytest.mark.django_db
def test_a_member_removed_from_the_team_leaves_their_conversations_unassigned(app, user, owner, agent):
    other = make_user(app, "u2")
    for app_user in (user, other):
        inbox.update_conversation(app_user, {"assignee_email": "agent@a.example"})
    accounts.remove_member(membership=member(owner), target=member(agent))
    assert not AppUser.objects.filter(assignee__isnull=False).exists()
    left = LogEntry.objects.filter(kind="conversation:assigned", detail__by="owner@a.example")
    assert sorted(left.values_list("app_user_id", flat=True)) == sorted([user.pk, other.pk])
    assert all(e.detail["from"] == "agent@a.example" and "to" not in e.detail for e in left)


@pytest.mark.django_db
def test_a_deleted_account_unassigns_through_the_foreign_key(user, agent):
    inbox.update_conversation(user, {"assignee_email": "agent@a.example"})
    agent.delete()
    assert AppUser.objects.get(pk=user.pk).assignee is None


@pytest.mark.django_db
def test_an_inactive_account_cannot_be_assigned(user, agent):
    agent.is_active = False
    agent.save()
    with pytest.raises(ServiceError, match="not a member"):
        inbox.update_conversation(user, {"assignee_email": "agent@a.example"})


# ---------------------------------------------------------- views and counts


@pytest.fixture
def inbox_of(app, owner, agent):
    """Six started conversations of `app` in every state, oldest activity
    first, and one never started (not in the inbox)."""
    now = timezone.now()
    users = {}
    for i, name in enumerate(["mine", "agents", "unassigned", "snoozed", "resolved", "mine-resolved"]):
        users[name] = make_user(app, name)
        post_message(users[name], role="appUser", fields={"type": "text", "text": f"from {name}"})
        AppUser.objects.filter(pk=users[name].pk).update(last_activity_at=now - timedelta(minutes=10 - i))
    make_user(app, "silent")
    inbox.update_conversation(users["mine"], {"assignee_email": "owner@a.example"})
    inbox.update_conversation(users["agents"], {"assignee_email": "agent@a.example"})
    inbox.update_conversation(users["snoozed"], {"status": "snoozed", "snoozed_until": now + timedelta(hours=1)})
    inbox.update_conversation(users["resolved"], {"status": "resolved"})
    inbox.update_conversation(users["mine-resolved"], {"status": "resolved", "assignee_email": "owner@a.example"})
    business_message(users["agents"], "an answer")
    AppUser.objects.filter(pk=users["agents"].pk).update(last_activity_at=now - timedelta(minutes=20))
    return users


@pytest.mark.django_db
def test_counts_are_one_query(app, owner, agent, inbox_of, django_assert_num_queries):
    me = member(owner)
    with django_assert_num_queries(1):
        mine = inbox.counts(app, me)
    assert mine == {"mine": 1, "unassigned": 1, "open": 3, "snoozed": 1, "resolved": 2}
    assert inbox.counts(app, member(agent))["mine"] == 1
    assert inbox.counts(app, None)["mine"] == 0


@pytest.mark.django_db
def test_each_view_lists_its_conversations_by_latest_activity(app, owner, inbox_of):
    me = member(owner)
    names = {view: [u.user_id for u in inbox.conversations(app, me, view)] for view in inbox.VIEWS}
    assert names == {
        "mine": ["mine"],
        "unassigned": ["unassigned"],
        "open": ["unassigned", "mine", "agents"],
        "snoozed": ["snoozed"],
        "resolved": ["mine-resolved", "resolved"],
    }
    with pytest.raises(ServiceError, match="view must be one of"):
        inbox.conversations(app, me, "everything")


@pytest.mark.django_db
def test_a_view_costs_one_query_however_many_rows(app, owner, inbox_of, django_assert_num_queries):
    for i in range(5):
        user_message(make_user(app, f"more-{i}"))
    me = member(owner)
    with django_assert_num_queries(1):
        rows = list(inbox.conversations(app, me, "open", limit=50))
        shown = [(u.user_id, u.assignee.user.email if u.assignee else None, u.last_message["text"],
                  u.last_message["role"]) for u in rows]
    assert len(shown) == 8
    assert ("agents", "agent@a.example", "an answer", "appMaker") in shown
    assert ("mine", "owner@a.example", "from mine", "appUser") in shown


@pytest.mark.django_db
def test_another_apps_conversations_never_show(app, owner, inbox_of, stranger_app):
    user_message(make_user(stranger_app, "bob"))
    for view in inbox.VIEWS:
        assert all(u.app_id == app.id for u in inbox.conversations(app, member(owner), view))
    assert sum(inbox.counts(app, member(owner)).values()) == 1 + 1 + 3 + 1 + 2


@pytest.mark.django_db
def test_the_views_use_their_indexes(app, owner, inbox_of):
    assert connection.vendor == "postgresql", "the plans checked are PostgreSQL's: run on DATABASE_URL"
    me = member(owner)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for view in inbox.VIEWS:
            plan = inbox.conversations(app, me, view, limit=50).explain()
            # Either inbox index serves Unassigned (both start with app and
            # status open): the planner picks by its statistics.
            assert "Index Scan using appuser_inbox_" in plan, (view, plan)
            assert "Seq Scan on messaging_appuser" not in plan, (view, plan)


# ---------------------------------------------------------------------- notes


@pytest.mark.django_db
def test_a_note_is_stored_and_logged(user, agent):
    note = inbox.add_note(user, member(agent), "  Called them back  ")
    assert note.text == "Called them back" and note.author_email == "agent@a.example"
    assert list(inbox.notes_of(user)) == [note]
    entry = LogEntry.objects.get(kind="note:created")
    assert entry.detail["note"]["text"] == "Called them back" and entry.detail["by"] == "agent@a.example"
    assert not Message.objects.filter(app_user=user).exists()
    # The author leaving keeps the note and its author's name.
    agent.delete()
    assert Note.objects.get(pk=note.pk).author is None
    assert Note.objects.get(pk=note.pk).author_email == "agent@a.example"


@pytest.mark.django_db
def test_a_note_is_checked(user, agent, stranger):
    for text in ("", "   ", None, "x" * (NOTE_MAX_LENGTH + 1)):
        with pytest.raises(ServiceError):
            inbox.add_note(user, member(agent), text)
    with pytest.raises(PermissionDenied):
        inbox.add_note(user, member(stranger), "not my team")
    long = inbox.add_note(user, member(agent), "x" * NOTE_MAX_LENGTH)
    assert Note.objects.get().text == "x" * NOTE_MAX_LENGTH
    # Its log entry carries a preview, so the Log tab stays readable.
    entry = LogEntry.objects.get(kind="note:created")
    assert entry.detail["note"] == {**inbox.note_json(long), "text": "x" * inbox.NOTE_PREVIEW, "truncated": True}


@pytest.mark.django_db
def test_a_note_never_becomes_a_webhook_event(app, user, agent, settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    Webhook.objects.create(app=app, target="http://127.0.0.1:9/all", triggers=list(events.SUBSCRIBABLE_TRIGGERS))
    Webhook.objects.create(app=app, target="http://127.0.0.1:9/star", triggers=["*"])
    inbox.add_note(user, member(agent), "private")
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_the_api_never_lists_a_note(client, app, user, agent):
    user_message(user, "visible")
    inbox.add_note(user, member(agent), "team only text")
    business = jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256", headers={"kid": app.test_key.key_id})
    for token in (user_jwt(app, user.user_id), business):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        response = client.get(f"/v1/appusers/{user.id}/messages", **headers)
        assert response.status_code == 200
        assert b"visible" in response.content and b"team only text" not in response.content
        response = client.get(f"/v1/appusers/{user.id}", **headers)
        assert b"team only text" not in response.content


# ------------------------------------------------------------- where it goes


async def listen(group):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


async def receive(layer, channel, timeout=5):
    return await asyncio.wait_for(layer.receive(channel), timeout)


def flatten(received):
    return received["events"] if received["type"] == "parley.events" else [received]


@pytest.mark.django_db(transaction=True)
async def test_notes_and_inbox_changes_reach_the_app_group_and_never_the_users(app, user, agent):
    await database_sync_to_async(make_client)(user, "web")
    agent_member = await database_sync_to_async(member)(agent)
    layer, user_channel = await listen(events.appuser_group(user.id))
    _, app_channel = await listen(events.app_group(app.id))
    await database_sync_to_async(user_message)(user)
    # Both groups hear the user's message first (its broadcast may be on its way still).
    for channel in (user_channel, app_channel):
        assert "message:appUser" in [e["kind"] for e in flatten(await receive(layer, channel))]

    await database_sync_to_async(inbox.add_note)(user, agent_member, "team only text")
    await database_sync_to_async(inbox.update_conversation)(
        user, {"status": "resolved", "assignee_email": "agent@a.example"}, by=agent_member)

    seen = [e for _ in range(2) for e in flatten(await receive(layer, app_channel))]
    assert [e["kind"] for e in seen] == ["note:created", "conversation:status", "conversation:assigned"]
    assert seen[0]["detail"]["note"]["text"] == "team only text"
    assert seen[1]["detail"]["by"] == "agent@a.example"
    # The user's group: the next thing it hears is a business message, nothing before.
    await database_sync_to_async(business_message)(user, "after the note")
    first = flatten(await receive(layer, user_channel))
    assert [e["kind"] for e in first][0] == "message:appMaker"
    assert "team only text" not in str(first) and "agent@a.example" not in str(first)


@pytest.mark.django_db(transaction=True)
async def test_the_users_sdk_socket_never_hears_a_note(app, user, agent):
    from dashboard.asgi import application

    await database_sync_to_async(user_message)(user)
    agent_member = await database_sync_to_async(member)(agent)
    socket = WebsocketCommunicator(application, "/sdk/ws/")
    assert (await socket.connect())[0]
    await socket.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                               "clientId": "device-1", "jwt": user_jwt(app, user.user_id)})
    assert (await socket.receive_json_from(timeout=5))["type"] == "ready"

    await database_sync_to_async(inbox.add_note)(user, agent_member, "team only text")
    await database_sync_to_async(inbox.update_conversation)(user, {"assignee_email": "agent@a.example"})
    await database_sync_to_async(business_message)(user, "after the note")
    heard = []
    while not heard or (heard[-1].get("message") or {}).get("text") != "after the note":
        heard.append(await socket.receive_json_from(timeout=5))
    assert "team only text" not in str(heard) and "agent@a.example" not in str(heard), heard
    assert not [f for f in heard if f["type"] not in ("message", "delivery")], heard
    await socket.disconnect()


# ------------------------------------------------------------------ webhooks


@pytest.mark.django_db
def test_conversation_triggers_go_only_to_webhooks_that_name_them(app, user, agent, settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    receiver = WebhookReceiver()
    try:
        named = Webhook.objects.create(app=app, target=receiver.url + "/named",
                                       triggers=["conversation:status", "conversation:assigned"])
        star = Webhook.objects.create(app=app, target=receiver.url + "/star", triggers=["*"])
        status_only = Webhook.objects.create(app=app, target=receiver.url + "/status",
                                             triggers=["conversation:status"])
        user_message(user)
        inbox.update_conversation(user, {"status": "resolved", "assignee_email": "agent@a.example"})
        sender.run_due()
        receiver.wait_for(5)  # star: message:appUser, conversation:start; named: 2; status: 1
        named_payloads = receiver.payloads("/named")
        assert sorted(p["trigger"] for p in named_payloads) == ["conversation:assigned", "conversation:status"]
        status = next(p for p in named_payloads if p["trigger"] == "conversation:status")
        assert status["conversation"] == {"_id": user.id, "unreadCount": 0, "status": "resolved",
                                          "assigneeEmail": "agent@a.example"}
        assert status["previous"] == {"status": "open"} and status["changedBy"] == "api"
        assert status["appUser"]["_id"] == user.id and status["app"] == {"_id": app.id}
        assigned = next(p for p in named_payloads if p["trigger"] == "conversation:assigned")
        assert assigned["previous"] == {} and assigned["conversation"]["assigneeEmail"] == "agent@a.example"
        assert [p["trigger"] for p in receiver.payloads("/status")] == ["conversation:status"]
        star_triggers = sorted(p["trigger"] for p in receiver.payloads("/star"))
        assert star_triggers == ["conversation:start", "message:appUser"]
        assert not WebhookEvent.objects.filter(webhook=star, trigger__startswith="conversation:s").exclude(
            trigger="conversation:start").exists()
        assert named.events.count() == 2 and status_only.events.count() == 1
    finally:
        receiver.close()


def test_opt_in_triggers_are_accepted_by_name_and_never_through_star():
    from messaging.webhooks.outbox import matches

    for trigger in ("conversation:status", "conversation:assigned"):
        assert trigger in events.SUBSCRIBABLE_TRIGGERS
        assert matches([trigger], trigger)
        assert not matches(["*"], trigger) and not matches(["message"], trigger)
    assert matches(["*"], "conversation:read")
    # A team-only kind reaches no webhook but by name.
    assert all(events.KINDS[kind][1] in (None, *events.OPT_IN_TRIGGERS) for kind in events.TEAM_ONLY)


@pytest.mark.django_db
def test_the_role_of_an_agent_does_not_matter_for_assignment(team, user):
    helper = add_member(team, "helper@a.example", Role.AGENT)
    inbox.update_conversation(user, {"assignee_email": "HELPER@a.example"})
    assert AppUser.objects.get(pk=user.pk).assignee_id == helper.pk
