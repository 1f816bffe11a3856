"""A WhatsApp integration through the integrations API, with the Cloud API
properties (phoneNumberId, businessAccountId, accessToken, appSecret):
created after the fake Cloud API accepted the token and subscribed the app
to the WABA; deleted with the subscription."""

from messaging.models import Integration
from tests.api.conftest import error_of
from tests.support.fake_whatsapp import APP_SECRET, PHONE_NUMBER_ID, TOKEN, WABA_ID

PROPS = {"type": "whatsapp", "phoneNumberId": PHONE_NUMBER_ID, "businessAccountId": WABA_ID,
         "accessToken": TOKEN, "appSecret": APP_SECRET}


def test_it_connects_a_number_and_subscribes_the_waba_then_unsubscribes(api, app_jwt, app, whatsapp, settings):
    settings.PARLEY_PUBLIC_URL = "https://parley.example.org"
    response = api.post(f"/v1.1/apps/{app.id}/integrations", PROPS, headers=app_jwt)
    assert response.status_code == 201, response.content
    body = response.data["integration"]
    assert (body["type"], body["displayName"], body["phoneNumber"]) == ("whatsapp", "Tacos Inc", "+1 555-013-3700")
    assert (body["phoneNumberId"], body["businessAccountId"]) == (PHONE_NUMBER_ID, WABA_ID)
    assert TOKEN not in response.content.decode() and APP_SECRET not in response.content.decode()
    row = Integration.objects.get()
    assert body["inboundUrl"] == f"https://parley.example.org/integrations/whatsapp/{row.id}/webhook"
    assert whatsapp.subscribed
    assert api.delete(f"/v1/integrations/{row.id}", headers=app_jwt).status_code == 200
    assert not whatsapp.subscribed and not Integration.objects.exists()


def test_a_wrong_token_or_a_missing_property_is_refused_and_nothing_stored(api, app_jwt, whatsapp):
    status, code, text = error_of(api.post("/v1/integrations", {**PROPS, "accessToken": "EAAGwrong"},
                                           headers=app_jwt))
    assert (status, code) == (400, "platform_refused") and "refused the access token" in text
    assert "EAAGwrong" not in text
    missing = {k: v for k, v in PROPS.items() if k != "businessAccountId"}
    status, code, text = error_of(api.post("/v1/integrations", missing, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and "businessAccountId is required" in text
    assert not Integration.objects.exists() and not whatsapp.subscribed
