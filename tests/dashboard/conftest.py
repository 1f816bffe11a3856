"""Dashboard fixtures (the cast itself is in tests/conftest.py)."""

import pytest

from tests.support.browser import browser, page  # noqa: F401  (fixtures)



@pytest.fixture
def as_user(client):
    """Log the test client in as someone: `as_user(agent)`."""

    def login(user):
        client.force_login(user)
        return client

    return login


