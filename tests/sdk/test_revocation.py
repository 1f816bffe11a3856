"""Taking a credential away closes the sockets that rely on it at once,
through the channel layer (messaging.services.sdk_access, accounts): a key
revoked or deleted, an app deleted, a member removed or deactivated. The
periodic re-check is pushed far out in every test, so a close that arrives
only because of it fails the test."""

import jwt
import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator

from dashboard import consumers as dashboard_consumers
from dashboard.asgi import application
from messaging import consumers as sdk_consumers
from messaging.models import ApiKey, KeyScope, Membership, Role
from messaging.services import accounts
from messaging.services.apps import create_key, delete_app, revoke_key
from tests.support.cast import add_member
from tests.support.ws import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """No live server here: the test process alone checks these passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_periodic_recheck(monkeypatch):
    monkeypatch.setattr(sdk_consumers, "RECHECK_SECONDS", 10**9)
    monkeypatch.setattr(dashboard_consumers, "RECHECK_SECONDS", 10**9)


def user_jwt(key_id, secret, user_id="alice"):
    return jwt.encode({"scope": "appUser", "userId": user_id}, secret, algorithm="HS256",
                      headers={"kid": key_id})


async def sdk_socket(app, app_user, **extra):
    communicator = WebsocketCommunicator(application, "/sdk/ws/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": app_user.id,
                                     "clientId": f"device-{app_user.id}", **extra})
    ready = await communicator.receive_json_from(timeout=5)
    assert ready["type"] == "ready", ready
    return communicator


async def expect_closed(communicator, description):
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "error" and frame["code"] == "unauthorized", frame
    assert description in frame["description"]
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}


async def still_open(communicator):
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}


@pytest.fixture
def alice(app):
    return make_user(app, "alice")


async def test_revoking_or_deleting_a_key_closes_the_sockets_of_its_jwts_only(app, alice, team, owner):
    other_key, other_secret = await db(create_key)(team=team, scope=KeyScope.APP, app=app, name="other")
    bob = await db(make_user)(app, "bob")
    anonymous = await db(make_user)(app, None)
    revoked = await sdk_socket(app, alice, jwt=user_jwt(app.test_key.key_id, app.test_secret))
    other = await sdk_socket(app, bob, jwt=user_jwt(other_key.key_id, other_secret, "bob"))
    by_token = await sdk_socket(app, anonymous)

    # As the dashboard's key list does it: the owner revokes.
    membership = await db(Membership.objects.get)(team=team, user=owner)
    await db(revoke_key)(app.test_key, membership=membership)
    await expect_closed(revoked, "The key that signed this JWT was revoked")
    await still_open(other)
    await still_open(by_token)

    await db(ApiKey.objects.filter(pk=other_key.pk).delete)()
    await expect_closed(other, "revoked or deleted")
    await still_open(by_token)
    await by_token.disconnect()


async def test_a_key_revoked_elsewhere_before_the_socket_joined_is_caught(app, alice, monkeypatch):
    """Another process revoked the key, and this one's key cache has not
    seen it yet: the check made once the socket is in its groups closes it."""
    from messaging.services import credentials

    token = user_jwt(app.test_key.key_id, app.test_secret)
    stale = await db(ApiKey.objects.select_related("app").get)(pk=app.test_key.pk)
    await db(ApiKey.objects.filter(pk=stale.pk).update)(revoked_at="2020-01-01T00:00:00Z")
    monkeypatch.setattr(credentials, "_key", lambda kid: stale if kid == stale.key_id else None)
    communicator = WebsocketCommunicator(application, "/sdk/ws/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": alice.id,
                                     "clientId": "d1", "jwt": token})
    await expect_closed(communicator, "revoked")


async def test_deleting_the_app_closes_every_sdk_socket_of_it(app, alice, stranger_app):
    anonymous = await db(make_user)(app, None)
    elsewhere = await db(make_user)(stranger_app, None)
    by_jwt = await sdk_socket(app, alice, jwt=user_jwt(app.test_key.key_id, app.test_secret))
    by_token = await sdk_socket(app, anonymous)
    other_app = await sdk_socket(stranger_app, elsewhere)
    await db(delete_app)(membership=None, app=app)
    for socket in (by_jwt, by_token):
        frame = await socket.receive_json_from(timeout=5)
        assert frame["type"] == "error" and frame["code"] == "unauthorized", frame
        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}
    await still_open(other_app)
    await other_app.disconnect()


# -- dashboard sockets ---------------------------------------------------------


async def dashboard_socket(client, user, app):
    await db(client.force_login)(user)
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"),
               (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]
    communicator = WebsocketCommunicator(application, f"/ws/dashboard/events/{app.id}/", headers=headers)
    assert (await communicator.connect(timeout=5))[0]
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator


async def expect_forbidden(communicator):
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}


async def dashboard_still_open(communicator):
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}


@pytest.fixture
def cast(team):
    agent = add_member(team, "agent@a.example", Role.AGENT)
    admin = add_member(team, "admin@a.example", Role.ADMIN)
    return agent, admin


async def test_removing_a_member_closes_their_dashboard_sockets_at_once(client, app, team, owner, cast):
    from django.test import Client

    agent, admin = cast
    removed = await dashboard_socket(client, agent.user, app)
    kept = await dashboard_socket(Client(), admin.user, app)
    acting = await db(Membership.objects.get)(team=team, user=owner)
    # A new role still reaches the app: the socket re-checks and stays.
    await db(accounts.change_role)(membership=acting, target=admin, role=Role.AGENT)
    await db(accounts.remove_member)(membership=acting, target=agent)
    await expect_forbidden(removed)
    await dashboard_still_open(kept)
    await kept.disconnect()


async def test_deactivating_or_deleting_an_account_closes_its_sockets(client, app, cast):
    from django.test import Client

    agent, admin = cast
    deactivated = await dashboard_socket(client, agent.user, app)
    deleted = await dashboard_socket(Client(), admin.user, app)
    agent.user.is_active = False
    await db(agent.user.save)()
    await expect_forbidden(deactivated)
    await db(admin.user.delete)()
    await expect_forbidden(deleted)


async def test_deleting_the_app_closes_its_dashboard_sockets(client, app, owner):
    socket = await dashboard_socket(client, owner, app)
    await db(delete_app)(membership=None, app=app)
    await expect_forbidden(socket)
