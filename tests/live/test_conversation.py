"""Users list, conversation view, composer, typing and re-send (HTTP client)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from messaging.models import AppUser, Delivery, DeliveryState, LogEntry, Message
from messaging.services.messages import post_message
from tests.support.ws import make_client, make_user

HX = {"HTTP_HX_REQUEST": "true"}


def user_says(app_user, text):
    return post_message(app_user, role="appUser", fields={"type": "text", "text": text},
                        source={"type": "web"})


@pytest.mark.smoke
@pytest.mark.django_db
def test_it_lists_users_by_activity_with_unread_and_channels(owner_client, app, alice):
    quiet = make_user(app, "quiet", given_name="Quentin")
    AppUser.objects.filter(pk=quiet.pk).update(last_activity_at=timezone.now() - timedelta(days=3))
    make_client(alice, "telegram", minutes_ago=30)
    user_says(alice, "hi there")
    body = owner_client.get(f"/apps/{app.id}/users/").content.decode()
    assert body.index("Alice") < body.index("Quentin")
    assert "1 unread" in body
    assert "telegram" in body and "web" in body
    assert alice.id in body
    # Opening the conversation marks it read for the business.
    owner_client.get(f"/apps/{app.id}/users/{alice.id}/")
    assert "1 unread" not in owner_client.get(f"/apps/{app.id}/users/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["alice", "ALI", "example.org", "Alice"])
def test_it_searches_users_by_user_id_name_or_email(owner_client, app, alice, query):
    other = make_user(app, "zed", given_name="Zed")
    body = owner_client.get(f"/apps/{app.id}/users/", {"q": query}, **HX).content.decode()
    assert alice.id in body and other.id not in body


@pytest.mark.django_db
def test_it_searches_users_by_id(owner_client, app, alice):
    other = make_user(app, "zed")
    body = owner_client.get(f"/apps/{app.id}/users/", {"q": alice.id}).content.decode()
    assert alice.id in body and other.id not in body


@pytest.mark.django_db
def test_it_pages_users_with_a_cursor(owner_client, app, settings):
    from dashboard.views import appusers

    users = [make_user(app, f"u{i:03d}") for i in range(appusers.PAGE_SIZE + 5)]
    first = owner_client.get(f"/apps/{app.id}/users/").content.decode()
    assert "More users" in first
    import re

    cursor = re.search(r"after=([0-9]+_[0-9a-f]+)", first).group(1)
    rest = owner_client.get(f"/apps/{app.id}/users/", {"after": cursor}, **HX).content.decode()
    shown = [u.id for u in users if u.id in first]
    more = [u.id for u in users if u.id in rest]
    assert len(shown) == appusers.PAGE_SIZE and len(more) == 5 and not set(shown) & set(more)


@pytest.mark.smoke
@pytest.mark.django_db
def test_it_shows_history_with_author_time_channel_deliveries_and_decisions(owner_client, app, alice):
    user_says(alice, "Where is my order?")
    answer = post_message(alice, role="appMaker", fields={"type": "text", "text": "On its way", "name": "Ann"})
    client = alice.clients.get()
    Delivery.objects.filter(message=answer).delete()
    Delivery.objects.create(message=answer, client=client, purpose="preferred", state="failed",
                            error={"code": "bad", "message": "chat not found"})
    Message.objects.filter(pk=answer.pk).update(
        decisions=[{"rule": "preferred", "clientId": client.id, "platform": "web", "at": "2026-01-01T00:00:00Z"}]
    )
    body = owner_client.get(f"/apps/{app.id}/users/{alice.id}/").content.decode()
    assert "Where is my order?" in body and "On its way" in body
    assert "via web" in body and "Ann" in body
    assert "Preferred channel" in body and "chat not found" in body
    assert "Re-send" in body
    assert 'data-delivery-state="failed"' in body


@pytest.mark.django_db
def test_it_pages_history_and_fetches_newer_and_single_messages(owner_client, app, alice):
    from dashboard.views.conversations import PAGE_SIZE, millis

    for i in range(PAGE_SIZE + 3):
        user_says(alice, f"line {i:03d}")
    page = owner_client.get(f"/apps/{app.id}/users/{alice.id}/").content.decode()
    assert "line 002" not in page and f"line {PAGE_SIZE + 2:03d}" in page
    assert "Load older messages" in page
    oldest = Message.objects.filter(app_user=alice).order_by("received")[3]
    older = owner_client.get(f"/apps/{app.id}/users/{alice.id}/messages/",
                             {"before": millis(oldest.received)}, **HX).content.decode()
    assert "line 000" in older and "line 002" in older and "line 003" not in older
    last = Message.objects.filter(app_user=alice).order_by("-received").first()
    new = user_says(alice, "brand new")
    newer = owner_client.get(f"/apps/{app.id}/users/{alice.id}/messages/",
                             {"after": millis(last.received)}, **HX).content.decode()
    assert "brand new" in newer and "line 000" not in newer
    one = owner_client.get(f"/apps/{app.id}/users/{alice.id}/messages/{new.id}/", **HX).content.decode()
    assert f'id="m-{new.id}"' in one


@pytest.mark.smoke
@pytest.mark.django_db
def test_it_sends_a_text_as_the_member(owner_client, owner, app, alice):
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/send/",
                                 {"type": "text", "text": "Hello Alice", "name": "Olga", "email": owner.email},
                                 **HX)
    assert response.status_code == 200
    assert "Sent." in response.content.decode()
    message = Message.objects.get(app_user=alice, role="appMaker")
    assert message.text == "Hello Alice" and message.name == "Olga" and message.email == owner.email
    assert message.avatar_url.startswith(settings.PARLEY_GRAVATAR_URL)
    assert message.source == {"type": "dashboard"}
    assert LogEntry.objects.filter(app=app, kind="message:appMaker").exists()


@pytest.mark.django_db
def test_the_composer_defaults_the_sender_to_the_member(owner_client, owner, app, alice):
    body = owner_client.get(f"/apps/{app.id}/users/{alice.id}/").content.decode()
    assert f'value="{owner.email}"' in body
    assert settings.PARLEY_GRAVATAR_URL in body
    preview = owner_client.get(f"/apps/{app.id}/users/{alice.id}/avatar/", {"email": "x@y.example"}, **HX)
    assert 'id="avatar-preview"' in preview.content.decode()


@pytest.mark.django_db
def test_it_sends_a_carousel_with_buttons(owner_client, app, alice):
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/send/", {
        "type": "carousel", "text": "Pick one",
        "item_0_title": "Red", "item_0_description": "A red one", "item_0_media_url": "https://example.org/r.png",
        "item_0_action_type": "postback", "item_0_action_text": "Red please", "item_0_action_value": "RED",
        "item_1_title": "Blue", "item_1_action_type": "link", "item_1_action_text": "See blue",
        "item_1_action_value": "https://example.org/blue",
    }, **HX)
    assert response.status_code == 200, response.content.decode()
    message = Message.objects.get(app_user=alice, role="appMaker")
    assert message.type == "carousel"
    assert [i["title"] for i in message.items] == ["Red", "Blue"]
    assert message.items[0]["actions"][0] == {**message.items[0]["actions"][0], "type": "postback", "payload": "RED"}


@pytest.mark.django_db
@pytest.mark.parametrize("data", [
    {"type": "text", "action_0_type": "reply", "action_0_text": "Yes", "action_0_value": "YES"},
    {"type": "text", "text": "Go", "action_0_type": "link", "action_0_text": "Site", "action_0_value": "https://example.org"},
    {"type": "text", "text": "Where?", "action_0_type": "locationRequest", "action_0_text": "Send location"},
    {"type": "image", "media_url": "https://example.org/cat.png"},
    {"type": "list", "item_0_title": "One", "item_0_action_type": "postback", "item_0_action_text": "Pick",
     "item_0_action_value": "ONE"},
])
def test_it_sends_every_kind_of_message(owner_client, app, alice, data):
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/send/", data, **HX)
    assert response.status_code == 200, response.content.decode()
    assert Message.objects.filter(app_user=alice, role="appMaker", type=data["type"]).count() == 1


@pytest.mark.django_db
# The dashboard words the API's refusals for people (dashboard/composer_forms.py
# for_people); the API keeps its own wording (tests/api).
@pytest.mark.parametrize("data, error", [
    ({"type": "text", "text": ""}, "Write a message first"),
    ({"type": "image"}, "Add an image"),
    ({"type": "image", "media_url": "ftp://example.org/x.png"}, "Add a web address starting with https://"),
    ({"type": "carousel", "text": "x"}, "Add at least one item"),
    ({"type": "text", "text": "x", "action_0_type": "link", "action_0_text": "Go"},
     "Add a web address starting with https://"),
    ({"type": "text", "text": "x", "email": "not-an-email"}, "doesn&#x27;t look like an email address"),
    ({"type": "text", "text": "x", "action_0_type": "reply", "action_0_text": "Y", "action_0_value": "Y",
      "action_1_type": "link", "action_1_text": "L", "action_1_value": "https://example.org"},
     "can&#x27;t be mixed with other kinds of button"),
])
def test_it_refuses_what_the_api_refuses_and_sends_nothing(owner_client, app, alice, data, error):
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/send/", data, **HX)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not Message.objects.filter(app_user=alice).exists()


@pytest.mark.django_db
def test_it_refuses_a_destination_the_user_is_not_on(owner_client, app, alice):
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/send/",
                                 {"type": "text", "text": "x", "destination": "telegram"}, **HX)
    assert response.status_code == 422
    assert not Message.objects.filter(app_user=alice).exists()


@pytest.mark.django_db
def test_it_sends_to_a_chosen_destination(owner_client, app, alice):
    make_client(alice, "telegram", minutes_ago=60)
    page = owner_client.get(f"/apps/{app.id}/users/{alice.id}/").content.decode()
    assert '<option value="telegram">' in page
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/send/",
                                 {"type": "text", "text": "x", "destination": "telegram"}, **HX)
    assert response.status_code == 200
    assert Message.objects.get(app_user=alice).destination == {"integrationType": "telegram"}


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["typing:start", "typing:stop"])
def test_typing_goes_through_the_engine(owner_client, app, alice, action):
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/typing/", {"action": action})
    assert response.status_code == 200
    entry = LogEntry.objects.get(app=app, kind="typing:appMaker")
    assert entry.detail["state"] == action.split(":")[1]
    assert entry.detail["avatarUrl"].startswith(settings.PARLEY_GRAVATAR_URL)


@pytest.mark.django_db
def test_typing_refuses_other_actions(owner_client, app, alice):
    assert owner_client.post(f"/apps/{app.id}/users/{alice.id}/typing/", {"action": "x"}).status_code == 400
    assert not LogEntry.objects.filter(kind="typing:appMaker").exists()


def failed_delivery(app_user):
    message = post_message(app_user, role="appMaker", fields={"type": "text", "text": "lost"})
    Delivery.objects.filter(message=message).delete()
    return Delivery.objects.create(message=message, client=app_user.clients.get(), purpose="preferred",
                                   state=DeliveryState.FAILED, error={"message": "boom"}, attempts=1)


@pytest.mark.django_db
def test_it_resends_a_failed_delivery(agent_client, app, alice):
    delivery = failed_delivery(alice)
    response = agent_client.post(f"/apps/{app.id}/users/{alice.id}/deliveries/{delivery.id}/resend/", **HX)
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.QUEUED and delivery.error is None
    assert 'data-delivery-state="queued"' in response.content.decode()


@pytest.mark.django_db
def test_it_resends_only_failed_deliveries(owner_client, app, alice):
    delivery = failed_delivery(alice)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SENT)
    response = owner_client.post(f"/apps/{app.id}/users/{alice.id}/deliveries/{delivery.id}/resend/", **HX)
    assert response.status_code == 409
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT


@pytest.mark.django_db
def test_it_creates_a_user_like_the_api_and_shows_its_id(agent_client, app):
    response = agent_client.post(f"/apps/{app.id}/users/new/",
                                 {"user_id": "carol-7", "given_name": "Carol", "email": "carol@example.org"}, **HX)
    assert response.status_code == 200
    user = AppUser.objects.get(app=app, user_id="carol-7")
    body = response.content.decode()
    assert user.id in body and f'data-copy="{user.id}"' in body
    assert user.given_name == "Carol" and user.email == "carol@example.org"
    assert LogEntry.objects.filter(app=app, kind="appUser:created", app_user=user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("data, error", [
    ({"user_id": "a/b"}, "must not contain"),
    ({"user_id": "alice"}, "already exists"),
    ({"user_id": ""}, "required"),
])
def test_it_refuses_bad_or_taken_user_ids(agent_client, app, alice, data, error):
    before = AppUser.objects.count()
    response = agent_client.post(f"/apps/{app.id}/users/new/", data, **HX)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert AppUser.objects.count() == before


@pytest.mark.django_db
def test_a_failover_run_early_says_why_and_the_composer_names_each_channels_limit(owner_client, app, alice):
    make_client(alice, "telegram", external_id="4242")
    make_client(alice, "twilio", external_id="+15145550100")
    answer = post_message(alice, role="appMaker", fields={"type": "text", "text": "Table ready"})
    Message.objects.filter(pk=answer.pk).update(decisions=[
        {"rule": "failover", "platform": "twilio", "step": 0, "at": "2026-01-01T00:00:00Z",
         "trigger": "the preferred delivery failed: the user blocked the bot"}])
    body = owner_client.get(f"/apps/{app.id}/users/{alice.id}/").content.decode()
    assert "(the preferred delivery failed: the user blocked the bot)" in body
    assert "Telegram (text over 4,096 characters goes as several messages)" in body
    assert "Twilio SMS (text over 1,600 characters goes as several messages)" in body
