import os
import socket
from urllib.parse import urlparse

import pytest

from tests.support.cast import PASSWORD, add_member
from tests.support.fake_line import FakeLine
from tests.support.fake_messenger import FakeMessenger
from tests.support.fake_mailgun import FakeMailgun
from tests.support.fake_platform import FakePlatform
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_twilio import FakeTwilio
from tests.support.fake_viber import FakeViber
from tests.support.fake_whatsapp import FakeWhatsApp

# Playwright's sync API runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    from django.conf import settings

    if settings.SETTINGS_MODULE != "tests.settings":
        raise pytest.UsageError(
            f"the suite runs on tests.settings (the fake channel, outbound calls kept on loopback), "
            f"not {settings.SETTINGS_MODULE}: unset DJANGO_SETTINGS_MODULE or pass --ds=tests.settings"
        )
    db = os.environ.get("DATABASE_URL")
    if db and not _reachable(db, 5432):
        raise pytest.UsageError(
            f"PostgreSQL at {db} is not reachable: start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    redis = os.environ.get("REDIS_URL")
    if redis and not _reachable(redis, 6379):
        raise pytest.UsageError(
            f"Redis at {redis} is not reachable: start it with "
            '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`'
        )


@pytest.fixture
def owner(db):
    from messaging.services.accounts import sign_up

    return sign_up(email="owner@a.example", password=PASSWORD, team_name="Team A").user


@pytest.fixture
def team(owner):
    return owner.teams.get()


def require_user_jwt_of(request) -> bool:
    """The requireUserJwt setting for the apps a test's fixtures create: on
    (as for every new app) unless the test is marked
    `@pytest.mark.require_user_jwt(False)`, for tests of Smooch v1's
    app-token behaviour."""
    marker = request.node.get_closest_marker("require_user_jwt")
    return bool(marker.args[0]) if marker and marker.args else True


@pytest.fixture
def make_app(db, request):
    from messaging.models import KeyScope
    from messaging.services.apps import create_app, create_key

    default = require_user_jwt_of(request)

    def make(team, name="App", with_key=True, require_user_jwt=default):
        app = create_app(team=team, name=name, require_user_jwt=require_user_jwt)
        if with_key:
            key, secret = create_key(team=team, scope=KeyScope.APP, app=app, name="test")
            app.test_key = key
            app.test_secret = secret
        return app

    return make


@pytest.fixture
def app(team, make_app):
    return make_app(team, "App A")


@pytest.fixture
def stranger(db):
    """A member of another team (team B) with an app of their own."""
    from messaging.services.accounts import sign_up

    return sign_up(email="stranger@b.example", password=PASSWORD, team_name="Team B").user


@pytest.fixture
def admin(team):
    from messaging.models import Role

    return add_member(team, "admin@a.example", Role.ADMIN).user


@pytest.fixture
def agent(team):
    from messaging.models import Role

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


@pytest.fixture(autouse=True)
def empty_cache():
    """Throttles, rate-limit counters and caches kept in Django's cache
    start empty in every test. On Redis only this session's keys go (its
    KEY_PREFIX, tests/settings.py): cache.clear() would FLUSHDB a database
    other sessions and the channel layer share."""
    from django.conf import settings
    from django.core.cache import cache

    if not settings.REDIS_URL:
        cache.clear()
        return
    import redis  # only with REDIS_URL (redis-py comes with channels-redis)

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def fast_password_hashing(request, settings):
    """PBKDF2's deliberate slowness only slows tests down. Not for tests on
    a live server (transactional ones): it must verify these hashes too."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        return
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The fake platforms (tests/support/fake_*.py): one server each for the
# session, since stopping one costs half a second (the serve_forever poll);
# the function fixtures reset it and point Parley at it.


def _serve(fake):
    yield fake
    fake.close()


def _fresh(fake, settings, setting: str):
    fake.reset()
    setattr(settings, setting, fake.url)
    return fake


@pytest.fixture(scope="session")
def telegram_server():
    yield from _serve(FakeTelegram())


@pytest.fixture
def telegram(telegram_server, settings):
    """The fake Telegram Bot API, as new, at PARLEY_TELEGRAM_API_BASE."""
    return _fresh(telegram_server, settings, "PARLEY_TELEGRAM_API_BASE")


@pytest.fixture(scope="session")
def messenger_server():
    yield from _serve(FakeMessenger())


@pytest.fixture
def messenger(messenger_server, settings):
    """The fake Messenger Platform (Graph API), as new, at PARLEY_MESSENGER_API_BASE."""
    return _fresh(messenger_server, settings, "PARLEY_MESSENGER_API_BASE")


@pytest.fixture(scope="session")
def twilio_server():
    yield from _serve(FakeTwilio())


@pytest.fixture
def fake_twilio(twilio_server, settings):
    """The fake Twilio, a new account, at PARLEY_TWILIO_API_BASE."""
    return _fresh(twilio_server, settings, "PARLEY_TWILIO_API_BASE")


@pytest.fixture(scope="session")
def whatsapp_server():
    yield from _serve(FakeWhatsApp())


@pytest.fixture
def whatsapp(whatsapp_server, settings):
    """The fake WhatsApp Cloud API, as new, at PARLEY_WHATSAPP_API_BASE."""
    return _fresh(whatsapp_server, settings, "PARLEY_WHATSAPP_API_BASE")


@pytest.fixture(scope="session")
def viber_server():
    yield from _serve(FakeViber())


@pytest.fixture
def viber(viber_server, settings):
    """The fake Viber REST Bot API, as new, at PARLEY_VIBER_API_BASE."""
    return _fresh(viber_server, settings, "PARLEY_VIBER_API_BASE")


@pytest.fixture(scope="session")
def line_server():
    yield from _serve(FakeLine())


@pytest.fixture
def line(line_server, settings):
    """The fake LINE Messaging API, as new: its API host at
    PARLEY_LINE_API_BASE, its content host at PARLEY_LINE_DATA_API_BASE."""
    settings.PARLEY_LINE_DATA_API_BASE = line_server.data_url
    return _fresh(line_server, settings, "PARLEY_LINE_API_BASE")


@pytest.fixture(scope="session")
def mailgun_server():
    yield from _serve(FakeMailgun())


@pytest.fixture
def mailgun(mailgun_server, settings):
    """The fake Mailgun HTTP API, a new account, at PARLEY_MAILGUN_API_BASE."""
    return _fresh(mailgun_server, settings, "PARLEY_MAILGUN_API_BASE")


@pytest.fixture(scope="session")
def platform_server():
    """A plain FakePlatform (answers 200 {"id"}), for the fake channel."""
    yield from _serve(FakePlatform())


@pytest.fixture
def platform(platform_server, settings):
    """The fake channel's platform, as new: no requests recorded, no
    failures or handler left, and Parley pointed at it."""
    settings.PARLEY_FAKE_API_BASE = platform_server.url
    with platform_server._lock:
        platform_server.requests.clear()
        platform_server._failures.clear()
        platform_server.handler = None
    return platform_server


@pytest.fixture
def resolver(monkeypatch, settings):
    """For tests of the outbound address rules: no allow-list, and
    `target.example` resolving to what the test says (every other name goes
    to the real resolver: the database needs it)."""
    settings.PARLEY_OUTBOUND_ALLOW = None
    answers = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answers[host], port))]
        assert not host.endswith(".example"), f"{host} would have been looked up for real"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers
