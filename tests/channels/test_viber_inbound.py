"""Viber's inbound side through the inbound endpoint and the engine: bodies
signed with the token (or not), malformed and repeated ones, the webhook
check, every event kind (text, picture fetched, location, keyboard replies
and postbacks, delivered / seen / failed by message_token, subscribed,
conversation_started with a QR code's context, unsubscribed), and the QR
code route of the 8.x client."""

import jwt
import pytest

from messaging.integrations.viber import link_context
from messaging.models import AppUser, Client, Delivery, Integration, Message, PlatformEvent
from messaging.services import inbound
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support.fake_telegram import PNG
from tests.support.fake_viber import (
    TOKEN,
    USER_ID,
    conversation_started,
    message,
    receipt,
    signed,
    subscribed,
    unsubscribed,
)
from tests.support.ws import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(app, viber):
    return Integration.objects.create(app=app, type="viber", credentials={"token": TOKEN}, display_name="Tacos Bot",
                                      details={"uri": "tacosbot"})


def post(client, integration, body, token=TOKEN, sig=None):
    raw, good = signed(body, token)
    return client.post(f"/integrations/viber/{integration.id}/webhook", data=raw, content_type="application/json",
                       HTTP_X_VIBER_CONTENT_SIGNATURE=good if sig is None else sig)


def worked(client, integration, body):
    assert post(client, integration, body).status_code == 200
    inbound.run_due()


def alice(app) -> AppUser:
    return AppUser.objects.get(app=app)


def test_signed_unsigned_malformed_repeated(client, integration):
    assert post(client, integration, message(1, type="text", text="hi")).status_code == 200
    assert post(client, integration, message(2, type="text", text="hi"), token="other").status_code == 403
    assert post(client, integration, message(3, type="text", text="hi"), sig="").status_code == 403
    assert post(client, integration, {"message_token": 4}).status_code == 400
    assert post(client, integration, {"event": "message", "message_token": 5, "message": {}}).status_code == 400
    assert post(client, integration, {"event": "seen"}).status_code == 400
    assert post(client, integration, message(1, type="text", text="hi")).status_code == 200
    assert list(PlatformEvent.objects.values_list("key", flat=True)) == ["message:1"]


def test_the_webhook_check_is_answered_and_stores_nothing(client, integration):
    assert post(client, integration, {"event": "webhook", "timestamp": 1, "message_token": 9}).status_code == 200
    assert not PlatformEvent.objects.exists()


def test_text_picture_and_location(client, integration, viber, app):
    worked(client, integration, message(1, type="text", text="Hello from Viber"))
    worked(client, integration, message(2, type="picture", text="Look", media=f"{viber.url}/media/a.png"))
    worked(client, integration, message(3, type="location", location={"lat": 45.5, "lon": -73.6}))
    user = alice(app)
    assert user.given_name == "Alice Liddell"
    texts = list(Message.objects.filter(app_user=user).order_by("received").values_list("type", "text"))
    assert texts[0] == ("text", "Hello from Viber") and texts[1] == ("image", "Look") and texts[2][0] == "location"
    image = Message.objects.get(type="image")
    assert "/media/" in image.media_url and viber.url not in image.media_url
    assert Message.objects.get(type="location").coordinates == {"lat": 45.5, "long": -73.6}
    assert PNG  # the fake's file


def business(user, body):
    fields = validate_message({"role": "appMaker", **body}, role="appMaker", app_user=user)
    return post_message(user, role="appMaker", fields=fields)


def test_keyboard_replies_and_postbacks_map_back(client, integration, app):
    worked(client, integration, message(1, type="text", text="hi"))
    user = alice(app)
    sent = business(user, {"type": "text", "text": "Pick", "actions": [
        {"type": "reply", "text": "Tacos", "payload": "TACOS"}]})
    worked(client, integration, message(2, type="text", text=f"parley:reply:{sent.actions[0]['_id']}"))
    reply = Message.objects.filter(role="appUser").order_by("-received").first()
    assert (reply.text, reply.payload) == ("Tacos", "TACOS")
    sent = business(user, {"type": "text", "text": "Call?", "actions": [
        {"type": "postback", "text": "Call me", "payload": "CALL_ME"}]})
    worked(client, integration, message(3, type="text", text=f"parley:postback:{sent.actions[0]['_id']}"))
    from messaging.models import LogEntry
    assert LogEntry.objects.filter(kind="postback").exists()


def test_delivered_seen_failed_move_deliveries(client, integration, viber, app):
    worked(client, integration, message(1, type="text", text="hi"))
    user = alice(app)
    for text in ("one", "two"):
        business(user, {"type": "text", "text": text})
    from messaging.delivery import sending
    sending.run_due()
    one, two = Delivery.objects.filter(client__platform="viber").order_by("id")
    worked(client, integration, receipt("delivered", int(one.platform_message_id)))
    one.refresh_from_db()
    assert one.state == "delivered"
    worked(client, integration, receipt("failed", int(two.platform_message_id), desc="failed to deliver"))
    two.refresh_from_db()
    assert two.state == "failed" and "failed to deliver" in str(two.error)
    worked(client, integration, receipt("seen", int(one.platform_message_id)))
    one.refresh_from_db()
    assert one.state == "read"


def test_subscribed_unsubscribed_and_start(client, integration, app):
    worked(client, integration, subscribed(10))
    user = alice(app)
    assert user.conversation_started
    worked(client, integration, unsubscribed(11))
    viber_client = Client.objects.get(platform="viber")
    assert viber_client.unreachable == "opted_out"
    worked(client, integration, subscribed(12))
    viber_client.refresh_from_db()
    assert viber_client.unreachable == ""
    worked(client, integration, unsubscribed(13))
    worked(client, integration, message(14, type="text", text="back"))
    viber_client.refresh_from_db()
    assert viber_client.unreachable == ""


def test_a_qr_code_context_links_the_viber_user_to_the_app_user(client, integration, app):
    bob = make_user(app, "bob")
    token = jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256", headers={"kid": app.test_key.key_id})
    response = client.get(f"/v1.1/appusers/{bob.id}/integrations/viber/qrcode", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    url = response.json()["url"]
    assert url.startswith("viber://pa?chatURI=tacosbot&context=")
    context = url.split("context=")[1]
    from urllib.parse import unquote
    assert unquote(context) == link_context(integration, bob.id)
    worked(client, integration, conversation_started(20, context=unquote(context)))
    linked = Client.objects.get(platform="viber")
    assert linked.app_user_id == bob.id and linked.external_id == USER_ID
    assert AppUser.objects.filter(app=app).count() == 1


def test_a_forged_context_links_nobody(client, integration, app):
    bob = make_user(app, "bob")
    worked(client, integration, conversation_started(21, context=link_context(integration, bob.id) + "x"))
    assert Client.objects.get(platform="viber").app_user_id != bob.id


def test_the_qr_code_route_is_404_for_another_apps_user(client, integration, app, team, make_app):
    other_app = make_app(team, "App B")
    stranger = make_user(other_app, "stranger")
    token = jwt.encode({"scope": "app"}, app.test_secret, algorithm="HS256", headers={"kid": app.test_key.key_id})
    for path in (f"/v1.1/appusers/{stranger.id}/integrations/viber/qrcode",
                 f"/v1/appusers/{stranger.id}/integrations/viber/qrcode"):
        assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404
