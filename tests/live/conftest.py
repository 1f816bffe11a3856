"""The live dashboard's cast: team A (owner, admin, agent) with an app and
users; team B (the stranger) with an app, users, messages and log entries."""

import pytest

from messaging.models import Membership, Role, User
from tests.support.browser import browser, page  # noqa: F401  (fixtures)
from tests.support.ws import make_client, make_user

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def add_member(team, email, role):
    user = User.objects.create_user(email=email, password=PASSWORD)
    Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def agent(team):
    return add_member(team, "agent@a.example", Role.AGENT)


@pytest.fixture
def admin(team):
    return add_member(team, "admin@a.example", Role.ADMIN)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def alice(app):
    user = make_user(app, "alice", given_name="Alice", email="alice@example.org")
    make_client(user, "web", minutes_ago=1)
    return user


@pytest.fixture
def stranger_team(stranger):
    return stranger.teams.get()


@pytest.fixture
def stranger_app(stranger_team, make_app):
    return make_app(stranger_team, "App B")


@pytest.fixture
def bob(stranger_app):
    """Team B's user, with a conversation and log entries."""
    from messaging.services.messages import post_message

    user = make_user(stranger_app, "bob-secret", given_name="Bob", email="bob@b.example")
    make_client(user, "web", minutes_ago=1)
    post_message(user, role="appUser", fields={"type": "text", "text": "team B secret"},
                 source={"type": "web"})
    return user
