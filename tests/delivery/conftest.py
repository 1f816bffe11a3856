import pytest

from tests.support.fake_platform import FakePlatform


@pytest.fixture
def fake_platform(settings):
    platform = FakePlatform()
    settings.PARLEY_FAKE_API_BASE = platform.url
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True  # the fake platform is on loopback
    yield platform
    platform.close()


@pytest.fixture
def user(app):
    from tests.support.ws import make_user

    return make_user(app, "alice")
