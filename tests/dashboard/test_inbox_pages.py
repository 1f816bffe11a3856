"""The inbox's pages through the Django client: views, counts and rows,
the readable visitor name, the controls (through messaging.services.inbox,
bad input refused in plain words) and tenancy."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import AppUser, ConversationStatus, Membership
from messaging.models.appusers import visitor_name
from messaging.services import inbox
from messaging.services.messages import post_message
from tests.support.ws import make_client

HX = {"HTTP_HX_REQUEST": "true"}


def writes(app_user, text, platform="web"):
    return post_message(app_user, role="appUser", fields={"type": "text", "text": text}, source={"type": platform})


@pytest.fixture
def people(app, owner, agent):
    """Ada (named, web + telegram, unassigned), an anonymous visitor (the
    agent's), Cy (resolved) and Dee (snoozed)."""
    ada = AppUser.objects.create(app=app, user_id="ada-1", given_name="Ada", surname="Lovelace",
                                 email="ada@example.org", properties={"plan": "gold"})
    make_client(ada, "web")
    make_client(ada, "telegram", minutes_ago=3)
    writes(ada, "Where is my order?")
    writes(ada, "Hello again")
    visitor = AppUser.objects.create(app=app)
    make_client(visitor, "web")
    writes(visitor, "Anyone there?")
    agent_member = Membership.objects.get(user=agent)
    inbox.update_conversation(visitor, {"assignee_email": agent.email}, by=agent_member)
    cy = AppUser.objects.create(app=app, user_id="cy", given_name="Cy")
    make_client(cy, "web")
    writes(cy, "Thanks, done")
    inbox.update_conversation(cy, {"status": "resolved"}, by=agent_member)
    dee = AppUser.objects.create(app=app, user_id="dee", given_name="Dee")
    make_client(dee, "web")
    writes(dee, "Call me later")
    inbox.update_conversation(dee, {"status": "snoozed", "snoozed_until": timezone.now() + timedelta(days=1)},
                              by=agent_member)
    return {"ada": ada, "visitor": visitor, "cy": cy, "dee": dee}


def counts_of(body: str) -> dict:
    return dict(re.findall(r'data-count="(\w+)">(\d+)<', body))


def row_ids(body: str) -> list:
    return re.findall(r'class="inbox-row[^"]*" data-user-id="(\w+)"', body)


def test_visitor_name_is_readable_and_stable():
    assert visitor_name("5f0c1e9a2b3c4d5e6f708192") == visitor_name("5f0c1e9a2b3c4d5e6f708192")
    assert re.fullmatch(r"Visitor \d{4}", visitor_name("5f0c1e9a2b3c4d5e6f708192"))
    assert AppUser(id="5f0c1e9a2b3c4d5e6f708192").display_name == visitor_name("5f0c1e9a2b3c4d5e6f708192")
    assert AppUser(id="x", given_name="Ada").display_name == "Ada"


@pytest.mark.django_db
def test_it_shows_each_view_with_its_rows_and_counts(as_user, agent, people, app):
    client = as_user(agent)
    expected = {
        "mine": [people["visitor"].id],
        "unassigned": [people["ada"].id],
        "open": [people["visitor"].id, people["ada"].id],
        "snoozed": [people["dee"].id],
        "resolved": [people["cy"].id],
    }
    for view, ids in expected.items():
        body = client.get(f"/apps/{app.id}/inbox/{view}/").content.decode()
        assert counts_of(body) == {"mine": "1", "unassigned": "1", "open": "2", "snoozed": "1", "resolved": "1"}
        assert row_ids(body) == ids, view
    default = client.get(f"/apps/{app.id}/inbox/").content.decode()
    assert row_ids(default) == expected["open"]
    assert "Inbox" in default.split('class="tabs"')[1].split("</li>")[0]  # the first tab


@pytest.mark.django_db
def test_a_row_shows_name_preview_channels_unread_status_and_assignee(as_user, agent, people, app):
    body = as_user(agent).get(f"/apps/{app.id}/inbox/open/").content.decode()
    ada_row = body.split(f'data-user-id="{people["ada"].id}"')[1].split("</li>")[0]
    assert "Ada Lovelace" in ada_row and "Hello again" in ada_row
    assert 'title="telegram"' in ada_row and 'title="web"' in ada_row
    assert re.search(r'badge unread">2<', ada_row)
    assert "Open" in ada_row and "Unassigned" in ada_row
    visitor_row = body.split(f'data-user-id="{people["visitor"].id}"')[1].split("</li>")[0]
    assert people["visitor"].display_name.startswith("Visitor ")
    assert people["visitor"].display_name in visitor_row and "agent@a.example" in visitor_row


@pytest.mark.django_db
def test_search_matches_name_user_id_and_email(as_user, agent, people, app):
    client = as_user(agent)
    for query in ("lovelace", "ada-1", "ada@example", "Ada Love"):
        body = client.get(f"/apps/{app.id}/inbox/open/", {"q": query}, **HX,
                          HTTP_HX_TARGET="inbox-list").content.decode()
        assert row_ids(body) == [people["ada"].id], query
        assert 'id="inbox-list"' in body and "<html" not in body
    assert row_ids(client.get(f"/apps/{app.id}/inbox/open/", {"q": "nobody"}).content.decode()) == []


@pytest.mark.django_db
def test_the_pane_shows_the_contact_panel_and_loads_the_thread(as_user, agent, people, app):
    ada = people["ada"]
    client = as_user(agent)
    body = client.get(f"/apps/{app.id}/inbox/open/{ada.id}/", **HX, HTTP_HX_TARGET="inbox-pane").content.decode()
    assert body.lstrip().startswith('<section id="inbox-pane"')
    assert f'hx-get="/apps/{app.id}/users/{ada.id}/"' in body
    assert f'data-copy="{ada.id}"' in body and 'data-copy="ada-1"' in body
    assert "plan" in body and "gold" in body and "telegram" in body and "last seen" in body
    assert "Conversation started with Ada Lovelace" in body  # recent events from the log
    full = client.get(f"/apps/{app.id}/inbox/open/{ada.id}/").content.decode()
    assert "<html" in full and 'aria-current="true"' in full
    # A history restore gets the whole page.
    restore = client.get(f"/apps/{app.id}/inbox/open/{ada.id}/", **HX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


@pytest.mark.django_db
def test_resolve_reopen_and_snooze_go_through_the_service(as_user, agent, people, app):
    ada = people["ada"]
    client = as_user(agent)
    url = f"/apps/{app.id}/inbox/open/{ada.id}/status/"
    response = client.post(url, {"status": "resolved"}, **HX, HTTP_HX_TARGET="inbox-controls")
    assert response.status_code == 200 and "Reopen" in response.content.decode()
    ada.refresh_from_db()
    assert ada.status == ConversationStatus.RESOLVED
    assert ada.log_entries.filter(kind="conversation:status", detail__by=agent.email).exists()
    response = client.post(url, {"status": "open"})
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.id}/inbox/open/{ada.id}/"
    ada.refresh_from_db()
    assert ada.status == ConversationStatus.OPEN
    before = timezone.now()
    client.post(url, {"status": "snoozed", "snooze": "1h"}, **HX)
    ada.refresh_from_db()
    assert ada.status == ConversationStatus.SNOOZED
    assert timedelta(minutes=59) < ada.snoozed_until - before < timedelta(minutes=61)
    client.post(url, {"status": "snoozed", "snooze": "tomorrow"}, **HX)
    ada.refresh_from_db()
    assert (ada.snoozed_until.hour, ada.snoozed_until.minute) == (9, 0)
    assert ada.snoozed_until.date() == (timezone.localtime() + timedelta(days=1)).date()
    client.post(url, {"status": "snoozed", "snooze": "custom", "until": "2099-01-31T10:30"}, **HX)
    ada.refresh_from_db()
    assert ada.snoozed_until.year == 2099 and ada.snoozed_until.minute == 30


@pytest.mark.django_db
@pytest.mark.parametrize("data, words", [
    ({"status": "snoozed", "snooze": "custom", "until": "2000-01-01T09:00"}, "Pick a time in the future"),
    ({"status": "snoozed", "snooze": "custom"}, "Pick the date and time"),
    ({"status": "snoozed", "snooze": "custom", "until": "soon"}, "Enter a date and time"),
    ({"status": "snoozed"}, "Pick how long to snooze"),
    ({"status": "gone"}, "Pick open, snoozed or resolved"),
])
def test_bad_status_input_is_a_form_error_in_plain_words(as_user, agent, people, app, data, words):
    ada = people["ada"]
    response = as_user(agent).post(f"/apps/{app.id}/inbox/open/{ada.id}/status/", data, **HX)
    assert response.status_code == 422
    assert words in response.content.decode() and 'role="alert"' in response.content.decode()
    ada.refresh_from_db()
    assert (ada.status, ada.snoozed_until) == (ConversationStatus.OPEN, None)
    plain = as_user(agent).post(f"/apps/{app.id}/inbox/open/{ada.id}/status/", data)
    assert plain.status_code == 422 and "<html" in plain.content.decode()


@pytest.mark.django_db
def test_assign_to_me_to_a_member_and_unassign(as_user, owner, agent, people, app):
    ada = people["ada"]
    client = as_user(agent)
    url = f"/apps/{app.id}/inbox/unassigned/{ada.id}/assign/"
    assert client.post(url, {"assignee": "me"}, **HX).status_code == 200
    ada.refresh_from_db()
    assert ada.assignee.user == agent
    owner_member = Membership.objects.get(user=owner)
    client.post(url, {"assignee": str(owner_member.pk)}, **HX)
    ada.refresh_from_db()
    assert ada.assignee == owner_member
    assert ada.log_entries.filter(kind="conversation:assigned", detail__to=owner.email,
                                  detail__by=agent.email).exists()
    client.post(url, {"assignee": ""}, **HX)
    ada.refresh_from_db()
    assert ada.assignee is None


@pytest.mark.django_db
def test_assigning_someone_outside_the_team_is_refused(as_user, agent, stranger, people, app):
    ada = people["ada"]
    outsider = Membership.objects.get(user=stranger)
    response = as_user(agent).post(f"/apps/{app.id}/inbox/open/{ada.id}/assign/",
                                   {"assignee": str(outsider.pk)}, **HX)
    assert response.status_code == 422 and "Pick a member of this team." in response.content.decode()
    ada.refresh_from_db()
    assert ada.assignee is None


@pytest.mark.django_db
def test_another_team_sees_nothing(as_user, stranger, stranger_app, people, app, agent):
    ada = people["ada"]
    client = as_user(stranger)
    for path in (f"/apps/{app.id}/inbox/", f"/apps/{app.id}/inbox/open/", f"/apps/{app.id}/inbox/open/{ada.id}/"):
        assert client.get(path).status_code == 404
    assert client.post(f"/apps/{app.id}/inbox/open/{ada.id}/status/", {"status": "resolved"}).status_code == 404
    assert client.post(f"/apps/{app.id}/inbox/open/{ada.id}/assign/", {"assignee": "me"}).status_code == 404
    # Team A's user under team B's own app: 404 too, and B's inbox lists nothing of A.
    assert client.get(f"/apps/{stranger_app.id}/inbox/open/{ada.id}/").status_code == 404
    assert client.post(f"/apps/{stranger_app.id}/inbox/open/{ada.id}/status/",
                       {"status": "resolved"}).status_code == 404
    body = client.get(f"/apps/{stranger_app.id}/inbox/open/").content.decode()
    assert ada.id not in body and "Ada" not in body
    ada.refresh_from_db()
    assert ada.status == ConversationStatus.OPEN
    assert as_user(agent).get(f"/apps/{app.id}/inbox/nope/").status_code == 404
