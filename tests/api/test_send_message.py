"""POST /v1/appusers/{id}/messages: roles, types, actions, items, destination,
and every validation rule (400, a precise description, nothing stored)."""

import hashlib

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Client, Delivery, LogEntry, Message
from tests.api.conftest import add_client, error_of


def url(app_user):
    return f"/v1/appusers/{app_user.id}/messages"


def assert_rejected(api, app_user, headers, body, description):
    before = Message.objects.count(), LogEntry.objects.filter(kind__startswith="message:").count()
    response = api.post(url(app_user), body, headers=headers)
    status, code, text = error_of(response)
    assert (status, code) == (400, "bad_request"), text
    assert description in text, text
    after = Message.objects.count(), LogEntry.objects.filter(kind__startswith="message:").count()
    assert after == before, "a rejected message must store nothing"


@pytest.mark.smoke
def test_it_sends_a_text_message_as_the_business(api, app_jwt, alice):
    response = api.post(
        url(alice),
        {"type": "text", "text": "Hello, world!", "role": "appMaker", "name": "Business Man",
         "email": "Boss@Business.com "},
        headers=app_jwt,
    )
    assert response.status_code == 201, response.content
    message = response.data["message"]
    digest = hashlib.md5(b"boss@business.com").hexdigest()
    assert message["avatarUrl"] == f"{settings.PARLEY_GRAVATAR_URL}{digest}?d=mp"  # www.gravatar.com in production
    assert message["role"] == "appMaker" and message["text"] == "Hello, world!"
    assert message["name"] == "Business Man"
    assert response.data["conversation"] == {"_id": alice.id, "unreadCount": 1, "status": "open"}  # + the inbox (app JWT)
    stored = Message.objects.get(pk=message["_id"])
    assert stored.app_user == alice and stored.source == {"type": "api"}
    alice.refresh_from_db()
    assert alice.conversation_started and alice.unread_count == 1
    kinds = list(LogEntry.objects.filter(app_user=alice).order_by("id").values_list("kind", flat=True))
    assert kinds[:2] == ["conversation:start", "message:appMaker"]
    # The engine got it: a delivery to the web client.
    assert Delivery.objects.filter(message=stored).exists()


def test_it_starts_the_conversation_only_once(api, app_jwt, alice):
    for text in ("one", "two"):
        api.post(url(alice), {"type": "text", "text": text, "role": "appMaker"}, headers=app_jwt)
    assert LogEntry.objects.filter(app_user=alice, kind="conversation:start").count() == 1
    alice.refresh_from_db()
    assert alice.unread_count == 2


def test_it_lets_avatar_url_override_gravatar(api, app_jwt, alice):
    response = api.post(url(alice), {"type": "text", "text": "hi", "role": "appMaker", "email": "a@b.co",
                                     "avatarUrl": "https://example.org/me.png"}, headers=app_jwt)
    assert response.data["message"]["avatarUrl"] == "https://example.org/me.png"


@pytest.mark.smoke
@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token acts as the user
def test_it_sends_a_user_message_with_the_app_token(api, app_token, alice):
    response = api.post(url(alice), {"type": "text", "text": "Just put some vinegar on it",
                                     "role": "appUser"}, headers=app_token)
    assert response.status_code == 201, response.content
    message = response.data["message"]
    assert message["authorId"] == alice.id
    assert message["name"] == "Alice Liddell"  # defaults to the user's names
    assert response.data["conversation"]["unreadCount"] == 0
    assert LogEntry.objects.filter(app_user=alice, kind="message:appUser").count() == 1


@pytest.mark.require_user_jwt(False)  # Smooch v1: the app token acts as the user
def test_it_refuses_app_maker_messages_with_the_app_token(api, app_token, alice):
    response = api.post(url(alice), {"type": "text", "text": "hi", "role": "appMaker"}, headers=app_token)
    status, code, text = error_of(response)
    assert (status, code) == (403, "forbidden") and "app scope" in text
    assert not Message.objects.exists()


def test_it_refuses_app_maker_messages_with_an_app_user_jwt(api, user_jwt, alice):
    response = api.post(url(alice), {"type": "text", "text": "hi", "role": "appMaker"},
                        headers=user_jwt("alice"))
    assert error_of(response)[:2] == (403, "forbidden")
    assert not Message.objects.exists()


def test_it_sends_text_with_actions(api, app_jwt, alice):
    actions = [
        {"type": "link", "text": "More info", "uri": "http://example.org"},
        {"type": "postback", "text": "Send vinegar", "payload": "buy_vinegar", "metadata": {"a": 1}},
    ]
    response = api.post(url(alice), {"type": "text", "role": "appMaker", "text": "Hello!", "actions": actions},
                        headers=app_jwt)
    assert response.status_code == 201, response.content
    sent = response.data["message"]["actions"]
    assert [a["type"] for a in sent] == ["link", "postback"]
    assert all(len(a["_id"]) == 24 for a in sent)
    assert sent[1]["metadata"] == {"a": 1}


def test_it_sends_actions_without_text(api, app_jwt, alice):
    response = api.post(url(alice), {"type": "text", "role": "appMaker",
                                     "actions": [{"type": "reply", "text": "Tacos", "payload": "TACOS"}]},
                        headers=app_jwt)
    assert response.status_code == 201


def test_it_sends_replies_with_a_location_request(api, app_jwt, alice):
    actions = [
        {"type": "reply", "text": "Tacos", "payload": "TACOS", "iconUrl": "http://example.org/taco.png"},
        {"type": "locationRequest", "text": "Send Location"},
    ]
    response = api.post(url(alice), {"type": "text", "role": "appMaker", "text": "Which?", "actions": actions},
                        headers=app_jwt)
    assert response.status_code == 201, response.content
    assert response.data["message"]["actions"][0]["iconUrl"] == "http://example.org/taco.png"


def test_it_sends_an_image(api, app_jwt, alice):
    response = api.post(url(alice), {"type": "image", "role": "appMaker", "mediaUrl": "http://example.org/image.jpg"},
                        headers=app_jwt)
    assert response.status_code == 201
    assert response.data["message"]["mediaType"] == "image/jpeg"


CAROUSEL_ITEMS = [
    {"title": "Tacos", "description": "Description", "mediaUrl": "http://example.org/image.jpg",
     "actions": [{"text": "Select", "type": "postback", "payload": "TACOS"},
                 {"text": "More info", "type": "link", "uri": "http://example.org"}]},
    {"title": "Ramen", "size": "large", "actions": [{"type": "share"}]},
]


def test_it_sends_a_carousel(api, app_jwt, alice):
    response = api.post(url(alice), {"type": "carousel", "role": "appMaker", "items": CAROUSEL_ITEMS},
                        headers=app_jwt)
    assert response.status_code == 201, response.content
    items = response.data["message"]["items"]
    assert [i["title"] for i in items] == ["Tacos", "Ramen"]
    assert items[0]["mediaType"] == "image/jpeg"
    assert items[1]["actions"][0]["type"] == "share"


def test_it_sends_a_list_with_actions(api, app_jwt, alice):
    response = api.post(url(alice), {
        "type": "list", "role": "appMaker", "items": CAROUSEL_ITEMS,
        "actions": [{"text": "More Choices!", "type": "postback", "payload": "MORE"}],
    }, headers=app_jwt)
    assert response.status_code == 201, response.content
    assert response.data["message"]["actions"][0]["payload"] == "MORE"


def test_it_accepts_a_location_from_the_user(api, as_alice, alice):
    response = api.post(url(alice), {"type": "location", "role": "appUser",
                                     "coordinates": {"lat": 45.5261583, "long": -73.595346}},
                        headers=as_alice)
    assert response.status_code == 201, response.content
    message = response.data["message"]
    assert message["coordinates"] == {"lat": 45.5261583, "long": -73.595346}
    assert message["text"].startswith("Location shared:\nhttps://maps.google.com/maps?q=45.5261583")


def test_it_sends_to_a_destination_channel(api, app_jwt, alice):
    add_client(alice, "messenger")
    response = api.post(url(alice), {"type": "text", "role": "appMaker", "text": "Hey Messenger user",
                                     "destination": {"integrationType": "messenger"}}, headers=app_jwt)
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert message.destination == {"integrationType": "messenger"}
    assert [d.client.platform for d in message.deliveries.all()] == ["messenger"]


def test_it_sends_to_a_destination_integration_id(api, app_jwt, alice):
    client = add_client(alice, "telegram")
    response = api.post(url(alice), {"type": "text", "role": "appMaker", "text": "hi",
                                     "destination": {"integrationId": client.integration_id}}, headers=app_jwt)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("platform", ["messenger", "line"], ids=["client there", "no client there"])
def test_a_send_with_a_destination_reads_the_users_clients_once(api, app_jwt, alice, platform):
    add_client(alice, "messenger")
    body = {"type": "text", "role": "appMaker", "text": "hi", "destination": {"integrationType": platform}}
    with CaptureQueriesContext(connection) as queries:
        response = api.post(url(alice), body, headers=app_jwt)
    assert response.status_code == (201 if platform == "messenger" else 400), response.content
    table = connection.ops.quote_name(Client._meta.db_table)
    reads = [q["sql"] for q in queries.captured_queries if f"FROM {table}" in q["sql"]]
    assert len(reads) == 1, reads


def test_it_accepts_buy_actions_with_stripe(api, app_jwt, alice, app):
    from messaging.models import Integration

    Integration.objects.create(app=app, type="stripe")
    response = api.post(url(alice), {"type": "text", "role": "appMaker", "text": "Vinegar",
                                     "actions": [{"type": "buy", "text": "Buy", "amount": 999, "currency": "USD"}]},
                        headers=app_jwt)
    assert response.status_code == 201, response.content
    assert response.data["message"]["actions"][0]["amount"] == 999


def test_it_works_for_an_account_key_under_apps(api, account_jwt, app, alice):
    response = api.post(f"/v1/apps/{app.id}/appusers/{alice.id}/messages",
                        {"type": "text", "role": "appMaker", "text": "hi"}, headers=account_jwt)
    assert response.status_code == 201, response.content


def test_it_addresses_the_user_by_user_id(api, app_jwt, alice):
    response = api.post("/v1.1/appusers/alice/messages", {"type": "text", "role": "appMaker", "text": "hi"},
                        headers=app_jwt)
    assert response.status_code == 201
    assert Message.objects.get().app_user == alice


# --------------------------------------------------------------- validation

ITEM = {"title": "T", "actions": [{"type": "postback", "text": "x", "payload": "X"}]}

INVALID = [
    ({"type": "text", "text": "hi"}, "role is required."),
    ({"role": "bot", "type": "text", "text": "hi"}, "role must be appUser or appMaker."),
    ({"role": "appMaker", "text": "hi"}, "type is required."),
    ({"role": "appMaker", "type": "video", "text": "hi"}, "type must be one of text, image, carousel, list, location."),
    ({"role": "appMaker", "type": "text"}, "text is required for a text message"),
    ({"role": "appMaker", "type": "text", "text": "  "}, "text is required for a text message"),
    ({"role": "appMaker", "type": "text", "text": 5}, "text must be a string."),
    ({"role": "appMaker", "type": "image"}, "mediaUrl is required."),
    ({"role": "appMaker", "type": "image", "mediaUrl": "javascript:alert(1)"}, "mediaUrl must be an http or https URL."),
    ({"role": "appMaker", "type": "image", "mediaUrl": "http://e.org/a.jpg", "mediaType": "text/html"},
     "mediaType of an image message must be an image/* type."),
    ({"role": "appMaker", "type": "text", "text": "x", "mediaUrl": "http://e.org/a.jpg"},
     "mediaUrl is only allowed in image messages"),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": {"type": "link"}}, "actions must be an array."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": ["link"]}, "actions[0] must be an object."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"text": "a"}]}, "actions[0].type is required."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "call", "text": "a"}]},
     "actions[0].type must be one of link, buy, postback, reply, locationRequest."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "share"}]},
     "actions[0].type must be one of link, buy, postback, reply, locationRequest."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "link", "uri": "http://e.org"}]},
     "actions[0].text is required."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "link", "text": "a"}]},
     "actions[0].uri is required."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "link", "text": "a", "uri": "nope"}]},
     "actions[0].uri must be an http, https, tel: or mailto: URI"),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "postback", "text": "a"}]},
     "actions[0].payload is required."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "reply", "text": "a"}]},
     "actions[0].payload is required."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "buy", "text": "a"}]},
     "actions[0].amount is required."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "buy", "text": "a", "amount": 9.99}]},
     "actions[0].amount must be a positive integer, in cents."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [{"type": "buy", "text": "a", "amount": 999}]},
     "buy actions need an active stripe integration"),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [
        {"type": "reply", "text": "a", "payload": "A"}, {"type": "link", "text": "b", "uri": "http://e.org"}]},
     "reply and locationRequest actions can only be sent alone or together"),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [
        {"type": "locationRequest", "text": "a"}, {"type": "postback", "text": "b", "payload": "B"}]},
     "reply and locationRequest actions can only be sent alone or together"),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [
        {"type": "reply", "text": "a", "payload": "A", "iconUrl": "ftp://x"}]},
     "actions[0].iconUrl must be an http or https URL."),
    ({"role": "appMaker", "type": "text", "text": "x", "actions": [
        {"type": "link", "text": "a", "uri": "http://e.org", "metadata": {"a": {"b": 1}}}]},
     "actions[0].metadata must be a flat JSON object"),
    ({"role": "appMaker", "type": "carousel"}, "items is required for a carousel message."),
    ({"role": "appMaker", "type": "carousel", "items": []}, "a carousel message needs at least 1 item."),
    ({"role": "appMaker", "type": "carousel", "items": [ITEM] * 11}, "a carousel message is limited to 10 items (11 given)."),
    ({"role": "appMaker", "type": "list", "items": [ITEM] * 11}, "a list message is limited to 10 items (11 given)."),
    ({"role": "appMaker", "type": "carousel", "items": [{"actions": ITEM["actions"]}]}, "items[0].title is required."),
    ({"role": "appMaker", "type": "carousel", "items": [{"title": "T"}]}, "items[0].actions is required"),
    ({"role": "appMaker", "type": "carousel", "items": [{"title": "T", "actions": []}]},
     "items[0].actions must hold 1 to 3 actions (0 given)."),
    ({"role": "appMaker", "type": "carousel", "items": [{"title": "T", "actions": ITEM["actions"] * 4}]},
     "items[0].actions must hold 1 to 3 actions (4 given)."),
    ({"role": "appMaker", "type": "carousel", "items": [{"title": "T", "actions": [
        {"type": "reply", "text": "a", "payload": "A"}]}]},
     "items[0].actions[0].type must be one of link, postback, share."),
    ({"role": "appMaker", "type": "carousel", "items": [{**ITEM, "size": "huge"}]}, "items[0].size must be compact or large."),
    ({"role": "appMaker", "type": "carousel", "items": [{**ITEM, "mediaUrl": "file:///etc/passwd"}]},
     "items[0].mediaUrl must be an http or https URL."),
    ({"role": "appMaker", "type": "carousel", "items": [ITEM], "actions": ITEM["actions"]},
     "carousel messages take no message-level actions"),
    ({"role": "appMaker", "type": "list", "items": [ITEM], "actions": [{"type": "reply", "text": "a", "payload": "A"}]},
     "list messages take link, buy or postback actions"),
    ({"role": "appMaker", "type": "text", "text": "x", "items": [ITEM]}, "items are only allowed in carousel and list messages."),
    ({"role": "appMaker", "type": "location", "coordinates": {"lat": 1, "long": 2}},
     "location messages can only be sent with the appUser role."),
    ({"role": "appMaker", "type": "text", "text": "x", "metadata": [1]}, "metadata must be a flat JSON object."),
    ({"role": "appMaker", "type": "text", "text": "x", "metadata": {"a": [1]}}, "metadata.a is nested"),
    ({"role": "appMaker", "type": "text", "text": "x", "email": "not-an-email"}, "email must be an email address."),
    ({"role": "appMaker", "type": "text", "text": "x", "avatarUrl": "data:image/png;base64,AA"},
     "avatarUrl must be an http or https URL."),
    ({"role": "appMaker", "type": "text", "text": "x", "destination": {"integrationType": "messenger"}},
     "destination: this user has no active messenger client."),
    ({"role": "appMaker", "type": "text", "text": "x", "destination": {"integrationId": "0" * 24}},
     "destination: this user has no active client on integration"),
    ({"role": "appMaker", "type": "text", "text": "x", "destination": {}},
     "destination needs exactly one of integrationType or integrationId."),
    ({"role": "appMaker", "type": "text", "text": "x", "destination": "messenger"},
     "destination must be an object"),
]


@pytest.mark.parametrize("body,description", INVALID, ids=[d for _, d in INVALID])
def test_it_rejects_invalid_business_messages(api, app_jwt, alice, body, description):
    assert_rejected(api, alice, app_jwt, body, description)


USER_INVALID = [
    ({"role": "appUser", "type": "text", "text": "x", "actions": [{"type": "link", "text": "a", "uri": "http://e.org"}]},
     "actions can only be sent with the appMaker role."),
    ({"role": "appUser", "type": "carousel", "items": [ITEM]}, "carousel messages can only be sent with the appMaker role."),
    ({"role": "appUser", "type": "list", "items": [ITEM]}, "list messages can only be sent with the appMaker role."),
    ({"role": "appUser", "type": "location"}, "coordinates is required for a location message."),
    ({"role": "appUser", "type": "location", "coordinates": {"lat": 91, "long": 0}}, "coordinates.lat must be between -90 and 90."),
    ({"role": "appUser", "type": "location", "coordinates": {"lat": 1}}, "coordinates.long is required."),
    ({"role": "appUser", "type": "location", "coordinates": {"lat": "1", "long": 2}}, "coordinates.lat must be a number."),
    ({"role": "appUser", "type": "text", "text": "x", "destination": {"integrationType": "web"}},
     "destination can only be given with the appMaker role."),
]


@pytest.mark.parametrize("body,description", USER_INVALID, ids=[d for _, d in USER_INVALID])
def test_it_rejects_invalid_user_messages(api, as_alice, alice, body, description):
    assert_rejected(api, alice, as_alice, body, description)


def test_it_rejects_a_destination_on_a_pending_client(api, app_jwt, alice):
    add_client(alice, "twilio", "+15145555555", pending=True)
    assert_rejected(api, alice, app_jwt, {"role": "appMaker", "type": "text", "text": "x",
                                          "destination": {"integrationType": "twilio"}},
                    "this user has no active twilio client")


def test_it_rejects_a_body_that_is_not_json(api, app_jwt, alice):
    response = api.post(url(alice), raw="{nope", headers=app_jwt)
    assert error_of(response) == (400, "bad_request", "The request body is not valid JSON.")
    response = api.post(url(alice), raw="[1]", headers=app_jwt)
    assert error_of(response) == (400, "bad_request", "The request body must be a JSON object.")
    # NaN and Infinity are not JSON, even though Python's parser takes them.
    response = api.post(url(alice), raw='{"role": "appUser", "type": "text", "text": "x", "metadata": {"a": NaN}}',
                        headers=app_jwt)
    assert error_of(response) == (400, "bad_request", "The request body is not valid JSON: NaN is not a JSON number.")
    assert not Message.objects.exists()


def test_it_refuses_a_body_over_the_size_limit(api, app_jwt, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"role": "appMaker", "type": "text", "text": "x" * 2000}
    assert error_of(api.post(url(alice), body, headers=app_jwt))[:2] == (413, "payload_too_large")
    assert not Message.objects.exists()


def test_it_answers_404_for_an_unknown_user(api, app_jwt):
    response = api.post("/v1/appusers/nobody/messages", {"role": "appMaker", "type": "text", "text": "x"},
                        headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")
