"""The Twilio SMS/MMS channel against the fake Twilio REST API
(tests/support/fake_twilio.py): set-up, every message type, errors,
signed inbound webhooks and their events."""

from urllib.parse import urlencode

import pytest
from django.test import RequestFactory

from messaging.integrations import registry
from messaging.integrations.base import (
    InboundRefused,
    PlatformError,
    fetch_media,
    http_post,
)
from messaging.integrations.twilio import Twilio, signature
from messaging.models import Delivery, Integration
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support.fake_twilio import PNG, sid, twilio_signature
from tests.support.sending import refusal
from tests.support.ws import make_client, make_user

USER_NUMBER = "+15145550100"


@pytest.fixture
def integration(app, fake_twilio):
    row = Integration.objects.create(
        app=app, type="twilio", display_name="(500) 555-0006", credentials=fake_twilio.credentials(),
        details={"accountSid": fake_twilio.account_sid, "phoneNumberSid": fake_twilio.phone_number_sid,
                 "phoneNumber": fake_twilio.phone_number},
    )
    row.inbound_url = f"https://parley.example/integrations/twilio/{row.id}/webhook"
    row.save(update_fields=["inbound_url"])
    return row


@pytest.fixture
def twilio(integration):
    return Twilio(integration)


@pytest.fixture
def sms_client(app, integration):
    return make_client(make_user(app, "alice"), "twilio", external_id=USER_NUMBER, integration=integration)


def delivery_of(sms_client, **body) -> Delivery:
    """A business message stored as the API stores it, and its delivery to the SMS client."""
    user = sms_client.app_user
    fields = validate_message({"type": "text", **body}, role="appMaker", app_user=user)
    message = post_message(user, role="appMaker", fields=fields)
    return Delivery.objects.get(message=message, client=sms_client)


# The channel as targeting and the API see it.

def test_it_is_the_registered_twilio_channel():
    assert registry.integration_class("twilio") is Twilio
    caps = Twilio.capabilities
    assert caps.push and caps.numbered_replies and not caps.silent and not caps.typing
    assert caps.native == {"text", "image"} and caps.text_fallback == {"carousel", "list", "location"}
    assert Twilio.limits.text == 1600
    assert [(f.name, f.secret) for f in Twilio.fields] == [
        ("accountSid", False), ("authToken", True), ("phoneNumberSid", False)]
    assert Twilio.ack_content_type == "text/xml"
    assert Twilio.ack_body == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# Set-up.

def test_check_fetches_the_account_and_the_number(fake_twilio):
    connected = Twilio().check(fake_twilio.credentials())
    assert connected.display_name == "(500) 555-0006"
    assert connected.details == {"accountSid": fake_twilio.account_sid,
                                 "phoneNumberSid": fake_twilio.phone_number_sid, "phoneNumber": "+15005550006"}
    paths = [r["path"] for r in fake_twilio.platform.requests]
    assert paths == [f"/2010-04-01/Accounts/{fake_twilio.account_sid}.json",
                     f"/2010-04-01/Accounts/{fake_twilio.account_sid}/IncomingPhoneNumbers/"
                     f"{fake_twilio.phone_number_sid}.json"]


def test_check_names_the_number_by_its_e164_form_without_a_friendly_name(fake_twilio):
    fake_twilio.numbers[fake_twilio.phone_number_sid]["friendly_name"] = ""
    assert Twilio().check(fake_twilio.credentials()).display_name == "+15005550006"


def test_check_refuses_a_wrong_auth_token(fake_twilio):
    error = refusal(lambda: Twilio().check(fake_twilio.credentials(authToken="0" * 32)))
    assert error.permanent and error.code == "bad_credentials" and error.status == 401
    assert "Auth Token" in error.message
    assert fake_twilio.platform.requests[0]["status"] == 401


def test_check_refuses_an_unknown_number_with_twilios_message(fake_twilio):
    unknown = sid("PN")
    error = refusal(lambda: Twilio().check(fake_twilio.credentials(phoneNumberSid=unknown)))
    assert error.permanent and error.code == "not_found" and error.status == 404
    assert error.message.startswith("Twilio 20404: The requested resource") and unknown in error.message


def test_check_refuses_a_suspended_account(fake_twilio):
    fake_twilio.account_status = "suspended"
    error = refusal(lambda: Twilio().check(fake_twilio.credentials()))
    assert error.code == "bad_credentials" and "suspended" in error.message


@pytest.mark.parametrize("changes", [
    {"accountSid": "AC123"}, {"accountSid": "AC" + "0" * 32 + "/../x"}, {"authToken": ""},
    {"phoneNumberSid": "PN?x=1"}, {"phoneNumberSid": None},
])
def test_check_refuses_malformed_credentials_without_a_call(fake_twilio, changes):
    error = refusal(lambda: Twilio().check(fake_twilio.credentials(**changes)))
    assert error.permanent and error.code == "bad_credentials"
    assert fake_twilio.platform.requests == []


def test_register_and_unregister_set_the_numbers_sms_url(twilio, fake_twilio, integration):
    number = fake_twilio.numbers[fake_twilio.phone_number_sid]
    twilio.register_webhook(integration.inbound_url)
    assert number["sms_url"] == integration.inbound_url and number["sms_method"] == "POST"
    twilio.unregister_webhook()
    assert number["sms_url"] == ""
    assert [r["method"] for r in fake_twilio.platform.requests] == ["POST", "POST"]


def test_register_with_a_revoked_token_is_a_credentials_error(twilio, fake_twilio, integration):
    integration.credentials = fake_twilio.credentials(authToken="f" * 32)
    assert refusal(lambda: twilio.register_webhook(integration.inbound_url)).code == "bad_credentials"


# Sending.

def test_text_goes_from_the_number_to_the_user_with_the_status_callback(twilio, fake_twilio, sms_client,
                                                                      integration):
    delivery = delivery_of(sms_client, text="Hello there")
    message_sid = twilio.send(delivery)
    [sent] = fake_twilio.sent()
    assert sent == {"From": "+15005550006", "To": USER_NUMBER, "Body": "Hello there",
                    "StatusCallback": integration.inbound_url}
    assert message_sid.startswith("SM") and len(message_sid) == 34
    record = fake_twilio.platform.requests[-1]
    assert record["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_reply_actions_go_as_numbered_options(twilio, fake_twilio, sms_client):
    twilio.send(delivery_of(sms_client, text="Coffee?", actions=[
        {"type": "reply", "text": "Yes", "payload": "YES_COFFEE"},
        {"type": "reply", "text": "No", "payload": "NO_COFFEE"},
    ]))
    assert fake_twilio.sent()[0]["Body"] == "Coffee?\n1. Yes\n2. No\nReply with the number of your choice."


def test_link_buttons_go_as_label_and_url_and_postbacks_are_dropped(twilio, fake_twilio, sms_client):
    twilio.send(delivery_of(sms_client, text="Our menu", actions=[
        {"type": "link", "text": "Menu", "uri": "https://tacos.example/menu"},
        {"type": "postback", "text": "Call me", "payload": "CALL"},
    ]))
    assert fake_twilio.sent()[0]["Body"] == "Our menu\nMenu https://tacos.example/menu"


def test_an_image_goes_as_mms_with_its_text(twilio, fake_twilio, sms_client):
    message_sid = twilio.send(delivery_of(sms_client, type="image", text="Look",
                                          mediaUrl="https://tacos.example/taco.png"))
    [sent] = fake_twilio.sent()
    assert sent["MediaUrl"] == "https://tacos.example/taco.png" and sent["Body"] == "Look"
    assert message_sid.startswith("MM")


def test_an_image_without_text_goes_without_a_body(twilio, fake_twilio, sms_client):
    twilio.send(delivery_of(sms_client, type="image", mediaUrl="https://tacos.example/taco.png"))
    assert "Body" not in fake_twilio.sent()[0]


def test_a_carousel_goes_as_the_text_fallback(twilio, fake_twilio, sms_client, app):
    twilio.send(delivery_of(sms_client, type="carousel", items=[
        {"title": "Tacos", "description": "Description",
         "actions": [{"type": "link", "text": "More info", "uri": "http://example.org"}]},
        {"title": "Ramen", "description": "Description",
         "actions": [{"type": "postback", "text": "Order", "payload": "RAMEN"}]},
    ]))
    assert fake_twilio.sent()[0]["Body"] == "1. Tacos\nDescription\nMore info http://example.org\n\n2. Ramen\nDescription"
    assert "MediaUrl" not in fake_twilio.sent()[0]


def test_a_list_and_a_location_request_fall_back_to_text(twilio, fake_twilio, sms_client, app):
    link = [{"type": "link", "text": "See", "uri": "http://example.org/"}]
    twilio.send(delivery_of(sms_client, type="list", items=[
        {"title": "One", "actions": link}, {"title": "Two", "description": "2", "actions": link}]))
    twilio.send(delivery_of(sms_client, text="Where are you?",
                            actions=[{"type": "locationRequest", "text": "Send location"}]))
    assert [s["Body"] for s in fake_twilio.sent()] == [
        "1. One\nSee http://example.org/\n\n2. Two\n2\nSee http://example.org/", f"Where are you?\n{app.name} has requested a location"]


def test_a_long_text_goes_as_several_messages_the_first_tracked(twilio, fake_twilio, sms_client, integration):
    text = " ".join(["word"] * 700)  # 3499 characters
    message_sid = twilio.send(delivery_of(sms_client, text=text))
    sent = fake_twilio.sent()
    assert len(sent) == 3 and all(len(s["Body"]) <= 1600 for s in sent)
    assert " ".join(s["Body"] for s in sent) == text
    assert [("StatusCallback" in s) for s in sent] == [True, False, False]
    first = fake_twilio.platform.received(f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json")[0]
    assert first["status"] == 201 and message_sid.startswith("SM")


def test_emoji_count_twice_towards_the_limit(twilio, fake_twilio, sms_client):
    twilio.send(delivery_of(sms_client, text="\U0001F32E" * 1000))  # 1000 tacos, 2000 UTF-16 units
    assert [len(s["Body"]) for s in fake_twilio.sent()] == [800, 200]


def test_a_notice_is_a_plain_sms(twilio, fake_twilio):
    message_sid = twilio.send_notice(USER_NUMBER, "Reply YES to link this number to App A.")
    assert fake_twilio.sent() == [{"From": "+15005550006", "To": USER_NUMBER,
                                   "Body": "Reply YES to link this number to App A."}]
    assert message_sid.startswith("SM")


def test_an_opted_out_number_fails_with_opted_out(twilio, fake_twilio, sms_client):
    fake_twilio.opted_out.add(USER_NUMBER)
    error = refusal(lambda: twilio.send(delivery_of(sms_client, text="Hi")))
    assert error.permanent and error.code == "opted_out" and error.status == 400
    assert "21610" in error.message


@pytest.mark.parametrize("external_id, code", [("5145550100", "21211"), ("+15145550199", "21614")])
def test_an_invalid_or_landline_number_is_rejected_with_twilios_message(twilio, fake_twilio, sms_client,
                                                                        external_id, code):
    fake_twilio.landlines.add("+15145550199")
    sms_client.external_id = external_id
    sms_client.save()
    error = refusal(lambda: twilio.send(delivery_of(sms_client, text="Hi")))
    assert error.permanent and error.code == "rejected" and error.message.startswith(f"Twilio {code}: ")
    assert external_id in error.message


def test_a_revoked_token_fails_with_bad_credentials(twilio, fake_twilio, sms_client, integration):
    integration.credentials = fake_twilio.credentials(authToken="f" * 32)
    error = refusal(lambda: twilio.send(delivery_of(sms_client, text="Hi")))
    assert error.permanent and error.code == "bad_credentials"


def test_rate_limits_and_outages_are_retried(twilio, fake_twilio, sms_client):
    delivery = delivery_of(sms_client, text="Hi")
    fake_twilio.fail_next(429, headers={"Retry-After": "4"},
                          body={"code": 20429, "message": "Too Many Requests", "status": 429})
    error = refusal(lambda: twilio.send(delivery))
    assert not error.permanent and error.retry_after == 4
    fake_twilio.fail_next(503)
    assert not refusal(lambda: twilio.send(delivery)).permanent
    assert twilio.send(delivery).startswith("SM")


def test_without_a_known_number_nothing_is_sent(twilio, fake_twilio, sms_client, integration):
    integration.details = {}
    error = refusal(lambda: twilio.send(delivery_of(sms_client, text="Hi")))
    assert error.permanent and fake_twilio.platform.requests == []


# What the fake refuses, as Twilio does.

def messages_url(fake):
    return f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"


def twilio_refusal(call) -> dict:
    try:
        call()
    except PlatformError as error:
        return {"status": error.status, "text": error.message}
    raise AssertionError("the fake took it")


@pytest.mark.parametrize("form, code", [
    ({"From": "+15005550006", "Body": "Hi"}, "21604"),
    ({"To": USER_NUMBER, "Body": "Hi"}, "21603"),
    ({"To": USER_NUMBER, "From": "+15005550006"}, "21602"),
    ({"To": USER_NUMBER, "From": "+15005550006", "Body": "x" * 1601}, "21617"),
    ({"To": USER_NUMBER, "From": "+15005550007", "Body": "Hi"}, "21606"),
    ({"To": USER_NUMBER, "From": "+15005550006", "MediaUrl": "ftp://x"}, "21620"),
])
def test_the_fake_refuses_what_twilio_refuses(fake_twilio, form, code):
    auth = (fake_twilio.account_sid, fake_twilio.auth_token)
    refused = twilio_refusal(lambda: http_post(messages_url(fake_twilio), data=form, auth=auth))
    assert refused["status"] == 400 and code in refused["text"]


def test_the_fake_refuses_json_bodies_and_wrong_auth(fake_twilio):
    form = {"To": USER_NUMBER, "From": "+15005550006", "Body": "Hi"}
    auth = (fake_twilio.account_sid, fake_twilio.auth_token)
    assert http_post(messages_url(fake_twilio), data=form, auth=auth).status_code == 201
    assert "21604" in twilio_refusal(lambda: http_post(messages_url(fake_twilio), json=form, auth=auth))["text"]
    for wrong in [None, (fake_twilio.account_sid, "nope"), (sid("AC"), fake_twilio.auth_token)]:
        assert twilio_refusal(lambda: http_post(messages_url(fake_twilio), data=form, auth=wrong))["status"] == 401
    other_account = messages_url(fake_twilio).replace(fake_twilio.account_sid, sid("AC"))
    assert twilio_refusal(lambda: http_post(other_account, data=form, auth=auth))["status"] == 401
    assert len(fake_twilio.sent()) == 1


# Inbound: verify().

def test_the_signature_matches_twilios_published_example():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    assert signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def webhook(integration, params, *, sign_url=None, token=None, header=True, tamper=None):
    """Twilio's POST to the integration's inbound URL, signed as Twilio signs it."""
    token = token or integration.credentials["authToken"]
    headers = {}
    if header:
        headers["X-Twilio-Signature"] = twilio_signature(token, sign_url or integration.inbound_url, params)
    sent = {**params, **(tamper or {})}
    return RequestFactory().post(f"/integrations/twilio/{integration.id}/webhook", data=urlencode(sent),
                                 content_type="application/x-www-form-urlencoded", headers=headers)


def test_a_signed_sms_is_one_event_keyed_by_its_sid(twilio, fake_twilio, integration):
    params = fake_twilio.incoming("Hi & bye = ok")
    [event] = twilio.verify(webhook(integration, params))
    assert event.key == params["MessageSid"] and event.payload == params


@pytest.mark.parametrize("status", ["sent", "delivered", "undelivered", "failed", "read"])
def test_a_signed_status_callback_is_keyed_by_sid_and_status(twilio, fake_twilio, integration, status):
    message_sid = sid("SM")
    [event] = twilio.verify(webhook(integration, fake_twilio.status_callback(message_sid, status)))
    assert event.key == f"{message_sid}:{status}"


@pytest.mark.parametrize("status", ["queued", "sending", "accepted"])
def test_status_callbacks_the_engine_does_not_use_yield_nothing(twilio, fake_twilio, integration, status):
    assert twilio.verify(webhook(integration, fake_twilio.status_callback(sid("SM"), status))) == []


@pytest.mark.parametrize("how", ["no header", "other token", "other url", "tampered", "extra field"])
def test_an_unsigned_or_wrongly_signed_webhook_is_refused_with_403(twilio, fake_twilio, integration, how):
    params = fake_twilio.incoming()
    request = {
        "no header": lambda: webhook(integration, params, header=False),
        "other token": lambda: webhook(integration, params, token="0" * 32),
        "other url": lambda: webhook(integration, params, sign_url="https://evil.example/webhook"),
        "tampered": lambda: webhook(integration, params, tamper={"Body": "Send me money"}),
        "extra field": lambda: webhook(integration, params, tamper={"NumMedia": "1"}),
    }[how]()
    with pytest.raises(InboundRefused) as refused:
        twilio.verify(request)
    assert refused.value.status == 403


def test_the_signature_covers_the_registered_url_not_the_one_reached(twilio, fake_twilio, integration):
    # Behind a proxy the request arrives as http://testserver/...; Twilio
    # signed the URL it was given.
    request = webhook(integration, fake_twilio.incoming())
    assert request.build_absolute_uri() != integration.inbound_url
    assert len(twilio.verify(request)) == 1


@pytest.mark.parametrize("drop", ["MessageSid", "SmsStatus", "From"])
def test_a_signed_but_malformed_webhook_is_refused_with_400(twilio, fake_twilio, integration, drop):
    params = fake_twilio.incoming()
    del params[drop]
    with pytest.raises(InboundRefused) as refused:
        twilio.verify(webhook(integration, params))
    assert refused.value.status == 400


def test_a_nul_byte_is_refused_with_400(twilio, fake_twilio, integration):
    with pytest.raises(InboundRefused) as refused:
        twilio.verify(webhook(integration, fake_twilio.incoming("a\x00b")))
    assert refused.value.status == 400


# Inbound: parse().

def test_an_sms_is_a_message_from_the_sender(twilio, fake_twilio):
    params = fake_twilio.incoming("Hello, is it open?")
    [event] = twilio.parse(params)
    assert (event.kind, event.external_id) == ("message", USER_NUMBER)
    assert event.data == {"platformMessageId": params["MessageSid"], "text": "Hello, is it open?"}


def test_an_mms_is_fetched_with_basic_auth_and_its_url_kept_nowhere(twilio, fake_twilio):
    url = fake_twilio.add_media(PNG, "image/png")
    params = fake_twilio.incoming("Look", NumMedia="1", MediaUrl0=url, MediaContentType0="image/png")
    [event] = twilio.parse(params)
    media = event.data["media"]
    assert media.content == PNG and media.content_type == "image/png"
    assert media.filename == f"{params['MessageSid']}-0.png"
    assert event.data["text"] == "Look"
    assert fake_twilio.url not in repr({k: v for k, v in event.data.items() if k != "media"})
    fetches = [r for r in fake_twilio.platform.requests if r["method"] == "GET"]
    assert [r["status"] for r in fetches] == [307, 200]
    assert fetches[0]["headers"]["Authorization"].startswith("Basic ")
    assert "Authorization" not in fetches[1]["headers"]


def test_the_media_url_refuses_a_fetch_without_auth(fake_twilio):
    # What makes the test above prove the credentials go with the fetch.
    with pytest.raises(PlatformError) as error:
        fetch_media(fake_twilio.add_media())
    assert error.value.code == "bad_credentials"


def test_each_further_file_of_an_mms_is_a_message_of_its_own(twilio, fake_twilio):
    params = fake_twilio.incoming("", NumMedia="2", MediaUrl0=fake_twilio.add_media(PNG, "image/png"),
                         MediaUrl1=fake_twilio.add_media(b"GIF89a", "image/gif"))
    first, second = twilio.parse(params)
    assert first.data["text"] == "" and first.data["media"].content == PNG
    assert second.data == {"platformMessageId": f"{params['MessageSid']}/1", "media": second.data["media"]}
    assert second.data["media"].content_type == "image/gif"


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                                  "REVOKE", "optout"])
def test_twilios_stop_words_opt_out(twilio, fake_twilio, word):
    [event] = twilio.parse(fake_twilio.incoming(word))
    assert (event.kind, event.external_id) == ("opt_out", USER_NUMBER)


@pytest.mark.parametrize("word", ["START", "unstop", "Start "])
def test_start_and_unstop_opt_in(twilio, fake_twilio, word):
    [event] = twilio.parse(fake_twilio.incoming(word))
    assert (event.kind, event.external_id) == ("opt_in", USER_NUMBER)


def test_yes_stays_a_message_marked_as_twilios_opt_in(twilio, fake_twilio):
    [event] = twilio.parse(fake_twilio.incoming("yes"))
    assert event.kind == "message" and event.data["text"] == "yes" and event.data["optIn"] is True


@pytest.mark.parametrize("text", ["STOP PLEASE", "please stop", "STARTED", "yes please"])
def test_a_stop_word_inside_a_sentence_is_a_plain_message(twilio, fake_twilio, text):
    [event] = twilio.parse(fake_twilio.incoming(text))
    assert event.kind == "message" and "optIn" not in event.data


@pytest.mark.parametrize("status, state", [("sent", "sent"), ("delivered", "delivered")])
def test_sent_and_delivered_callbacks_move_the_delivery(twilio, fake_twilio, status, state):
    message_sid = sid("SM")
    [event] = twilio.parse(fake_twilio.status_callback(message_sid, status))
    assert (event.kind, event.external_id) == ("delivery", USER_NUMBER)
    assert event.data == {"platformMessageId": message_sid, "state": state}


@pytest.mark.parametrize("status, code, meaning", [
    ("undelivered", "30003", "Unreachable destination handset"),
    ("failed", "30007", "Message filtered by the carrier"),
    ("failed", "39999", "Twilio reported the message failed"),
])
def test_undelivered_and_failed_callbacks_carry_the_error(twilio, fake_twilio, status, code, meaning):
    message_sid = sid("SM")
    [event] = twilio.parse(fake_twilio.status_callback(message_sid, status, ErrorCode=code))
    assert event.data == {"platformMessageId": message_sid, "state": "failed",
                          "error": {"code": code, "message": meaning}}


def test_a_read_callback_is_a_read(twilio, fake_twilio):
    message_sid = sid("SM")
    [event] = twilio.parse(fake_twilio.status_callback(message_sid, "read"))
    assert (event.kind, event.data) == ("read", {"platformMessageId": message_sid})


# Through the integrations service (what the API and the dashboard call).

def test_creating_one_checks_registers_and_keeps_the_token_secret(app, fake_twilio):
    from messaging.services.integrations import create_integration, delete_integration

    row = create_integration(app, {"type": "twilio", **fake_twilio.credentials()}, base_url="https://parley.example")
    number = fake_twilio.numbers[fake_twilio.phone_number_sid]
    assert number["sms_url"] == row.inbound_url == f"https://parley.example/integrations/twilio/{row.id}/webhook"
    assert row.display_name == "(500) 555-0006" and row.details["phoneNumber"] == "+15005550006"
    assert fake_twilio.auth_token not in repr(row.details)
    delete_integration(row)
    assert number["sms_url"] == "" and not Integration.objects.filter(id=row.id).exists()


def test_creating_one_with_a_wrong_token_stores_nothing(app, fake_twilio):
    from messaging.services.errors import ServiceError
    from messaging.services.integrations import create_integration

    with pytest.raises(ServiceError) as refused:
        create_integration(app, {"type": "twilio", **fake_twilio.credentials(authToken="0" * 32)},
                           base_url="https://parley.example")
    assert "Auth Token" in str(refused.value)
    assert not Integration.objects.filter(app=app).exists()
    assert fake_twilio.numbers[fake_twilio.phone_number_sid]["sms_url"] == ""
