"""An app's `requireUserJwt` setting ("a userId needs a signed JWT"), over
HTTP and on the SDK socket, in both settings; and every way of creating an
app turns it on.

On (the default for new apps): the app token alone reaches only anonymous
users; `/v1/init` with a userId, and every app-token route that resolves a
user with a userId (by its `_id`), answer 401 `unauthorized` naming the
setting and change nothing; a userId in the path is "not found", as one
nobody has, so the app token cannot probe which userIds exist. Off: Smooch v1's behaviour (a userId is secured only after its
first JWT)."""

import json
from io import StringIO

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command

from dashboard.asgi import application
from messaging.models import App, AppUser, Client, Message
from tests.api.conftest import error_of, make_jwt

DEVICE = {"id": "5f1c0ffee5f1c0ffee5f1c0ffee5f1c0", "platform": "web"}


def init(api, app, body, **headers):
    return api.post("/v1/init", body, headers={"app-token": app.app_token, **headers})


def assert_requires_user_jwt(response):
    status, code, description = error_of(response)
    assert (status, code) == (401, "unauthorized")
    assert "requireUserJwt" in description and "signed JWT" in description


def user_jwt_for(app, user_id):
    return make_jwt(app.test_key.key_id, app.test_secret, "appUser", userId=user_id)


# ------------------------------------------------------------------ on

def test_a_new_app_has_it_on(app):
    assert app.require_user_jwt is True


def test_init_with_a_user_id_and_no_jwt_is_refused_and_stores_nothing(api, app):
    response = init(api, app, {"device": DEVICE, "userId": "carol"})
    assert_requires_user_jwt(response)
    assert not AppUser.objects.exists() and not Client.objects.exists()


def test_init_cannot_join_an_existing_users_conversation(api, app, alice):
    Message.objects.create(app=app, app_user=alice, role="appMaker", text="your order shipped")
    response = init(api, app, {"device": DEVICE, "userId": "alice"})
    assert_requires_user_jwt(response)
    assert b"shipped" not in response.content
    assert list(Client.objects.filter(app_user=alice).values_list("external_id", flat=True)) == [
        f"web-{alice.id}"
    ]
    assert AppUser.objects.count() == 1


def test_init_cannot_log_an_anonymous_device_in_as_a_user(api, app):
    anonymous = init(api, app, {"device": DEVICE}).data["appUser"]["_id"]
    assert_requires_user_jwt(init(api, app, {"device": DEVICE, "userId": "carol"}))
    assert AppUser.objects.get(pk=anonymous).user_id is None


def test_init_with_the_users_jwt_works_and_secures_the_user(api, app, alice):
    response = init(api, app, {"device": DEVICE, "userId": "alice"},
                    authorization=f"Bearer {user_jwt_for(app, 'alice')}")
    assert response.status_code == 200, response.content
    assert response.data["appUser"]["_id"] == alice.id
    alice.refresh_from_db()
    assert alice.credential_required


def test_init_with_another_users_jwt_is_refused(api, app, alice):
    response = init(api, app, {"device": DEVICE, "userId": "alice"},
                    authorization=f"Bearer {user_jwt_for(app, 'mallory')}")
    assert response.status_code == 403
    assert not Client.objects.filter(external_id=DEVICE["id"]).exists()


def test_anonymous_users_get_one_user_per_device(api, app):
    first = init(api, app, {"device": DEVICE})
    second = init(api, app, {"device": {**DEVICE, "id": "another-device"}})
    assert first.status_code == second.status_code == 200
    assert first.data["appUser"]["_id"] != second.data["appUser"]["_id"]
    assert "userId" not in first.data["appUser"]
    # The app token reaches each anonymous user: its own device holds its _id.
    anonymous = first.data["appUser"]["_id"]
    assert api.get(f"/v1/appusers/{anonymous}", headers={"app-token": app.app_token}).status_code == 200
    posted = api.post(f"/v1/appusers/{anonymous}/messages", {"role": "appUser", "type": "text", "text": "hi"},
                      headers={"app-token": app.app_token})
    assert posted.status_code == 201, posted.content


def assert_like_a_stranger(response, stranger):
    """The app token names users by `_id` only: a userId is "not found",
    exactly as a userId nobody has, so it cannot tell which userIds exist."""
    assert error_of(response)[:2] == (404, "not_found"), response.content
    assert error_of(response)[2].replace("alice", "nobody") == error_of(stranger)[2]


def test_the_app_token_cannot_change_a_users_email(api, app, alice):
    headers = {"app-token": app.app_token}
    response = api.put("/v1/appusers/alice", {"email": "attacker@evil.example"}, headers=headers)
    assert_like_a_stranger(response, api.put("/v1/appusers/nobody", {"email": "a@evil.example"},
                                             headers=headers))
    alice.refresh_from_db()
    assert alice.email == "" and not alice.credential_required


def test_the_app_token_cannot_reach_a_user_by_its_id_either(api, app, alice):
    """The rule is about the user, not how it is addressed (`_id` or `userId`)."""
    headers = {"app-token": app.app_token}
    assert_requires_user_jwt(api.put(f"/v1/appusers/{alice.id}", {"email": "x@evil.example"},
                                     headers=headers))
    assert_requires_user_jwt(api.get(f"/v1/appusers/{alice.id}", headers=headers))
    alice.refresh_from_db()
    assert alice.email == ""


def test_the_app_token_cannot_read_or_post_messages_of_a_user(api, app, alice):
    Message.objects.create(app=app, app_user=alice, role="appMaker", text="private")
    headers = {"app-token": app.app_token}
    body = {"role": "appUser", "type": "text", "text": "spoof"}
    for ref, check in ((alice.id, assert_requires_user_jwt),
                       ("alice", lambda r: assert_like_a_stranger(
                           r, api.get("/v1/appusers/nobody/messages", headers=headers)))):
        read = api.get(f"/v1/appusers/{ref}/messages", headers=headers)
        check(read)
        assert b"private" not in read.content
        check(api.post(f"/v1/appusers/{ref}/messages", body, headers=headers))
    assert not Message.objects.filter(text="spoof").exists()


def test_the_users_jwt_and_the_business_keep_working(api, app, alice, app_jwt):
    mine = api.put("/v1/appusers/alice", {"email": "alice@a.example"},
                   headers={"authorization": f"Bearer {user_jwt_for(app, 'alice')}"})
    assert mine.status_code == 200, mine.content
    business = api.get("/v1/appusers/alice", headers=app_jwt)
    assert business.status_code == 200 and business.data["appUser"]["email"] == "alice@a.example"


# ------------------------------------------------------------------ off

@pytest.mark.require_user_jwt(False)
def test_off_init_with_a_user_id_follows_smooch(api, app, alice):
    assert app.require_user_jwt is False
    response = init(api, app, {"device": DEVICE, "userId": "alice"})
    assert response.status_code == 200, response.content
    assert response.data["appUser"]["_id"] == alice.id
    assert init(api, app, {"device": {**DEVICE, "id": "d2"}, "userId": "dave"}).status_code == 200
    assert AppUser.objects.filter(user_id="dave").exists()


@pytest.mark.require_user_jwt(False)
def test_off_the_app_token_reaches_a_user_until_its_first_jwt(api, app, alice):
    headers = {"app-token": app.app_token}
    response = api.put("/v1/appusers/alice", {"email": "alice@a.example"}, headers=headers)
    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.email == "alice@a.example"
    # The first appUser JWT secures the user: the app token no longer reaches it.
    assert init(api, app, {"device": DEVICE, "userId": "alice"},
                authorization=f"Bearer {user_jwt_for(app, 'alice')}").status_code == 200
    status, code, description = error_of(api.put("/v1/appusers/alice", {"email": "x@evil.example"},
                                                  headers=headers))
    assert (status, code) == (401, "unauthorized") and "requireUserJwt" not in description
    alice.refresh_from_db()
    assert alice.email == "alice@a.example"


def test_turning_it_off_and_on_takes_effect_at_once(api, app, alice):
    from messaging.services.apps import set_require_user_jwt

    headers = {"app-token": app.app_token}
    set_require_user_jwt(app=app, on=False)
    assert api.get("/v1/appusers/alice", headers=headers).status_code == 200
    set_require_user_jwt(app=app, on=True)
    assert_requires_user_jwt(api.get(f"/v1/appusers/{alice.id}", headers=headers))


# ------------------------------------------------------------ the socket

async def socket_auth(app, app_user_ref, **extra):
    communicator = WebsocketCommunicator(application, "/sdk/ws/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "auth", "appToken": app.app_token, "appUserId": app_user_ref,
                                     "clientId": "device-1", **extra})
    return communicator, await communicator.receive_json_from(timeout=5)


@pytest.mark.django_db(transaction=True)
async def test_on_the_socket_cannot_tell_which_user_ids_exist(app, make_user_async):
    await make_user_async(app, "alice")
    frames = []
    for ref in ("alice", "nobody"):
        communicator, frame = await socket_auth(app, ref)
        frames.append((frame["type"], frame["code"], frame["description"]))
        await communicator.disconnect()
    assert frames[0] == frames[1] == ("error", "not_found", "No such app user."), frames


@pytest.mark.django_db(transaction=True)
async def test_on_the_socket_needs_the_users_jwt(app, make_user_async):
    alice = await make_user_async(app, "alice")
    communicator, frame = await socket_auth(app, alice.id)
    assert frame["type"] == "error" and frame["code"] == "unauthorized", frame
    assert "requireUserJwt" in frame["description"]
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}
    assert not await database_sync_to_async(Client.objects.filter(app_user=alice).exists)()

    communicator, frame = await socket_auth(app, "alice", jwt=user_jwt_for(app, "alice"))
    assert frame["type"] == "ready" and frame["appUser"]["_id"] == alice.id, frame
    await communicator.disconnect()

    anonymous = await make_user_async(app, None)
    communicator, frame = await socket_auth(app, anonymous.id)
    assert frame["type"] == "ready", frame
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.require_user_jwt(False)
async def test_off_the_socket_follows_smooch(app, make_user_async):
    alice = await make_user_async(app, "alice")
    communicator, frame = await socket_auth(app, alice.id)
    assert frame["type"] == "ready" and frame["appUser"]["_id"] == alice.id, frame
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.require_user_jwt(False)
async def test_turning_it_on_closes_an_open_app_token_socket_at_once(app, make_user_async, monkeypatch):
    from messaging import consumers
    from messaging.services.apps import set_require_user_jwt

    # Never re-checked on its own: only the notice can close it.
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 10**9)
    alice = await make_user_async(app, "alice")
    communicator, frame = await socket_auth(app, alice.id)
    assert frame["type"] == "ready", frame
    anonymous = await make_user_async(app, None)
    stays, frame = await socket_auth(app, anonymous.id)
    assert frame["type"] == "ready", frame
    await database_sync_to_async(set_require_user_jwt)(app=app, on=True)
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "error" and "requireUserJwt" in frame["description"], frame
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}
    await communicator.disconnect()
    # The anonymous user's socket stays open.
    await stays.send_json_to({"type": "ping"})
    assert await stays.receive_json_from(timeout=5) == {"type": "pong"}
    await stays.disconnect()


@pytest.fixture
def make_user_async():
    return database_sync_to_async(lambda app, user_id: AppUser.objects.create(app=app, user_id=user_id))


# ------------------------------------------------- every way to create an app

def test_createapp_turns_it_on(db):
    out = StringIO()
    call_command("createapp", "Shop", "--owner", "boss@shop.example", "--json", stdout=out)
    assert App.objects.get(id=json.loads(out.getvalue())["appId"]).require_user_jwt is True


def test_firstrun_turns_it_on_for_the_demo_app(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("firstrun", stdout=StringIO())
    demo = json.loads((tmp_path / "first-run.json").read_text())
    assert App.objects.get(id=demo["appId"]).require_user_jwt is True


def test_the_dashboard_turns_it_on(owner_client, team):
    owner_client.post(f"/teams/{team.id}/apps/new/", {"name": "Support"})
    assert App.objects.get(name="Support").require_user_jwt is True


def test_the_service_turns_it_on(team):
    from messaging.services.apps import create_app

    assert create_app(team=team, name="Svc").require_user_jwt is True


@pytest.mark.django_db(transaction=True)
def test_apps_that_existed_before_keep_smooch_behaviour(team):
    """Migration 0006 fills existing rows with off; the model's default (on)
    applies only to apps created afterwards."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("messaging", "0005_timers")], [("messaging", "0006_app_require_user_jwt")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("messaging")
    executor.migrate(before)
    try:
        old_app = executor.loader.project_state(before).apps.get_model("messaging", "App")
        existing = old_app.objects.create(team_id=team.id, name="Old", app_token="old-token")
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        assert executor.loader.project_state(after).apps.get_model("messaging", "App").objects.get(
            pk=existing.pk).require_user_jwt is False
    finally:
        # Back to the latest schema: the tests after this one need it.
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
    assert App.objects.create(team=team, name="New").require_user_jwt is True
