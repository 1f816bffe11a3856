"""POST .../appusers/merge: two users of one app become one. Messages
(with their deliveries), clients, properties (the surviving user's win),
the team's notes; the discarded user is gone; `merge:appUser` is queued for
the webhooks with the reference's payload. Refused across apps (404), with
itself (400), for an end user's credential (403) and for a bad body (400),
each with nothing changed."""

import pytest

from messaging.models import AppUser, Client, Delivery, KeyScope, LogEntry, Message, Webhook, WebhookEvent
from messaging.services.apps import create_key
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.api.conftest import add_client, bearer, error_of, make_jwt
from tests.webhooks.test_payloads import MERGE, check

pytestmark = pytest.mark.django_db


def merge(api, headers, surviving, discarded, prefix="/v1.1"):
    return api.post(f"{prefix}/appusers/merge", {"surviving": surviving, "discarded": discarded}, headers=headers)


@pytest.fixture
def pair(app, make_user):
    """alice (userId, web client, a property) and an anonymous user with a
    Telegram client, a message delivered there and properties of its own."""
    alice = make_user(app, "alice", clients=["web"], given_name="Alice", properties={"plan": "gold", "a": 1})
    anon = make_user(app, None, email="anon@example.com", conversation_started=True, unread_count=2,
                     properties={"plan": "free", "b": 2})
    add_client(anon, "telegram", "4242")
    fields = validate_message({"role": "appMaker", "type": "text", "text": "Hi"}, role="appMaker", app_user=anon)
    message = post_message(anon, role="appMaker", fields=fields)
    Message.objects.create(app=app, app_user=anon, role="appUser", text="Hello")
    return alice, anon, message


def test_it_merges_messages_clients_properties_and_deliveries(api, app_jwt, app, pair):
    alice, anon, message = pair
    Webhook.objects.create(app=app, target="https://hooks.example/m", triggers=["merge:appUser"])
    delivery = Delivery.objects.get(message=message)
    response = merge(api, app_jwt, {"userId": "alice"}, {"_id": anon.id})
    assert response.status_code == 200, response.content
    assert response.data["appUser"]["_id"] == alice.id
    assert not AppUser.objects.filter(pk=anon.pk).exists()
    assert set(Message.objects.filter(app_user=alice).values_list("text", flat=True)) == {"Hi", "Hello"}
    assert set(Client.objects.filter(app_user=alice).values_list("platform", flat=True)) == {"web", "telegram"}
    delivery.refresh_from_db()
    assert delivery.client.app_user_id == alice.id and delivery.message_id == message.id
    alice.refresh_from_db()
    assert alice.properties == {"plan": "gold", "a": 1, "b": 2}  # the surviving user's value wins
    assert (alice.given_name, alice.email) == ("Alice", "anon@example.com")  # an empty field is filled
    assert (alice.conversation_started, alice.unread_count) == (True, 3)  # 2 + the message posted
    [event] = WebhookEvent.objects.filter(app=app, trigger="merge:appUser")
    check(event.payload, MERGE, "merge:appUser")
    assert event.payload["surviving"] == {"_id": alice.id, "userId": "alice", "conversationStarted": True}
    assert event.payload["discarded"] == [{"_id": anon.id, "conversationStarted": True}]
    assert LogEntry.objects.filter(app_user=alice, kind="merge:appUser").exists()


def test_a_client_both_users_have_is_kept_once_with_its_deliveries(api, app_jwt, app, pair):
    alice, anon, message = pair
    twin = add_client(alice, "telegram", "4242")
    assert merge(api, app_jwt, {"_id": alice.id}, {"_id": anon.id}).status_code == 200
    assert list(Client.objects.filter(platform="telegram").values_list("pk", flat=True)) == [twin.pk]
    assert Delivery.objects.get(message=message).client_id == twin.pk


def test_the_surviving_user_takes_the_discarded_users_user_id_when_it_has_none(api, app_jwt, app, pair):
    alice, anon, _ = pair
    assert merge(api, app_jwt, {"_id": anon.id}, {"userId": "alice"}).status_code == 200
    anon.refresh_from_db()
    assert anon.user_id == "alice" and not AppUser.objects.filter(pk=alice.pk).exists()


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token reaches a userId until it is secured
def test_a_secured_discarded_user_secures_the_surviving_one(api, app_jwt, app, pair, app_token):
    alice, anon, _ = pair
    AppUser.objects.filter(pk=alice.pk).update(credential_required=True)
    assert merge(api, app_jwt, {"_id": anon.id}, {"_id": alice.id}).status_code == 200
    anon.refresh_from_db()
    assert anon.credential_required and anon.user_id == "alice"
    # Its history (alice's) is no longer reachable with the app token alone.
    response = api.get(f"/v1/appusers/{anon.id}/messages", headers=app_token)
    assert error_of(response)[0] == 401


def test_account_keys_merge_at_the_apps_path(api, account_jwt, app, pair):
    alice, anon, _ = pair
    response = merge(api, account_jwt, {"_id": alice.id}, {"_id": anon.id}, prefix=f"/v1.1/apps/{app.id}")
    assert response.status_code == 200, response.content
    assert not AppUser.objects.filter(pk=anon.pk).exists()


def unchanged(alice, anon):
    assert AppUser.objects.filter(pk__in=[alice.pk, anon.pk]).count() == 2
    assert Message.objects.filter(app_user=anon).count() == 2
    assert not LogEntry.objects.filter(kind="merge:appUser").exists()


def test_refusals_change_nothing(api, app_jwt, user_jwt, pair, other_app):
    alice, anon, _ = pair
    assert error_of(merge(api, app_jwt, {"_id": alice.id}, {"_id": other_app.user.id}))[:2] == (404, "not_found")
    assert error_of(merge(api, app_jwt, {"_id": other_app.user.id}, {"_id": anon.id}))[:2] == (404, "not_found")
    assert error_of(merge(api, app_jwt, {"_id": alice.id}, {"userId": "alice"}))[:2] == (400, "bad_request")
    assert error_of(merge(api, app_jwt, {"_id": alice.id}, {}))[:2] == (400, "bad_request")
    # Other keys do not name a user (a 500 the fuzzer found).
    assert error_of(merge(api, app_jwt, {"name": "x"}, {"_id": anon.id}))[:2] == (400, "bad_request")
    assert error_of(merge(api, app_jwt, {"_id": alice.id, "x": 1}, {"_id": anon.id}))[:2] == (400, "bad_request")
    assert error_of(api.post("/v1.1/appusers/merge", {"surviving": {"_id": alice.id}}, headers=app_jwt))[0] == 400
    assert error_of(merge(api, app_jwt, alice.id, anon.id))[0] == 400
    assert error_of(merge(api, user_jwt("alice"), {"_id": alice.id}, {"_id": anon.id}))[:2] == (403, "forbidden")
    unchanged(alice, anon)
    assert AppUser.objects.filter(pk=other_app.user.pk).exists()


def test_another_teams_account_key_reaches_nothing(api, pair, app, stranger_team):
    alice, anon, _ = pair
    key, secret = create_key(team=stranger_team, scope=KeyScope.ACCOUNT, name="theirs")
    response = merge(api, bearer(make_jwt(key.key_id, secret, "account")), {"_id": alice.id}, {"_id": anon.id},
                     prefix=f"/v1.1/apps/{app.id}")
    assert error_of(response)[:2] == (404, "not_found")
    unchanged(alice, anon)
