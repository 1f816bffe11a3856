import pytest

from tests.support.fake_twilio import FakeTwilio


@pytest.fixture(scope="session")
def twilio_server():
    """One fake Twilio for the session (closing a server costs half a
    second); `fake_twilio` resets it for each test."""
    fake = FakeTwilio()
    yield fake
    fake.close()


@pytest.fixture
def fake_twilio(twilio_server, settings):
    twilio_server.reset()
    settings.PARLEY_TWILIO_API_BASE = twilio_server.url
    return twilio_server
