"""Twilio end to end in one process: Twilio's signed POSTs to
/integrations/twilio/<id>/webhook, the worker's tasks (run inline), and the
sends they cause against the fake Twilio."""

from urllib.parse import urlencode

import pytest

from messaging.models import AppUser, Client, Delivery, Message, PlatformEvent
from messaging.services.integrations import create_integration
from tests.support.fake_twilio import PNG
from tests.support.ws import business_message, make_client, make_user, run_tasks

pytestmark = pytest.mark.django_db(transaction=True)

USER_NUMBER = "+15145550100"


@pytest.fixture
def integration(app, fake_twilio):
    return create_integration(app, {"type": "twilio", **fake_twilio.credentials()},
                              base_url="https://parley.example")


def post(client, integration, fake, params, *, signature=None):
    """Twilio's POST, signed over the URL it was given (the SmsUrl / StatusCallback)."""
    return client.post(f"/integrations/twilio/{integration.id}/webhook", data=urlencode(params),
                       content_type="application/x-www-form-urlencoded",
                       HTTP_X_TWILIO_SIGNATURE=signature or fake.sign(integration.inbound_url, params))


def sms_client(app, integration, user_id="alice") -> Client:
    return make_client(make_user(app, user_id), "twilio", external_id=USER_NUMBER, integration=integration)


def fresh(user: AppUser) -> AppUser:
    return AppUser.objects.get(pk=user.pk)


def test_an_sms_is_stored_once_and_answered_with_empty_twiml(client, integration, fake_twilio):
    params = fake_twilio.incoming("Is the shop open?")
    response = post(client, integration, fake_twilio, params)
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    run_tasks()
    [message] = Message.objects.all()
    assert (message.role, message.text, message.source["type"]) == ("appUser", "Is the shop open?", "twilio")
    [user_client] = Client.objects.filter(app_user=message.app_user)
    assert (user_client.platform, user_client.external_id) == ("twilio", USER_NUMBER)

    # Twilio retries the same webhook: the MessageSid is known.
    assert post(client, integration, fake_twilio, params).status_code == 200
    run_tasks()
    assert Message.objects.count() == 1 and PlatformEvent.objects.count() == 1


def test_unsigned_or_forged_posts_store_nothing(client, integration, fake_twilio):
    params = fake_twilio.incoming("Send me money")
    assert post(client, integration, fake_twilio, params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    forged = fake_twilio.sign(integration.inbound_url, params, auth_token="0" * 32)
    assert post(client, integration, fake_twilio, params, signature=forged).status_code == 403
    unsigned = client.post(f"/integrations/twilio/{integration.id}/webhook", data=urlencode(params),
                           content_type="application/x-www-form-urlencoded")
    assert unsigned.status_code == 403
    del params["MessageSid"]
    assert post(client, integration, fake_twilio, params).status_code == 400
    assert not PlatformEvent.objects.exists()


def test_an_mms_is_stored_as_an_image_never_as_twilios_url(client, integration, fake_twilio, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    params = fake_twilio.incoming("My receipt", NumMedia="1", MediaUrl0=fake_twilio.add_media(PNG, "image/png"),
                                  MediaContentType0="image/png")
    post(client, integration, fake_twilio, params)
    run_tasks()
    [message] = Message.objects.all()
    assert message.type == "image" and message.text == "My receipt"
    assert message.media_url.startswith("https://parley.example/") and fake_twilio.url not in message.media_url
    stored = list(tmp_path.rglob("*.png"))
    assert len(stored) == 1 and stored[0].read_bytes() == PNG


def test_stop_then_nothing_is_sent_until_start(client, app, integration, fake_twilio):
    user_client = sms_client(app, integration)
    post(client, integration, fake_twilio, fake_twilio.incoming("STOP"))
    run_tasks()
    user_client.refresh_from_db()
    assert user_client.unreachable == "opted_out"

    message = business_message(fresh(user_client.app_user), "Big sale!")
    run_tasks()
    delivery = Delivery.objects.get(message=message)
    assert (delivery.state, delivery.error["code"]) == ("failed", "opted_out")
    assert fake_twilio.sent() == []  # refused without asking Twilio

    post(client, integration, fake_twilio, fake_twilio.incoming("start"))
    run_tasks()
    again = business_message(fresh(user_client.app_user), "Welcome back")
    run_tasks()
    assert Delivery.objects.get(message=again).state == "sent"
    assert [s["Body"] for s in fake_twilio.sent()] == ["Welcome back"]


def test_a_number_answers_a_numbered_reply_with_its_payload(client, app, integration, fake_twilio):
    user_client = sms_client(app, integration)
    business_message(user_client.app_user, "Table for how many?", actions=[
        {"type": "reply", "text": "Two", "payload": "TABLE_2"},
        {"type": "reply", "text": "Four", "payload": "TABLE_4"},
    ])
    run_tasks()
    assert fake_twilio.sent()[0]["Body"] == (
        "Table for how many?\n1. Two\n2. Four\nReply with the number of your choice.")
    post(client, integration, fake_twilio, fake_twilio.incoming("2"))
    run_tasks()
    answer = Message.objects.get(role="appUser")
    assert (answer.text, answer.payload) == ("Four", "TABLE_4")


def test_status_callbacks_move_the_delivery(client, app, integration, fake_twilio):
    user_client = sms_client(app, integration)
    message = business_message(user_client.app_user, "Your order shipped")
    run_tasks()
    delivery = Delivery.objects.get(message=message)
    [sent] = fake_twilio.sent()
    assert delivery.state == "sent" and sent["StatusCallback"] == integration.inbound_url
    for status in ("sent", "delivered"):
        post(client, integration, fake_twilio, fake_twilio.status_callback(delivery.platform_message_id, status))
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "delivered"


def test_an_undelivered_callback_fails_the_delivery_with_twilios_reason(client, app, integration, fake_twilio):
    user_client = sms_client(app, integration)
    message = business_message(user_client.app_user, "Your order shipped")
    run_tasks()
    delivery = Delivery.objects.get(message=message)
    post(client, integration, fake_twilio,
         fake_twilio.status_callback(delivery.platform_message_id, "undelivered", ErrorCode="30003"))
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert delivery.error["message"] == "Unreachable destination handset"


def test_yes_from_a_pending_number_confirms_the_link(client, app, integration, fake_twilio):
    user = make_user(app, "bob")
    pending = make_client(user, "twilio", external_id=USER_NUMBER, integration=integration, pending=True)
    post(client, integration, fake_twilio, fake_twilio.incoming("YES"))
    run_tasks()
    pending.refresh_from_db()
    assert not pending.pending and not Message.objects.exists()
