"""The email channel's SMTP transport, outbound, through Django's locmem
backend (`mail.outbox`): set-up, every message type as text + HTML,
threading headers, the Reply-To token, SMTP errors mapped to a retry or a
failure. Linking an address through the API: tests/api/test_channels_email.py."""

import smtplib
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.utils import timezone

from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.integrations.email import Email, _smtp_error
from messaging.models import Client, Delivery
from messaging.services.integrations import create_integration
from messaging.services.messages import post_message
from messaging.validators import validate_message
from tests.support.ws import make_client, make_user, run_tasks

ADDRESS = "maria.lopez@gmail.com"


@pytest.fixture
def integration(app):
    return create_integration(app, {"type": "email", "fromAddress": "support@tacos.example",
                                    "fromName": "Tacos Inc"}, base_url="https://parley.example")


@pytest.fixture
def channel(integration):
    return Email(integration)


@pytest.fixture
def mail_client(app, integration):
    return make_client(make_user(app, "maria"), "email", external_id=ADDRESS, integration=integration)


def delivery_of(client, **body) -> Delivery:
    user = client.app_user
    fields = validate_message({"type": "text", **body}, role="appMaker", app_user=user)
    message = post_message(user, role="appMaker", fields=fields)
    return Delivery.objects.get(message=message, client=client)


def sent(channel, delivery):
    """Send, then the email as the receiving side parses it."""
    mail.outbox.clear()
    message_id = channel.send(delivery)
    [email] = mail.outbox
    return message_id, message_from_bytes(email.message().as_bytes(), policy=policy.default)


def parts(parsed) -> tuple[str, str]:
    return (parsed.get_body(preferencelist=("plain",)).get_content(),
            parsed.get_body(preferencelist=("html",)).get_content())


def test_it_is_the_registered_push_capable_email_channel():
    cls = registry.integration_class("email")
    assert cls is Email and cls.label == "Email"
    caps = cls.capabilities
    assert caps.push and not caps.silent and not caps.typing and not caps.read_receipts
    assert caps.native == {"text", "image"} and caps.text_fallback == {"carousel", "list", "location"}
    assert not cls.sender_verified
    assert [f.name for f in cls.fields] == ["fromAddress", "fromName", "replyDomain"]


def test_creating_one_checks_the_addresses(app, integration):
    assert integration.details == {"fromAddress": "support@tacos.example", "fromName": "Tacos Inc",
                                   "replyDomain": "tacos.example"}
    assert integration.display_name == "Tacos Inc"
    from messaging.services.errors import ServiceError
    with pytest.raises(ServiceError, match="fromAddress must be an email address"):
        create_integration(app, {"type": "email", "fromAddress": "not-an-address"}, base_url="https://p.example")
    with pytest.raises(ServiceError, match="replyDomain must be a domain name"):
        create_integration(app, {"type": "email", "fromAddress": "a@tacos.example", "replyDomain": "no domain"},
                           base_url="https://p.example")


def test_a_text_is_one_multipart_email_from_the_integration_with_a_reply_token(channel, mail_client):
    delivery = delivery_of(mail_client, text="Your order is <ready> & hot")
    message_id, parsed = sent(channel, delivery)
    assert parsed["From"] == "Tacos Inc <support@tacos.example>" and parsed["To"] == ADDRESS
    assert parsed["Subject"] == "App A" and parsed["Message-ID"] == message_id
    assert message_id.startswith("<") and message_id.endswith("@tacos.example>")
    mail_client.refresh_from_db()
    assert len(mail_client.reply_token) == 20
    assert parsed["Reply-To"] == f"reply+{mail_client.reply_token}@tacos.example"
    assert "In-Reply-To" not in parsed and "References" not in parsed
    text, html = parts(parsed)
    assert text.startswith("Your order is <ready> & hot\n") and "Reply to this email to answer App A." in text
    assert "Your order is &lt;ready&gt; &amp; hot" in html and "<ready>" not in html


def test_the_delivery_records_the_message_id_and_later_emails_thread(channel, mail_client, integration):
    first = delivery_of(mail_client, text="One")
    first_id, _ = sent(channel, first)
    Delivery.objects.filter(pk=first.pk).update(platform_message_id=first_id, sent_at=timezone.now())
    # The user answered by email since.
    Client.objects.filter(pk=mail_client.pk).update(last_inbound_ref="<CAJ8z1@mail.gmail.com>",
                                                    last_inbound_at=timezone.now())
    mail_client.refresh_from_db()
    token = mail_client.reply_token
    second_id, parsed = sent(channel, delivery_of(mail_client, text="Two"))
    assert parsed["Subject"] == "Re: App A"
    assert parsed["In-Reply-To"] == "<CAJ8z1@mail.gmail.com>"
    assert parsed["References"].split() == [first_id, "<CAJ8z1@mail.gmail.com>"]
    assert second_id != first_id
    mail_client.refresh_from_db()
    assert mail_client.reply_token == token  # one token per conversation


def test_an_image_is_linked_in_the_html_and_its_url_in_the_text(channel, mail_client):
    delivery = delivery_of(mail_client, type="image", text="The menu", mediaUrl="https://cdn.example/menu.png")
    _, parsed = sent(channel, delivery)
    text, html = parts(parsed)
    assert "The menu" in text and "https://cdn.example/menu.png" in text
    assert '<img src="https://cdn.example/menu.png"' in html and 'alt="The menu"' in html


def test_link_buttons_are_links_and_postbacks_are_left_out(channel, mail_client):
    delivery = delivery_of(mail_client, text="Your order", actions=[
        {"type": "link", "text": "Track it", "uri": "https://tacos.example/track"},
        {"type": "postback", "text": "Cancel", "payload": "CANCEL"},
    ])
    _, parsed = sent(channel, delivery)
    text, html = parts(parsed)
    assert "Track it https://tacos.example/track" in text and '<a href="https://tacos.example/track"' in html
    assert "Cancel" not in text and "Cancel" not in html


def test_reply_buttons_are_numbered_options(channel, mail_client):
    delivery = delivery_of(mail_client, text="Pick a day", actions=[
        {"type": "reply", "text": "Tomorrow", "payload": "TOMORROW"},
        {"type": "reply", "text": "Friday", "payload": "FRIDAY"},
    ])
    _, parsed = sent(channel, delivery)
    text, html = parts(parsed)
    assert "1. Tomorrow\n2. Friday\nReply with the number of your choice." in text
    assert "<li>Tomorrow</li>" in html and "<li>Friday</li>" in html


def test_a_carousel_and_a_list_are_numbered_lists(channel, mail_client):
    items = [{"title": "Tacos al pastor", "description": "Pork, pineapple", "mediaUrl": "https://cdn.example/a.png",
              "actions": [{"type": "link", "text": "Order", "uri": "https://tacos.example/a"}]},
             {"title": "Churros", "actions": [{"type": "postback", "text": "More", "payload": "MORE"}]}]
    for kind in ("carousel", "list"):
        _, parsed = sent(channel, delivery_of(mail_client, type=kind, text="", items=items))
        text, html = parts(parsed)
        assert "1. Tacos al pastor\nPork, pineapple\nOrder https://tacos.example/a" in text
        assert "2. Churros" in text
        assert "<ol" in html and "<strong>Tacos al pastor</strong>" in html and 'src="https://cdn.example/a.png"' in html


def test_a_location_request_is_a_sentence(channel, mail_client):
    _, parsed = sent(channel, delivery_of(mail_client, text="Where are you?",
                                          actions=[{"type": "locationRequest", "text": "Send location"}]))
    text, html = parts(parsed)
    assert "App A has requested a location" in text and "App A has requested a location" in html


def test_a_location_renders_as_text_and_a_map_link(channel, mail_client):
    """A location message (the engine's own, e.g. echoed from another
    channel) renders; the API lets only users send them."""
    from messaging.models import Message
    message = Message(app=mail_client.app_user.app, app_user=mail_client.app_user, role="appMaker",
                      type="location", text="The shop", coordinates={"lat": 45.5, "long": -73.56})
    text, html = channel.render(message, "App A")
    assert "The shop: 45.5, -73.56" in text and "openstreetmap.org/?mlat=45.5&amp;mlon=-73.56" in html


@pytest.mark.parametrize("error,permanent,code", [
    (smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"5.1.1 User unknown")}), True, "rejected"),
    (smtplib.SMTPRecipientsRefused({ADDRESS: (450, b"4.2.0 Greylisted")}), False, "platform_unavailable"),
    (smtplib.SMTPSenderRefused(553, b"5.7.1 Sender rejected", "support@tacos.example"), True, "platform_error"),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"), True, "bad_credentials"),
    (smtplib.SMTPDataError(451, b"4.3.0 Try later"), False, "platform_unavailable"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False, "unreachable"),
    (smtplib.SMTPConnectError(421, b"Too busy"), False, "unreachable"),
    (ConnectionRefusedError(111, "Connection refused"), False, "unreachable"),
    (TimeoutError("timed out"), False, "timeout"),
])
def test_smtp_failures_are_retried_or_fail_the_delivery(channel, mail_client, monkeypatch, error, permanent, code):
    def refuse(self, messages):
        raise error

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    with pytest.raises(PlatformError) as raised:
        channel.send(delivery_of(mail_client, text="Hi"))
    assert (raised.value.permanent, raised.value.code) == (permanent, code)
    assert _smtp_error(error).permanent == permanent


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_it_and_a_refused_recipient_fails_the_delivery(mail_client, monkeypatch):
    delivery = delivery_of(mail_client, text="Hello by email")
    mail.outbox.clear()
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.platform_message_id == mail.outbox[0].extra_headers["Message-ID"]

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"5.1.1 User unknown")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    failing = delivery_of(mail_client, text="Again")
    run_tasks()
    failing.refresh_from_db()
    assert failing.state == "failed" and failing.error["code"] == "rejected"


# The dashboard's pages.

def test_the_integration_page_shows_the_inbound_secret_and_how_to_forward(owner_client, app, integration):
    page = owner_client.get(f"/apps/{app.id}/integrations/{integration.id}/").content.decode()
    assert f'<code class="inbound-secret">{integration.webhook_secret}</code>' in page
    assert "Content-Type: message/rfc822" in page and "X-Parley-Secret" in page


def test_the_conversation_page_marks_an_unverified_client(owner_client, app, integration):
    user = make_user(app, "walk-in")
    make_client(user, "email", external_id="sam@example.com", integration=integration, unverified=True)
    page = owner_client.get(f"/apps/{app.id}/users/{user.id}/").content.decode()
    assert "(unverified: sam@example.com)" in page
