"""The Notification API on a WhatsApp integration: a first message to a
number goes only as a template (message.override.whatsapp.payload), since
WhatsApp takes nothing else from a business the user never wrote to."""

import pytest

from messaging.delivery import sending
from messaging.models import AppUser, Client, Delivery, Integration, Message
from tests.api.conftest import error_of
from tests.support.fake_whatsapp import APP_SECRET, PHONE_NUMBER_ID, TOKEN, WABA_ID

PHONE = "+15145555555"
TEMPLATE = {"type": "template", "template": {"name": "table_ready", "language": {"code": "en_US"}}}


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="whatsapp", display_name="Tacos Inc", credentials={
        "phoneNumberId": PHONE_NUMBER_ID, "businessAccountId": WABA_ID, "accessToken": TOKEN,
        "appSecret": APP_SECRET})


def body(integration, **message):
    return {"destination": {"integrationId": integration.id, "destinationId": PHONE},
            "message": {"type": "text", "text": "Your table is ready", **message}}


def test_without_a_template_it_is_refused_and_nothing_is_stored(api, app_jwt, app, integration, whatsapp):
    status, code, text = error_of(api.post("/v1.1/notifications", body(integration), headers=app_jwt))
    assert (status, code) == (400, "bad_request")
    assert text.startswith("A notification on WhatsApp needs a template")
    assert not AppUser.objects.filter(app=app).exists() and not Message.objects.exists()
    assert whatsapp.requests == []


def test_with_a_template_it_is_sent_as_the_template_to_the_wa_id(api, app_jwt, app, integration, whatsapp):
    response = api.post(f"/v1.1/apps/{app.id}/notifications",
                        body(integration, override={"whatsapp": {"payload": TEMPLATE}}), headers=app_jwt)
    assert response.status_code == 201, response.content
    client = Client.objects.get(integration=integration)
    assert (client.external_id, client.last_inbound_at) == ("15145555555", None)
    sending.run_due()
    delivery = Delivery.objects.get(message__id=response.data["notification"]["_id"])
    assert delivery.state == "sent" and delivery.platform_message_id.startswith("wamid.")
    assert whatsapp.sent == [{**TEMPLATE, "messaging_product": "whatsapp", "recipient_type": "individual",
                              "to": "15145555555"}]


def test_a_bad_template_is_refused_before_anything_is_stored(api, app_jwt, app, integration, whatsapp):
    bad = {"whatsapp": {"payload": {"type": "text", "text": {"body": "free-form"}}}}
    status, code, text = error_of(api.post("/v1.1/notifications", body(integration, override=bad), headers=app_jwt))
    assert (status, code) == (400, "bad_request") and "must be template" in text
    assert not AppUser.objects.filter(app=app).exists() and whatsapp.requests == []
