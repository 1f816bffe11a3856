"""`override` (Sunshine Conversations' field, a Parley extension): per channel
type, a message in the platform's own format. Only WhatsApp's template is
taken; it is stored with the message and never shown in its JSON."""

import pytest

from messaging.models import Message
from tests.api.test_send_message import assert_rejected, url

TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en_US"},
                                             "components": [{"type": "body", "parameters": [
                                                 {"type": "text", "text": "42"}]}]}}


def test_a_whatsapp_template_is_stored_and_left_out_of_the_message(api, app_jwt, alice):
    response = api.post(url(alice), {"type": "text", "text": "Your order shipped", "role": "appMaker",
                                     "override": {"whatsapp": {"payload": TEMPLATE}}}, headers=app_jwt)
    assert response.status_code == 201, response.content
    message = response.data["message"]
    assert "override" not in message
    assert Message.objects.get(pk=message["_id"]).override == {"whatsapp": {"payload": TEMPLATE}}


def test_a_message_without_override_stores_none(api, app_jwt, alice):
    response = api.post(url(alice), {"type": "text", "text": "Hi", "role": "appMaker"}, headers=app_jwt)
    assert Message.objects.get(pk=response.data["message"]["_id"]).override is None


@pytest.mark.parametrize("override,description", [
    ("x", "override must be an object keyed by channel type (whatsapp)."),
    ({"messenger": {}}, "override takes whatsapp only."),
    ({"whatsapp": []}, "override.whatsapp must be an object with a payload."),
    ({"whatsapp": {}}, "override.whatsapp.payload must be a WhatsApp Cloud API message of type template"),
    ({"whatsapp": {"payload": {"type": "text", "template": {"name": "x", "language": {"code": "en"}}}}},
     "override.whatsapp.payload.type must be template: outside the 24-hour window WhatsApp takes only templates."),
    ({"whatsapp": {"payload": {"type": "template"}}},
     "override.whatsapp.payload.template must be a WhatsApp Cloud API message of type template"),
    ({"whatsapp": {"payload": {"type": "template", "template": {"name": "x"}}}},
     "override.whatsapp.payload.template.language must be an object with a code (en_US...)."),
    ({"whatsapp": {"payload": {"type": "template", "template": {"name": "x", "language": "en"}}}},
     "override.whatsapp.payload.template.language must be an object with a code"),
    ({"whatsapp": {"payload": {"type": "template", "template": {"name": "", "language": {"code": "en"}}}}},
     "override.whatsapp.payload.template.name must not be empty."),
    ({"whatsapp": {"payload": {**TEMPLATE, "extra": 1}}},
     "override.whatsapp.payload must be a WhatsApp Cloud API message of type template"),
    ({"whatsapp": {"payload": {"type": "template", "template": {
        "name": "x", "language": {"code": "en"}, "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "y" * 17000}]}]}}}},
     "override must be at most 16384 bytes as JSON"),
])
def test_a_bad_override_is_refused(api, app_jwt, alice, override, description):
    assert_rejected(api, alice, app_jwt, {"type": "text", "text": "Hi", "role": "appMaker", "override": override},
                    description)


def test_override_is_for_the_business_only(api, as_alice, alice):
    assert_rejected(api, alice, as_alice, {"type": "text", "text": "Hi", "role": "appUser",
                                           "override": {"whatsapp": {"payload": TEMPLATE}}},
                    "override can only be given with the appMaker role.")


def test_the_inbound_url_answers_get_only_for_channels_that_verify_it(client, app):
    from messaging.models import Integration
    row = Integration.objects.create(app=app, type="telegram", webhook_secret="s" * 24)
    response = client.get(f"/integrations/telegram/{row.id}/webhook")
    assert response.status_code == 405 and response["Allow"] == "POST"
