"""The email channel's Mailgun transport against the fake Mailgun HTTP API
(tests/support/fake_mailgun.py): set-up, messages as Mailgun's form fields
with the threading headers, errors mapped to a retry or a failure, and
route posts, signed and not, parsed or raw MIME, repeated."""

import base64
import time
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.integrations import registry
from messaging.integrations.email import Mailgun, mailgun_signature
from messaging.models import Client, Delivery, Message, PlatformEvent
from messaging.services import inbound
from messaging.services.errors import ServiceError
from messaging.services.integrations import create_integration
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support.fake_twilio import PNG
from tests.support.sending import refusal
from tests.support.ws import business_message, make_client, make_user

ADDRESS = "maria@example.org"
MAIL = Path(__file__).parent / "mail"


@pytest.fixture
def integration(app, mailgun):
    return create_integration(app, {"type": "mailgun", **mailgun.credentials()}, base_url="https://parley.example")


@pytest.fixture
def channel(integration):
    return Mailgun(integration)


@pytest.fixture
def mail_client(app, integration):
    return make_client(make_user(app, "maria"), "mailgun", external_id=ADDRESS, integration=integration)


def delivery_of(client, **body) -> Delivery:
    user = client.app_user
    fields = validate_message({"type": "text", **body}, role="appMaker", app_user=user)
    return Delivery.objects.get(message=post_message(user, role="appMaker", fields=fields), client=client)


def test_it_is_the_registered_mailgun_channel(integration, mailgun):
    cls = registry.integration_class("mailgun")
    assert cls is Mailgun and cls.capabilities.push and not cls.sender_verified
    assert [f.name for f in cls.fields] == ["apiKey", "domain", "incomingAddress", "fromAddress",
                                            "webhookSigningKey"]
    assert integration.details["domain"] == mailgun.domain and integration.details["domainState"] == "active"
    assert "apiKey" not in integration.details and "webhookSigningKey" not in integration.details
    [check] = mailgun.platform.received(f"/v3/domains/{mailgun.domain}")
    assert check["method"] == "GET"


def test_check_refuses_a_wrong_key_and_an_unknown_domain(app, mailgun):
    with pytest.raises(ServiceError, match="refused the API key"):
        create_integration(app, {"type": "mailgun", **mailgun.credentials(apiKey="key-wrong")},
                           base_url="https://parley.example")
    with pytest.raises(ServiceError, match="Domain not found"):
        create_integration(app, {"type": "mailgun", **mailgun.credentials(domain="mg.other.example")},
                           base_url="https://parley.example")


def test_a_message_is_posted_with_mailguns_fields_and_threads(channel, mailgun, mail_client):
    first = delivery_of(mail_client, text="Your order is ready", actions=[
        {"type": "link", "text": "Track it", "uri": "https://tacos.example/track"}])
    first_id = channel.send(first)
    [body] = mailgun.sent()
    [record] = mailgun.platform.received(f"/v3/{mailgun.domain}/messages")
    assert record["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    mail_client.refresh_from_db()
    assert body["from"] == f"App A <support@{mailgun.domain}>" and body["to"] == ADDRESS
    assert body["subject"] == "App A" and body["h:Message-Id"] == first_id
    assert body["h:Reply-To"] == f"reply+{mail_client.reply_token}@{mailgun.domain}"
    assert "Track it https://tacos.example/track" in body["text"]
    assert '<a href="https://tacos.example/track"' in body["html"]
    assert "h:In-Reply-To" not in body

    Delivery.objects.filter(pk=first.pk).update(platform_message_id=first_id, sent_at=first.created_at)
    second_id = channel.send(delivery_of(mail_client, type="image", mediaUrl="https://cdn.example/a.png"))
    second = mailgun.sent()[-1]
    assert second["h:In-Reply-To"] == first_id and second["h:References"] == first_id
    assert second["subject"] == "Re: App A" and second_id == second["h:Message-Id"] != first_id
    assert '<img src="https://cdn.example/a.png"' in second["html"]


def test_a_revoked_key_is_bad_credentials_and_outages_are_retried(channel, mailgun, mail_client, integration):
    delivery = delivery_of(mail_client, text="Hi")
    mailgun.api_key = "key-rotated"
    error = refusal(lambda: channel.send(delivery))
    assert (error.permanent, error.code, error.status) == (True, "bad_credentials", 401)
    mailgun.api_key = integration.credentials["apiKey"]
    for status in (500, 502, 503):
        mailgun.platform.fail_next(status)
        error = refusal(lambda: channel.send(delivery))
        assert not error.permanent and error.status == status
    mailgun.platform.fail_next(429, headers={"Retry-After": "7"})
    error = refusal(lambda: channel.send(delivery))
    assert not error.permanent and error.retry_after == 7


def test_mailguns_400_is_a_permanent_refusal_with_its_message(channel, mailgun, mail_client):
    mail_client.external_id = "not an address"
    mail_client.save(update_fields=["external_id"])
    error = refusal(lambda: channel.send(delivery_of(mail_client, text="Hi")))
    assert error.permanent and error.code == "rejected" and "to parameter is not a valid address" in error.message


@pytest.mark.parametrize("drop,message", [
    ("from", "'from' parameter is missing"), ("to", "'to' parameter is missing"),
    ("subject", "'subject' parameter is missing"),
])
def test_the_fake_refuses_what_mailgun_refuses(mailgun, drop, message):
    form = {"from": "a@mg.tacos.example", "to": ADDRESS, "subject": "s", "text": "t"}
    del form[drop]
    response = requests.post(f"{mailgun.url}/v3/{mailgun.domain}/messages", data=form,
                             auth=("api", mailgun.api_key), timeout=5)
    assert response.status_code == 400 and response.json() == {"message": message}
    no_body = requests.post(f"{mailgun.url}/v3/{mailgun.domain}/messages", data={**form, drop: "x@y.example",
                            "text": ""}, auth=("api", mailgun.api_key), timeout=5)
    assert "Need at least one of 'text', 'html'" in no_body.json()["message"]
    wrong = requests.get(f"{mailgun.url}/v3/domains/{mailgun.domain}", auth=("api", "key-x"), timeout=5)
    assert (wrong.status_code, wrong.text) == (401, "Forbidden")


def test_the_signature_is_hmac_sha256_of_timestamp_and_token():
    # Computed independently: HMAC-SHA256("key-1", "1529006854" + "a8ce0edb...") in hex.
    import hashlib
    import hmac
    token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    expected = hmac.new(b"key-1", b"1529006854" + token.encode(), hashlib.sha256).hexdigest()
    assert mailgun_signature("key-1", "1529006854", token) == expected


# Inbound: Mailgun's route posts.

def route(client, integration, fields, files=None):
    data = dict(fields)
    for number, upload in enumerate(files or [], start=1):
        data[f"attachment-{number}"] = upload
    return client.post(f"/integrations/mailgun/{integration.id}/webhook", data=data)


@pytest.fixture
def maria(app, integration):
    """Maria's conversation, with our email she answers."""
    user = make_user(app, "maria")
    mail = make_client(user, "mailgun", external_id=ADDRESS, integration=integration,
                       reply_token="aaaabbbbccccdddd0000")
    business_message(user, "Your order is ready")
    Delivery.objects.filter(client=mail).update(platform_message_id="<ours@mg.tacos.example>", state="sent")
    return mail


def test_a_signed_reply_threads_into_its_conversation_once(client, integration, mailgun, maria):
    fields = mailgun.route_post("Thursday at 6\n\nOn Tue, Tacos wrote:\n> Your order is ready",
                                recipient=f"reply+aaaabbbbccccdddd0000@{mailgun.domain}",
                                in_reply_to="<ours@mg.tacos.example>", stripped="Thursday at 6")
    assert route(client, integration, fields).status_code == 200
    inbound.run_due()
    [message] = Message.objects.filter(role="appUser")
    assert message.app_user_id == maria.app_user_id and message.text == "Thursday at 6"
    maria.refresh_from_db()
    assert maria.last_inbound_ref == fields["Message-Id"]
    # Mailgun retries the post (a new token and signature, the same email).
    again = mailgun.signed({k: v for k, v in fields.items() if k not in ("timestamp", "token", "signature")})
    assert route(client, integration, again).status_code == 200
    inbound.run_due()
    assert Message.objects.filter(role="appUser").count() == 1 and PlatformEvent.objects.count() == 1


def test_without_stripped_text_parleys_splitter_cuts_the_quote(client, integration, mailgun, maria):
    fields = mailgun.route_post("Sure.\n\nOn Tue, Dec 1, 2026 at 10:02 AM Tacos <x@y.example> wrote:\n> old",
                                recipient=f"reply+aaaabbbbccccdddd0000@{mailgun.domain}")
    route(client, integration, fields)
    inbound.run_due()
    assert Message.objects.get(role="appUser").text == "Sure."


@pytest.mark.parametrize("how", ["unsigned", "wrong key", "tampered", "replayed", "future"])
def test_a_wrongly_signed_or_replayed_post_is_refused_with_403(client, integration, mailgun, how):
    fields = mailgun.route_post("Hello")
    if how == "unsigned":
        del fields["signature"]
    elif how == "wrong key":
        fields = mailgun.signed({**fields}, key="not-the-key")
    elif how == "tampered":
        fields["timestamp"] = str(int(fields["timestamp"]) + 1)
    elif how == "replayed":
        fields = mailgun.signed(fields, at=time.time() - 600)
    else:
        # Well past the 5-minute window: a slow machine's second between
        # signing and checking must not bring it back inside.
        fields = mailgun.signed(fields, at=time.time() + 600)
    assert route(client, integration, fields).status_code == 403
    assert not PlatformEvent.objects.exists()


def test_a_signed_post_without_a_sender_is_refused_with_400(client, integration, mailgun):
    fields = mailgun.route_post("Hello")
    del fields["sender"], fields["from"]
    fields = mailgun.signed(fields)
    assert route(client, integration, fields).status_code == 400
    assert not PlatformEvent.objects.exists()


def test_a_nul_byte_is_refused_with_400(client, integration, mailgun):
    fields = mailgun.route_post("Hello\x00there")
    assert route(client, integration, fields).status_code == 400
    assert not PlatformEvent.objects.exists()


def test_an_attachment_is_stored_like_an_image(client, integration, mailgun, maria, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fields = mailgun.route_post("My receipt", recipient=f"reply+aaaabbbbccccdddd0000@{mailgun.domain}",
                                **{"attachment-count": "1"})
    response = route(client, integration, fields, [SimpleUploadedFile("receipt.png", PNG, "image/png")])
    assert response.status_code == 200
    inbound.run_due()
    message = Message.objects.get(role="appUser")
    assert message.type == "image" and message.text == "My receipt"
    assert list(tmp_path.rglob("*.png"))[0].read_bytes() == PNG


def test_a_mime_route_post_is_read_like_any_email(client, integration, mailgun, app):
    """A route to a URL ending in "mime" posts body-mime: the Gmail sample
    threads by its Reply-To token."""
    user = make_user(app, "gmail")
    make_client(user, "mailgun", external_id="maria.lopez@gmail.com", integration=integration,
                reply_token="3f2a9c1e8b7d6054a1b2")
    raw = (MAIL / "gmail_reply.eml").read_bytes().decode()
    fields = mailgun.signed({"recipient": "reply+3f2a9c1e8b7d6054a1b2@tacos.example", "sender": "x@y.example",
                             "body-mime": raw})
    assert route(client, integration, fields).status_code == 200
    inbound.run_due()
    message = Message.objects.get(role="appUser")
    assert message.app_user_id == user.id and message.text.startswith("Yes, Thursday works for me.")


def test_an_auto_reply_through_mailgun_is_ignored_and_a_forged_sender_opens_a_new_user(
        client, integration, mailgun, maria):
    auto = mailgun.route_post("Out of office", message_id="<ooo@example.org>")
    auto["message-headers"] = auto["message-headers"][:-1] + ', ["Auto-Submitted", "auto-replied"]]'
    auto = mailgun.signed({k: v for k, v in auto.items() if k not in ("timestamp", "token", "signature")})
    route(client, integration, auto)
    forged = mailgun.route_post("Send the refund to my new card")  # no reply token
    route(client, integration, forged)
    inbound.run_due()
    [message] = Message.objects.filter(role="appUser")
    assert message.text == "Send the refund to my new card" and message.app_user_id != maria.app_user_id
    assert Client.objects.get(app_user=message.app_user).unverified


def test_the_signature_fields_are_not_stored(integration, mailgun, rf):
    fields = mailgun.route_post("Hello")
    request = rf.post("/", data=fields)
    [event] = Mailgun(integration).verify(request)
    assert not {"signature", "token", "timestamp"} & set(event.payload["fields"])
    assert event.key == fields["Message-Id"]
    files = Mailgun(integration).verify(rf.post("/", data={**mailgun.route_post("Receipt"),
                                                           "attachment-1": SimpleUploadedFile("r.png", PNG)}))
    assert base64.b64decode(files[0].payload["files"][0]["content"]) == PNG
