"""The Messenger channel against a fake Messenger Platform on 127.0.0.1
(tests/support/fake_messenger.py): set-up (the Page checked, subscribed,
created and deleted through the API, the dashboard's verify token), every
message type as the fake took it, the 24-hour rule and the HUMAN_AGENT tag,
Meta's refusals mapped, silent copies, typing and read marks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.delivery import sending
from messaging.integrations import registry
from messaging.integrations.messenger import (
    ACTION_REF,
    GET_STARTED,
    SUBSCRIBED_FIELDS,
    Messenger,
)
from messaging.models import Delivery, Integration, Message
from messaging.services import business_reads, integrations
from messaging.services.errors import ServiceError
from messaging.services.messages import post_message
from tests.api.conftest import ApiClient, bearer, make_jwt
from tests.support import sending as send_through
from tests.support.fake_messenger import APP_ID, APP_SECRET, PAGE_ID, PSID, TOKEN
from tests.support.sending import refusal
from tests.support.ws import make_client, make_user

pytestmark = pytest.mark.django_db

CREDENTIALS = {"pageAccessToken": TOKEN, "appId": APP_ID, "appSecret": APP_SECRET}


@pytest.fixture
def integration(app):
    return Integration.objects.create(app=app, type="messenger", credentials=dict(CREDENTIALS),
                                      details={"pageId": PAGE_ID, "pageName": "Tacos Inc"},
                                      display_name="Tacos Inc")


@pytest.fixture
def page(integration):
    return Messenger(integration)


@pytest.fixture
def user(app):
    return make_user(app, "alice")


@pytest.fixture
def psid(user, integration):
    """Alice on Messenger, who wrote to the Page a minute ago."""
    return make_client(user, "messenger", external_id=PSID, integration=integration,
                       last_inbound_at=timezone.now() - timedelta(minutes=1))


def sent_messages(messenger) -> list[dict]:
    return [body["message"] for body in messenger.messages()]


def queued(user, **body):
    return send_through.queued(user, where={"client__platform": "messenger"}, **body)


def deliver(user, **body) -> str:
    return send_through.deliver(user, where={"client__platform": "messenger"}, **body)


# Set-up.

def test_check_names_the_page(messenger):
    connected = Messenger().check(CREDENTIALS)
    assert (connected.display_name, connected.details) == ("Tacos Inc", {"pageId": PAGE_ID, "pageName": "Tacos Inc"})
    [call] = messenger.requests
    assert call["path"] == "/v23.0/me" and call["query"]["fields"] == ["id,name"]
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}" and "access_token" not in call["query"]
    assert call["query"]["appsecret_proof"]  # checked by the fake against the app secret


def test_a_wrong_token_is_refused_as_bad_credentials(messenger):
    error = refusal(lambda: Messenger().check({**CREDENTIALS, "pageAccessToken": "EAAGwrong"}))
    assert (error.code, error.permanent, error.status) == ("bad_credentials", True, 400)
    assert error.message.startswith("Facebook Messenger refused the access token: Invalid OAuth access token")
    [refused] = messenger.refusals()
    assert refused["status"] == 400


def test_a_wrong_app_secret_is_refused(messenger):
    error = refusal(lambda: Messenger().check({**CREDENTIALS, "appSecret": "not-the-secret"}))
    assert error.code == "rejected" and "Invalid appsecret_proof" in error.message


def test_register_subscribes_the_page_and_sets_get_started(messenger, page):
    page.register_webhook("https://parley.example/integrations/messenger/x/webhook")
    assert messenger.subscribed == list(SUBSCRIBED_FIELDS)
    assert messenger.profile == {"get_started": {"payload": GET_STARTED}}
    [subscribe] = [r for r in messenger.requests if r["path"].endswith("/subscribed_apps")]
    assert subscribe["path"] == f"/v23.0/{PAGE_ID}/subscribed_apps"
    assert subscribe["query"]["subscribed_fields"] == [",".join(SUBSCRIBED_FIELDS)]
    page.unregister_webhook()
    assert messenger.subscribed is None


def test_the_api_creates_a_checked_and_subscribed_integration_and_deletes_it(messenger, app):
    api = ApiClient()
    headers = bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))
    response = api.post("/v1/integrations", {"type": "messenger", **CREDENTIALS}, headers=headers)
    assert response.status_code == 201, response.content
    body = response.data["integration"]
    assert (body["type"], body["displayName"], body["pageId"], body["appId"]) == (
        "messenger", "Tacos Inc", PAGE_ID, APP_ID)
    assert TOKEN not in response.content.decode() and APP_SECRET not in response.content.decode()
    assert messenger.subscribed == list(SUBSCRIBED_FIELDS)
    row = Integration.objects.get(app=app)
    assert row.credentials == CREDENTIALS

    refused = api.post("/v1/integrations", {"type": "messenger", **CREDENTIALS, "pageAccessToken": "EAAGbad"},
                       headers=headers)
    assert refused.status_code == 400 and "refused the access token" in refused.data["error"]["description"]
    assert Integration.objects.filter(app=app).count() == 1

    assert api.delete(f"/v1/integrations/{row.id}", headers=headers).status_code == 200
    assert messenger.subscribed is None and not Integration.objects.filter(app=app).exists()


def test_human_agent_is_a_choice(messenger, app):
    with pytest.raises(ServiceError) as refused:
        integrations.create_integration(app, {"type": "messenger", **CREDENTIALS, "humanAgent": "yes"},
                                        base_url="https://parley.example")
    assert "humanAgent must be one of: disabled, enabled" in str(refused.value)
    row = integrations.create_integration(app, {"type": "messenger", **CREDENTIALS, "humanAgent": "enabled"},
                                          base_url="https://parley.example")
    assert row.details["humanAgent"] == "enabled"


def test_the_dashboard_shows_the_verify_token(owner_client, app, integration):
    page = owner_client.get(f"/apps/{app.id}/integrations/{integration.id}/").content.decode()
    assert f'<code class="verify-token">{integration.webhook_secret}</code>' in page
    assert "Webhooks" in page and "callback URL" in page


def test_the_dashboard_creates_an_integration_with_its_fields(owner_client, app, messenger):
    form = owner_client.get(f"/apps/{app.id}/integrations/new/messenger/").content.decode()
    assert 'name="pageAccessToken"' in form and 'name="appSecret"' in form and 'value="enabled"' in form
    response = owner_client.post(f"/apps/{app.id}/integrations/new/messenger/", {**CREDENTIALS,
                                                                                 "humanAgent": "disabled"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    row = Integration.objects.get(app=app)
    assert row.display_name == "Tacos Inc" and messenger.subscribed == list(SUBSCRIBED_FIELDS)


def test_the_fake_refuses_a_missing_field_in_metas_words(messenger, page):
    error = refusal(lambda: page.graph("POST", "me/messages", json={"message": {"text": "hi"},
                                                                    "messaging_type": "RESPONSE"}))
    assert error.code == "rejected" and "(#100) The parameter recipient is required" in error.message
    error = refusal(lambda: page.graph("POST", "me/messages", json={"recipient": {"id": PSID},
                                                                    "message": {"text": "hi"}}))
    assert "messaging_type must be one of" in error.message
    error = refusal(lambda: page.graph("POST", "me/messages", json={
        "recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG", "message": {"text": "hi"}}))
    assert "Param tag must be" in error.message
    error = refusal(lambda: page.graph("POST", "me/messages", json={
        "recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "x" * 2001}}))
    assert "less than or equal to 2000" in error.message
    buttons = [{"type": "postback", "title": str(n), "payload": str(n)} for n in range(4)]
    error = refusal(lambda: page.graph("POST", "me/messages", json={
        "recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"attachment": {
            "type": "template", "payload": {"template_type": "button", "text": "Pick", "buttons": buttons}}}}))
    assert "1 to 3 buttons" in error.message
    error = refusal(lambda: page.graph("POST", "me/messages", json={
        "recipient": {"id": PSID}, "messaging_type": "RESPONSE", "notification_type": "LOUD",
        "message": {"text": "hi"}}))
    assert "notification_type must be one of" in error.message
    error = refusal(lambda: page.graph("POST", "me/messages", json={
        "recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "hi", "quick_replies": [
            {"content_type": "text", "title": "t" * 21, "payload": "P"}]}}))
    assert "quick reply title" in error.message
    assert messenger.sent() == []
    assert all(r["status"] == 400 for r in messenger.refusals())


# Sending.

def test_text_goes_as_a_response_with_a_notification(messenger, psid, user):
    platform_id = deliver(user, type="text", text="Hello there")
    [body] = messenger.messages()
    assert body == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "notification_type": "REGULAR",
                    "message": {"text": "Hello there"}}
    assert platform_id == "m_fake1"


def test_the_engine_sends_and_records_the_message_id(messenger, psid, user):
    delivery = queued(user, type="text", text="Through the worker")
    sending.run_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.platform_message_id) == ("sent", "m_fake1")


def test_a_silent_copy_is_no_push(messenger, psid, user):
    # A web client seen last is preferred; Messenger gets a silent copy.
    make_client(user, "web", external_id="web-alice")
    delivery = queued(user, type="text", text="Quietly")
    assert (delivery.purpose, delivery.notify) == ("silent", False)
    sending.run_due()
    [body] = messenger.messages()
    assert body["notification_type"] == "NO_PUSH"


def test_long_text_is_split_within_2000(messenger, psid, user):
    text = "a" * 1990 + "\n" + "b" * 2500
    deliver(user, type="text", text=text)
    assert [m["text"] for m in sent_messages(messenger)] == ["a" * 1990, "b" * 2000, "b" * 500]


def test_link_and_postback_actions_are_a_button_template(messenger, psid, user):
    deliver(user, type="text", text="Pick", actions=[
        {"type": "link", "text": "Menu", "uri": "https://example.org/menu"},
        {"type": "postback", "text": "A label longer than twenty", "payload": "CALL_ME"},
        {"type": "postback", "text": "Exactly 1000", "payload": "P" * 1000},
        # A payload that looks like a reference travels by reference itself.
        {"type": "postback", "text": "Lookalike", "payload": ACTION_REF + "x"},
    ])
    lookalike_id = Message.objects.get(text="Pick").actions[3]["_id"]
    first, second = sent_messages(messenger)
    assert first == {"attachment": {"type": "template", "payload": {
        "template_type": "button", "text": "Pick", "buttons": [
            {"type": "web_url", "url": "https://example.org/menu", "title": "Menu"},
            {"type": "postback", "title": "A label longer than…", "payload": "CALL_ME"},
            {"type": "postback", "title": "Exactly 1000", "payload": "P" * 1000}]}}}
    assert second["attachment"]["payload"]["buttons"] == [
        {"type": "postback", "title": "Lookalike", "payload": ACTION_REF + lookalike_id}]


def test_more_than_three_buttons_go_in_templates_of_three(messenger, psid, user):
    actions = [{"type": "postback", "text": f"Option {n}", "payload": f"P{n}"} for n in range(1, 6)]
    platform_id = deliver(user, type="text", text="Pick one", actions=actions)
    first, second = sent_messages(messenger)
    assert first["attachment"]["payload"]["text"] == "Pick one"
    assert [b["payload"] for b in first["attachment"]["payload"]["buttons"]] == ["P1", "P2", "P3"]
    assert second["attachment"]["payload"]["text"] == "Option 4\nOption 5"
    assert [b["payload"] for b in second["attachment"]["payload"]["buttons"]] == ["P4", "P5"]
    assert platform_id == "m_fake1"


def test_a_text_over_640_goes_before_its_buttons(messenger, psid, user):
    deliver(user, type="text", text="t" * 700, actions=[{"type": "link", "text": "More", "uri": "https://e.org"}])
    text, template = sent_messages(messenger)
    assert text == {"text": "t" * 700}
    assert template["attachment"]["payload"]["text"] == "More"


def test_replies_are_quick_replies_and_a_location_request_is_text(messenger, psid, user, app):
    deliver(user, type="text", text="Where?", actions=[
        {"type": "reply", "text": "Tacos", "payload": "TACOS", "iconUrl": "https://example.org/t.png"},
        {"type": "reply", "text": "Ramen", "payload": ACTION_REF + "ramen"},
        {"type": "locationRequest", "text": "Send my location"},
    ])
    ramen_id = Message.objects.get(text="Where?").actions[1]["_id"]
    [message] = sent_messages(messenger)
    assert message == {"text": f"Where?\n{app.name} has requested a location", "quick_replies": [
        {"content_type": "text", "title": "Tacos", "payload": "TACOS", "image_url": "https://example.org/t.png"},
        {"content_type": "text", "title": "Ramen", "payload": ACTION_REF + ramen_id}]}


def test_an_image_then_its_text_and_buttons(messenger, psid, user):
    platform_id = deliver(user, type="image", text="Look", mediaUrl="https://example.org/a.png", actions=[
        {"type": "postback", "text": "Like", "payload": "LIKE"}])
    image, template = sent_messages(messenger)
    assert image == {"attachment": {"type": "image", "payload": {"url": "https://example.org/a.png",
                                                                 "is_reusable": True}}}
    assert template["attachment"]["payload"] == {"template_type": "button", "text": "Look", "buttons": [
        {"type": "postback", "title": "Like", "payload": "LIKE"}]}
    assert platform_id == "m_fake1"


def test_a_carousel_is_a_generic_template(messenger, psid, user):
    deliver(user, type="carousel", text="Our menu", items=[
        {"title": "Tacos " + "x" * 90, "description": "Three of them", "mediaUrl": "https://example.org/t.png",
         "actions": [{"type": "postback", "text": "Order", "payload": "TACOS"}]},
        {"title": "Ramen", "actions": [{"type": "link", "text": "More info", "uri": "https://example.org/r"}]},
    ])
    text, carousel = sent_messages(messenger)
    assert text == {"text": "Our menu"}
    elements = carousel["attachment"]["payload"]["elements"]
    assert carousel["attachment"]["payload"]["template_type"] == "generic"
    assert elements[0] == {"title": ("Tacos " + "x" * 90)[:79] + "…", "subtitle": "Three of them",
                           "image_url": "https://example.org/t.png",
                           "buttons": [{"type": "postback", "title": "Order", "payload": "TACOS"}]}
    assert elements[1] == {"title": "Ramen", "buttons": [{"type": "web_url", "url": "https://example.org/r",
                                                          "title": "More info"}]}


def test_a_list_is_shown_as_a_generic_template_with_its_own_buttons_after(messenger, psid, user):
    deliver(user, type="list", items=[
        {"title": "One", "actions": [{"type": "postback", "text": "Pick one", "payload": "1"}]},
        {"title": "Two", "actions": [{"type": "postback", "text": "Pick two", "payload": "2"}]}],
            actions=[{"type": "link", "text": "Everything", "uri": "https://example.org/all"}])
    carousel, buttons = sent_messages(messenger)
    assert [e["title"] for e in carousel["attachment"]["payload"]["elements"]] == ["One", "Two"]
    assert buttons["attachment"]["payload"]["buttons"] == [
        {"type": "web_url", "url": "https://example.org/all", "title": "Everything"}]


def test_a_location_is_its_text_fallback(messenger, psid, user, app):
    message = Message(app=app, app_user=user, role="appMaker", type="location", text="Our shop",
                      coordinates={"lat": 45.5, "long": -73.6})
    Messenger(psid.integration).send(Delivery(message=message, client=psid, purpose="preferred"))
    assert sent_messages(messenger) == [{"text": "Our shop: 45.5, -73.6"}]


# The 24-hour window.

def test_past_24_hours_the_human_agent_tag_is_used_when_enabled(messenger, psid, user, integration):
    integration.credentials = {**CREDENTIALS, "humanAgent": "enabled"}
    integration.save()
    psid.last_inbound_at = timezone.now() - timedelta(hours=30)
    psid.save()
    messenger.outside_window.add(PSID)
    deliver(user, type="text", text="Sorry for the wait")
    [body] = messenger.messages()
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


@pytest.mark.parametrize("hours, human_agent", [(30, "disabled"), (8 * 24, "enabled"), (None, "enabled")])
def test_outside_the_window_nothing_is_sent_and_the_failover_moves_on(messenger, psid, user, integration,
                                                                       hours, human_agent):
    integration.credentials = {**CREDENTIALS, "humanAgent": human_agent}
    integration.save()
    psid.last_inbound_at = None if hours is None else timezone.now() - timedelta(hours=hours)
    psid.save()
    make_client(user, "fake", minutes_ago=60)  # push-capable: rule 5's next stop
    delivery = queued(user, type="text", text="Hello?")
    error = refusal(lambda: Messenger(integration).send(delivery))
    assert (error.code, error.permanent) == ("outside_window", True)
    assert "outside Messenger's messaging window" in error.message
    assert messenger.requests == []
    sending.run_due()
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.error["code"] == "outside_window"
    failover = Delivery.objects.get(message=delivery.message, purpose="failover")
    assert failover.client.platform == "fake"


@pytest.mark.parametrize("arrange, code", [
    (lambda fake: fake.outside_window.add(PSID), "outside_window"),
    (lambda fake: fake.blocked.add(PSID), "blocked"),
    (lambda fake: fake.users.pop(PSID), "rejected"),
])
def test_metas_refusals_are_mapped(messenger, psid, user, arrange, code):
    arrange(messenger)
    error = refusal(lambda: deliver(user, type="text", text="Hi"))
    assert (error.code, error.permanent, error.status) == (code, True, 400)


def test_a_blocked_page_makes_the_client_unreachable(messenger, psid, user):
    messenger.blocked.add(PSID)
    delivery = queued(user, type="text", text="Anyone?")
    sending.run_due()
    delivery.refresh_from_db()
    psid.refresh_from_db()
    assert delivery.state == "failed" and psid.unreachable == "blocked"


def test_server_errors_are_transient_and_a_client_without_integration_fails_clearly(messenger, psid, user):
    messenger.fail_next(503, body={"error": {"message": "Service unavailable", "code": 2, "type": "OAuthException"}})
    assert refusal(lambda: deliver(user, type="text", text="Hi")).permanent is False
    orphan = make_client(make_user(user.app, "bob"), "messenger", external_id="77")
    assert refusal(lambda: registry.for_client(orphan).send(None)).code == "no_integration"


# Typing and read marks.

def test_typing_on_and_off(messenger, psid, page):
    page.send_typing(psid, "start")
    page.send_typing(psid, "stop")
    assert messenger.sent() == [{"recipient": {"id": PSID}, "sender_action": "typing_on"},
                                {"recipient": {"id": PSID}, "sender_action": "typing_off"}]
    assert Messenger.typing_lasts == 20


def test_a_business_read_is_a_mark_seen(messenger, psid, user, django_capture_on_commit_callbacks):
    post_message(user, role="appUser", fields={"type": "text", "text": "Hi"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert business_reads.mark_read_by_business(user)
    assert callbacks  # the send_platform_read task is asked for
    business_reads.send_to_platforms(user.id)
    assert messenger.sender_actions() == ["mark_seen"]
