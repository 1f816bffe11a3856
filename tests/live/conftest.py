"""The live dashboard's cast: team A (owner, admin, agent) with an app and
users; team B (the stranger) with an app, users, messages and log entries."""

import pytest

from tests.support.browser import browser, page  # noqa: F401  (fixtures)
from tests.support.ws import make_client, make_user



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
def bob(stranger_app):
    """Team B's user, with a conversation and log entries."""
    from messaging.services.messages import post_message

    user = make_user(stranger_app, "bob-secret", given_name="Bob", email="bob@b.example")
    make_client(user, "web", minutes_ago=1)
    post_message(user, role="appUser", fields={"type": "text", "text": "team B secret"},
                 source={"type": "web"})
    return user
