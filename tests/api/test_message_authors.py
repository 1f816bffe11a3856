"""A message's `authorId`: the app user on their own messages; on a
business message an opaque id per API key or dashboard member that sent
it (never the key id), the same in the API's answers, the conversation's
history and the dashboard, so senders can be told apart."""

import importlib
import re

import pytest
from django.apps import apps as django_apps

from messaging.models import KeyScope, Message, Role
from messaging.services import authors
from messaging.services.apps import create_key
from tests.api.conftest import bearer, make_jwt
from tests.support.cast import add_member

OPAQUE = re.compile(r"^[0-9a-f]{24}$")


def send(api, app_user, headers, text, path=None):
    response = api.post(path or f"/v1/appusers/{app_user.id}/messages",
                        {"role": "appMaker", "type": "text", "text": text}, headers=headers)
    assert response.status_code == 201, response.content
    return response.data["message"]


def test_each_api_key_is_an_author_of_its_own_and_never_shows_its_key_id(api, app, team, alice):
    second, second_secret = create_key(team=team, scope=KeyScope.APP, app=app, name="CRM")
    account, account_secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="Ops")
    first = bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))
    by_first = [send(api, alice, first, "one")["authorId"], send(api, alice, first, "two")["authorId"]]
    by_second = send(api, alice, bearer(make_jwt(second.key_id, second_secret, "app")), "three")["authorId"]
    by_account = send(api, alice, bearer(make_jwt(account.key_id, account_secret, "account")), "four",
                      path=f"/v1/apps/{app.id}/appusers/{alice.id}/messages")["authorId"]

    assert by_first[0] == by_first[1] == authors.for_key(app.test_key).id  # stable per key
    assert len({by_first[0], by_second, by_account}) == 3
    for author_id, key in ((by_first[0], app.test_key), (by_second, second), (by_account, account)):
        assert OPAQUE.match(author_id) and key.key_id not in author_id and author_id != app.id
    # History shows what the send answered, and the dashboard's name of it.
    history = api.get(f"/v1/appusers/{alice.id}/messages", headers=first).data["messages"]
    assert [m["authorId"] for m in history] == [*by_first, by_second, by_account]
    names = list(Message.objects.filter(app_user=alice).order_by("received").values_list("author_name", flat=True))
    assert names == ["test", "test", "CRM", "Ops"]


def test_a_user_message_is_authored_by_its_app_user(api, alice, as_alice):
    response = api.post(f"/v1/appusers/{alice.id}/messages",
                        {"role": "appUser", "type": "text", "text": "hi"}, headers=as_alice)
    assert response.status_code == 201, response.content
    assert response.data["message"]["authorId"] == alice.id
    assert Message.objects.get(app_user=alice).author == ""


def test_dashboard_members_are_authors_of_their_own_and_the_thread_names_them(
        api, app, team, owner, client, alice, app_jwt):
    agent = add_member(team, "agent@a.example", Role.AGENT)
    agent.user.name = "Ada Agent"
    agent.user.save()
    for user, text in ((owner, "from the owner"), (agent.user, "from the agent")):
        client.force_login(user)
        response = client.post(f"/apps/{app.id}/users/{alice.id}/send/", {"type": "text", "text": text},
                               HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.content.decode()
    sent = api.get(f"/v1/appusers/{alice.id}/messages", headers=app_jwt).data["messages"]
    owner_membership = team.memberships.get(user=owner)
    assert [m["authorId"] for m in sent] == [authors.for_member(owner_membership).id,
                                             authors.for_member(agent).id]
    assert sent[0]["authorId"] != sent[1]["authorId"]
    page = client.get(f"/apps/{app.id}/users/{alice.id}/").content.decode()
    assert f"by {owner.email}" in page and "by Ada Agent" in page


def test_business_messages_stored_before_authors_keep_the_apps_id(api, app, alice, app_jwt):
    old = Message.objects.create(app=app, app_user=alice, role="appMaker", text="old")
    alice.conversation_started = True
    alice.save()
    migration = importlib.import_module("messaging.migrations.0016_message_authors")
    migration.app_as_author(django_apps, None)
    old.refresh_from_db()
    assert old.author == app.id
    history = api.get(f"/v1/appusers/{alice.id}/messages", headers=app_jwt).data["messages"]
    assert history[0]["authorId"] == app.id


@pytest.mark.parametrize("kind", ["key", "member"])
def test_the_author_id_hides_its_source_behind_the_secret_key(settings, kind, app, team):
    subject = app.test_key if kind == "key" else team.memberships.get()
    of = authors.for_key if kind == "key" else authors.for_member
    before = of(subject).id
    settings.SECRET_KEY = "another secret key entirely, for this test only"
    assert of(subject).id != before and OPAQUE.match(before)
