"""Owner, admin, agent and stranger (HealthChecks' hc/test.py cast) for the dashboard."""

import pytest

from messaging.models import Membership, Role, User
from tests.support.browser import browser, page  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery"


def add_member(team, email, role):
    user = User.objects.create_user(email=email, password=PASSWORD)
    return Membership.objects.create(team=team, user=user, role=role)


@pytest.fixture
def admin(team):
    return add_member(team, "admin@a.example", Role.ADMIN).user


@pytest.fixture
def agent(team):
    return add_member(team, "agent@a.example", Role.AGENT).user


@pytest.fixture
def stranger_team(stranger):
    return stranger.teams.get()


@pytest.fixture
def stranger_app(stranger_team, make_app):
    return make_app(stranger_team, "App B")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def as_user(client):
    """Log the test client in as someone: `as_user(agent)`."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def fast_password_hashing(request, settings):
    """PBKDF2's deliberate slowness only slows tests down. Not for tests on
    a live server (transactional ones): it must verify these hashes too."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        return
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
