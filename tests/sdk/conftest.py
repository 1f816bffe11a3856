import pytest


@pytest.fixture
def user(app):
    from tests.support.ws import make_user

    return make_user(app, "alice")
