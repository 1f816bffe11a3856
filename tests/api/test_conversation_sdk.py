"""The conversation calls an SDK makes besides messages: GET .../conversation
and POST .../conversation/postback (the `postback` webhook with the
reference's payload), and the business's ping of one channel
(POST .../integrations/{channel}/ping, a destination delivery)."""

import pytest

from messaging.models import Delivery, Message, Webhook, WebhookEvent
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.api.conftest import add_client, error_of
from tests.webhooks.test_payloads import POSTBACK, check

pytestmark = pytest.mark.django_db


def business(user, **body):
    fields = validate_message({"role": "appMaker", "type": "text", **body}, role="appMaker", app_user=user)
    return post_message(user, role="appMaker", fields=fields)


def test_the_user_gets_the_conversation_without_the_inbox_fields(api, app_jwt, as_alice, alice):
    alice.unread_count = 4
    alice.save()
    mine = api.get(f"/v1/appusers/{alice.id}/conversation", headers=as_alice)
    assert mine.status_code == 200 and mine.data == {"conversation": {"_id": alice.id, "unreadCount": 4}}
    business_view = api.get(f"/v1/appusers/{alice.id}/conversation", headers=app_jwt)
    assert business_view.data["conversation"]["status"] == "open"


def test_an_sdk_postback_fires_the_postback_webhook(api, app, as_alice, alice):
    Webhook.objects.create(app=app, target="https://hooks.example/p", triggers=["postback"])
    message = business(alice, text="More?", name="LunchBot",
                       actions=[{"type": "postback", "text": "Yes", "payload": "YES"}])
    action_id = message.actions[0]["_id"]
    response = api.post(f"/v1/appusers/{alice.id}/conversation/postback", {"actionId": action_id},
                        headers=as_alice)
    assert response.status_code == 200 and response.data == {}, response.content
    [event] = WebhookEvent.objects.filter(trigger="postback")
    check(event.payload, POSTBACK, "postback")
    [postback] = event.payload["postbacks"]
    assert postback["action"] == {"type": "postback", "_id": action_id, "text": "Yes", "payload": "YES"}
    assert postback["message"]["_id"] == message.id
    assert event.payload["client"]["platform"] == "web"


def test_a_postback_needs_a_known_postback_action(api, app, as_alice, alice):
    message = business(alice, text="Go", actions=[{"type": "link", "text": "Site", "uri": "https://a.example"}])
    path = f"/v1/appusers/{alice.id}/conversation/postback"
    assert error_of(api.post(path, {"actionId": message.actions[0]["_id"]}, headers=as_alice))[:2] == (
        404, "not_found")  # a link is no postback
    assert error_of(api.post(path, {"actionId": "nope"}, headers=as_alice))[0] == 404
    assert error_of(api.post(path, {}, headers=as_alice))[:2] == (400, "bad_request")
    assert not WebhookEvent.objects.exists()


def test_a_ping_is_one_destination_delivery_to_that_channel(api, app_jwt, alice):
    telegram = add_client(alice, "telegram", "4242")
    response = api.post(f"/v1/appusers/{alice.id}/integrations/telegram/ping", headers=app_jwt)
    assert response.status_code == 200, response.content
    message = Message.objects.get(pk=response.data["message"]["_id"])
    assert (message.role, message.app_user_id) == ("appMaker", alice.id)
    [delivery] = Delivery.objects.filter(message=message)
    assert (delivery.client_id, delivery.purpose) == (telegram.id, "destination")
    # By integration id too.
    response = api.post(f"/v1/appusers/{alice.id}/integrations/{telegram.integration_id}/ping", headers=app_jwt)
    assert response.status_code == 200, response.content


def test_a_ping_without_a_client_there_is_404_and_sends_nothing(api, app_jwt, as_alice, alice):
    assert error_of(api.post(f"/v1/appusers/{alice.id}/integrations/messenger/ping", headers=app_jwt))[:2] == (
        404, "not_found")
    add_client(alice, "telegram", "4242")
    assert error_of(api.post(f"/v1/appusers/{alice.id}/integrations/telegram/ping", headers=as_alice))[0] == 403
    assert not Message.objects.exists()
