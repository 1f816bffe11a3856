"""The Notification API: POST /v1.1/apps/{appId}/notifications (and
/v1/apps/{appId}/notifications, /v1/notifications) starts a conversation by
SMS with a phone number that never wrote in: the app user and the client
are found or created, the message takes the path of every business message
(validation, targeting to that integration, a delivery queued)."""

import pytest

from messaging.models import (
    AppUser,
    Client,
    Delivery,
    Integration,
    KeyScope,
    LogEntry,
    Message,
)
from messaging.services.apps import create_key
from tests.api.conftest import add_client, bearer, error_of, make_jwt

PHONE = "+15145555555"


@pytest.fixture
def twilio(app):
    return Integration.objects.create(app=app, type="twilio", display_name="Support line",
                                      credentials={"accountSid": "AC1", "authToken": "secret-token"})


def body(integration_id, destination_id=PHONE, **message):
    return {"destination": {"integrationId": integration_id, "destinationId": destination_id},
            "message": {"type": "text", "text": "Your order has shipped.", **message}}


def notify(api, headers, data, path="/v1.1/notifications"):
    return api.post(path, data, headers=headers)


def nothing_stored(app):
    assert not AppUser.objects.filter(app=app).exists()
    assert not Client.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.smoke
def test_it_creates_the_user_and_client_and_queues_the_sms(api, app_jwt, app, twilio):
    response = notify(api, app_jwt, body(twilio.id, "+1 (514) 555-5555"), f"/v1.1/apps/{app.id}/notifications")
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert response.data == {"notification": {"_id": message.id}}
    user = AppUser.objects.get(app=app)
    client = Client.objects.get(app_user=user)
    assert (client.platform, client.integration, client.external_id, client.pending, client.active) == (
        "twilio", twilio, PHONE, False, True)
    assert (message.app_user, message.role, message.type, message.text) == (
        user, "appMaker", "text", "Your order has shipped.")
    assert message.destination == {"integrationId": twilio.id}
    delivery = Delivery.objects.get(message=message)
    assert (delivery.client, delivery.purpose, delivery.state) == (client, "destination", "queued")
    kinds = set(LogEntry.objects.filter(app=app, app_user=user).values_list("kind", flat=True))
    assert {"appUser:created", "link:confirmed", "conversation:start", "message:appMaker"} <= kinds


@pytest.mark.parametrize("path", ["/v1/notifications", "/v1.1/notifications"])
def test_it_answers_at_the_app_scope_paths(api, app_jwt, twilio, path):
    assert notify(api, app_jwt, body(twilio.id), path).status_code == 201


@pytest.mark.parametrize("prefix", ["/v1", "/v1.1"])
def test_it_works_for_an_account_key_of_the_team(api, account_jwt, app, twilio, prefix):
    response = notify(api, account_jwt, body(twilio.id), f"{prefix}/apps/{app.id}/notifications")
    assert response.status_code == 201, response.content
    assert Message.objects.get().app_user.app == app


def test_a_known_number_reaches_its_user(api, app_jwt, app, twilio, make_user):
    dora = make_user(app, "dora", clients=["web"])
    client = add_client(dora, "twilio", PHONE)
    assert client.integration == twilio
    assert notify(api, app_jwt, body(twilio.id)).status_code == 201
    assert notify(api, app_jwt, body(twilio.id, text="Second")).status_code == 201
    assert AppUser.objects.count() == 1 and Client.objects.filter(platform="twilio").count() == 1
    deliveries = Delivery.objects.filter(message__app_user=dora)
    assert [d.client_id for d in deliveries] == [client.id, client.id]  # never the web client


def test_a_second_notification_to_a_new_number_reuses_the_user(api, app_jwt, twilio):
    first = notify(api, app_jwt, body(twilio.id)).data["notification"]["_id"]
    second = notify(api, app_jwt, body(twilio.id, "+1 514 555 5555", text="Again")).data["notification"]["_id"]
    assert AppUser.objects.count() == 1
    assert Message.objects.get(id=first).app_user == Message.objects.get(id=second).app_user


def test_it_confirms_a_pending_link_to_that_number(api, app_jwt, app, twilio, make_user):
    erin = make_user(app, "erin")
    pending = add_client(erin, "twilio", PHONE, pending=True)
    assert notify(api, app_jwt, body(twilio.id)).status_code == 201
    pending.refresh_from_db()
    assert not pending.pending and AppUser.objects.count() == 1
    assert Delivery.objects.get().client == pending


def test_the_same_number_on_another_integration_is_another_client(api, app_jwt, app, twilio, make_user):
    second = Integration.objects.create(app=app, type="twilio", display_name="Sales line")
    frank = make_user(app, "frank")
    Client.objects.create(app_user=frank, platform="twilio", integration=second, external_id=PHONE)
    assert notify(api, app_jwt, body(twilio.id)).status_code == 201
    client = Delivery.objects.get().client
    assert client.integration == twilio and client.app_user != frank


def test_the_author_names_the_sender(api, app_jwt, twilio):
    data = {**body(twilio.id), "author": {"role": "appMaker", "name": "Ops", "email": "ops@business.example"}}
    assert notify(api, app_jwt, data).status_code == 201
    message = Message.objects.get()
    assert (message.name, message.email) == ("Ops", "ops@business.example")
    assert message.avatar_url  # Gravatar of the email
    data = {**body(twilio.id, name="Own name"), "author": {"name": "Ops"}}
    assert notify(api, app_jwt, data).status_code == 201
    assert Message.objects.order_by("-received").first().name == "Own name"


def test_it_takes_any_business_message_type(api, app_jwt, twilio):
    data = body(twilio.id, type="image", mediaUrl="https://example.com/a.png",
                actions=[{"type": "link", "text": "Track", "uri": "https://example.com/track"}])
    response = notify(api, app_jwt, data)
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert (message.type, message.media_url, message.actions[0]["uri"]) == (
        "image", "https://example.com/a.png", "https://example.com/track")


def test_an_integration_of_another_app_is_not_found(api, app_jwt, app, other_app):
    theirs = Integration.objects.create(app=other_app, type="twilio")
    assert error_of(notify(api, app_jwt, body(theirs.id))) == (404, "not_found",
                                                               f"Integration {theirs.id} not found.")
    assert error_of(notify(api, app_jwt, body("nope")))[:2] == (404, "not_found")
    nothing_stored(app)
    assert list(AppUser.objects.filter(app=other_app).values_list("user_id", flat=True)) == ["bob"]


@pytest.mark.parametrize("type_", ["telegram", "web", "fake"])
def test_an_integration_without_phone_numbers_is_refused(api, app_jwt, app, type_):
    other = Integration.objects.create(app=app, type=type_)
    status, code, text = error_of(notify(api, app_jwt, body(other.id)))
    assert (status, code) == (400, "bad_request")
    assert text == (f"Integration {other.id} is a {type_} integration: notifications go to a phone number, "
                    "through a twilio or whatsapp integration.")
    nothing_stored(app)


@pytest.mark.parametrize("data,description", [
    ({}, "destination is required."),
    ({"destination": {"destinationId": PHONE}, "message": {"type": "text", "text": "x"}},
     "destination.integrationId is required."),
    ({"destination": "+15145555555", "message": {"type": "text", "text": "x"}},
     "destination must be an object with integrationId and destinationId."),
    ({"destination": {"integrationId": "{id}"}, "message": {"type": "text", "text": "x"}},
     "destination.destinationId is required."),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE}}, "message is required."),
    ({"destination": {"integrationId": "{id}", "destinationId": 15145555555}, "message": {"type": "text"}},
     "destination.destinationId must be a non-empty string."),
    ({"destination": {"integrationId": "{id}", "destinationId": "514 555 5555"}, "message": {"type": "text"}},
     "destination.destinationId must start with + and the country code"),
    ({"destination": {"integrationId": "{id}", "destinationId": "+1 514 CALL NOW"},
      "message": {"type": "text", "text": "x"}}, "destination.destinationId is not a valid phone number"),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE}, "message": "hello"},
     "message must be a JSON object."),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE}, "message": {"text": "x"}},
     "message.type is required."),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE}, "message": {"type": "video", "text": "x"}},
     "message.type must be one of"),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE}, "message": {"type": "text"}},
     "text is required for a text message"),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE},
      "message": {"type": "text", "text": "x", "role": "appUser"}}, "message.role must be appMaker."),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE},
      "message": {"type": "text", "text": "x", "destination": {"integrationType": "twilio"}}},
     "message.destination: the notification's destination is given beside the message."),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE}, "author": {"role": "appUser"},
      "message": {"type": "text", "text": "x"}}, "author.role must be appMaker."),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE}, "author": "Ops",
      "message": {"type": "text", "text": "x"}}, "author must be an object."),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE},
      "message": {"type": "text", "text": "x" * 10_001}}, "message.text must be at most"),
    ({"destination": {"integrationId": "{id}", "destinationId": PHONE},
      "message": {"type": "location", "coordinates": {"lat": 1, "long": 2}}},
     "location messages can only be sent with the appUser role."),
])
def test_it_refuses_bad_bodies_and_stores_nothing(api, app_jwt, twilio, data, description):
    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return twilio.id if value == "{id}" else value

    status, code, text = error_of(notify(api, app_jwt, fill(data)))
    assert (status, code) == (400, "bad_request") and text.startswith(description), text
    nothing_stored(twilio.app)


def test_a_message_refused_by_the_message_service_stores_no_user(api, app_jwt, twilio):
    """A buy action needs a stripe integration: checked inside the storing
    transaction, after the user and client were created; both go."""
    data = body(twilio.id, actions=[{"type": "buy", "text": "Pay", "amount": 500}])
    status, code, text = error_of(notify(api, app_jwt, data))
    assert (status, code) == (400, "bad_request") and "stripe" in text
    nothing_stored(twilio.app)
    assert not LogEntry.objects.filter(kind__in=["appUser:created", "link:confirmed"]).exists()


@pytest.mark.parametrize("path", ["/v1/notifications", "/v1.1/notifications"])
def test_the_app_token_and_app_user_jwts_are_refused(api, app, app_token, user_jwt, twilio, path):
    for headers in (app_token, user_jwt("someone")):
        assert error_of(notify(api, headers, body(twilio.id), path))[:2] == (403, "forbidden")
    nothing_stored(twilio.app)


def test_an_account_key_must_name_the_app(api, account_jwt, twilio):
    assert error_of(notify(api, account_jwt, body(twilio.id), "/v1/notifications"))[:2] == (403, "forbidden")
    nothing_stored(twilio.app)


def test_another_teams_keys_cannot_notify_through_this_app(api, app, other_app, twilio):
    key, secret = create_key(team=other_app.team, scope=KeyScope.ACCOUNT, name="b")
    account = bearer(make_jwt(key.key_id, secret, "account"))
    app_key, app_secret = create_key(team=other_app.team, scope=KeyScope.APP, app=other_app, name="b")
    their_app = bearer(make_jwt(app_key.key_id, app_secret, "app"))
    assert error_of(notify(api, account, body(twilio.id), f"/v1.1/apps/{app.id}/notifications"))[:2] == (
        404, "not_found")
    assert error_of(notify(api, their_app, body(twilio.id), f"/v1/apps/{app.id}/notifications"))[:2] == (
        404, "not_found")
    # With their own app in the path, this app's integration is not theirs.
    assert error_of(notify(api, their_app, body(twilio.id), "/v1/notifications"))[:2] == (404, "not_found")
    nothing_stored(twilio.app)


def test_no_response_shows_the_integrations_secret(api, app_jwt, twilio):
    response = notify(api, app_jwt, body(twilio.id))
    assert response.status_code == 201 and "secret-token" not in response.content.decode()


@pytest.mark.parametrize("raw", [
    b'{"destination": null, "message": null}',
    b'{"destination": {"integrationId": ["x"], "destinationId": {}}, "message": []}',
    b'{"destination": {"integrationId": "' + b"x" * 5000 + b'", "destinationId": "+1"}, "message": {}}',
    b'{"destination": {"integrationId": "i", "destinationId": "+1' + b"5" * 5000 + b'"}, "message": {"type": 1}}',
    b'{"message": {"type": "carousel", "items": "x"}, "destination": {}}',
    b"[]",
])
def test_nothing_a_client_sends_causes_a_5xx(api, app_jwt, twilio, raw):
    response = api.post("/v1/notifications", raw=raw, headers=app_jwt)
    assert response.status_code == 400, response.content
    nothing_stored(twilio.app)
