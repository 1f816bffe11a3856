"""Inbound email on the SMTP transport, in one process: raw MIME POSTed to
/integrations/email/<id>/webhook (or piped into `manage.py receive_email`),
the worker's tasks run inline. The samples under tests/channels/mail/ are
real-looking messages: a Gmail multipart reply with a signature and quoted
history, an Apple Mail plain reply, an image attachment, a Postfix bounce
and an Outlook-style automatic reply."""

import base64
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from messaging.integrations import mail_parsing
from messaging.models import AppUser, Client, Delivery, LogEntry, Message, PlatformEvent
from messaging.services import inbound
from messaging.services.integrations import create_integration
from tests.support.ws import business_message, make_client, make_user

# The worker's part is run inline (messaging.services.inbound.run_due) in
# the test's transaction: no task queue needed, and no table flush.
pytestmark = pytest.mark.django_db

MAIL = Path(__file__).parent / "mail"
ADDRESS = "maria.lopez@gmail.com"
TOKEN = "3f2a9c1e8b7d6054a1b2"  # the Reply-To token in the samples
OUR_ID = "<176461212012.4821.1199238412931049212.parley@tacos.example>"  # what they answer
BOUNCED_ID = "<176460132455.5120.8812301928371203312.parley@tacos.example>"


def run_tasks():
    inbound.run_due()


def sample(name: str) -> bytes:
    return (MAIL / f"{name}.eml").read_bytes()


@pytest.fixture
def integration(app):
    return create_integration(app, {"type": "email", "fromAddress": "support@tacos.example"},
                              base_url="https://parley.example")


@pytest.fixture
def maria(app, integration):
    """Maria's conversation: linked by email (proven), with our email she answers."""
    user = make_user(app, "maria")
    client = make_client(user, "email", external_id=ADDRESS, integration=integration, reply_token=TOKEN)
    business_message(user, "Your catering order is ready. When would you like to pick it up?")
    Delivery.objects.filter(client=client).update(platform_message_id=OUR_ID, state="sent")
    return client


def post(client, integration, raw: bytes, *, secret=None, auth=None, content_type="message/rfc822"):
    headers = {}
    if auth is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    else:
        headers["HTTP_X_PARLEY_SECRET"] = integration.webhook_secret if secret is None else secret
    return client.post(f"/integrations/email/{integration.id}/webhook", data=raw, content_type=content_type,
                       **headers)


def user_messages(app_user=None):
    rows = Message.objects.filter(role="appUser")
    return list(rows.filter(app_user=app_user) if app_user else rows)


def test_a_gmail_reply_threads_into_its_conversation_with_only_the_new_text(client, integration, maria):
    response = post(client, integration, sample("gmail_reply"))
    assert response.status_code == 200, response.content
    run_tasks()
    [message] = user_messages()
    assert message.app_user_id == maria.app_user_id
    assert message.text == "Yes, Thursday works for me. Can I pick it up at 6?\n\nThanks!\nMaria"
    assert message.source["type"] == "email"
    maria.refresh_from_db()
    assert maria.last_inbound_ref == "<CAJ8z1kQw7vN2pXo5sF3mT9bRu4Lh6yE0cG@mail.gmail.com>"
    assert not maria.unverified

    # The forwarder posts it again: the Message-ID is known.
    assert post(client, integration, sample("gmail_reply")).status_code == 200
    run_tasks()
    assert len(user_messages()) == 1 and PlatformEvent.objects.count() == 1


def test_basic_auth_with_the_secret_as_password_is_taken_too(client, integration, maria):
    assert post(client, integration, sample("gmail_reply"), auth=f"parley:{integration.webhook_secret}"
                ).status_code == 200
    assert PlatformEvent.objects.count() == 1


@pytest.mark.parametrize("how", ["wrong secret", "no secret", "wrong basic auth"])
def test_a_post_without_the_secret_stores_nothing(client, integration, maria, how):
    if how == "wrong secret":
        response = post(client, integration, sample("gmail_reply"), secret="not-the-secret")
    elif how == "no secret":
        response = post(client, integration, sample("gmail_reply"), secret="")
    else:
        response = post(client, integration, sample("gmail_reply"), auth="parley:guess")
    assert response.status_code == 403
    assert not PlatformEvent.objects.exists()


@pytest.mark.parametrize("raw,content_type,status", [
    (b"", "message/rfc822", 400),
    (b"just some bytes, no headers\n", "message/rfc822", 400),
    (b"Subject: hi\r\nTo: support@tacos.example\r\n\r\nno sender\r\n", "message/rfc822", 400),
    (b"From: maria.lopez@gmail.com\r\n\r\nhello\r\n", "text/plain", 415),
])
def test_a_malformed_post_is_refused_and_stores_nothing(client, integration, raw, content_type, status):
    assert post(client, integration, raw, content_type=content_type).status_code == status
    assert not PlatformEvent.objects.exists()


def test_a_bounce_fails_the_delivery_it_answers_and_is_no_message(client, integration, app):
    user = make_user(app, "nobody")
    gone = make_client(user, "email", external_id="nobody@example.net", integration=integration)
    business_message(user, "Your catering order is ready.")
    Delivery.objects.filter(client=gone).update(platform_message_id=BOUNCED_ID, state="sent")
    assert post(client, integration, sample("bounce")).status_code == 200
    run_tasks()
    delivery = Delivery.objects.get(client=gone)
    assert delivery.state == "failed" and delivery.error["code"] == "bounced"
    assert "5.1.1" in delivery.error["message"] and "User unknown" in delivery.error["message"]
    assert not user_messages()
    assert AppUser.objects.count() == 1  # MAILER-DAEMON is nobody's user


def test_an_automatic_reply_is_ignored(client, integration, maria):
    assert post(client, integration, sample("auto_reply")).status_code == 200
    run_tasks()
    assert not user_messages()
    assert PlatformEvent.objects.get().state == "done"
    assert Delivery.objects.get(client=maria).state == "sent"


def test_an_attachment_is_stored_like_an_image(client, integration, maria, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert post(client, integration, sample("image_attachment")).status_code == 200
    run_tasks()
    [message] = user_messages(maria.app_user)
    assert message.type == "image" and message.text == "Here is the receipt."
    assert message.media_url.startswith("https://parley.example/")
    [stored] = list(tmp_path.rglob("*.png"))
    assert stored.read_bytes() == mail_parsing.attachments(mail_parsing.read(sample("image_attachment")))[0][
        "content"]


def test_a_known_address_without_the_token_opens_a_new_unverified_user(client, integration, maria):
    """The Apple Mail reply carries no reply token (written to the From
    address): the address alone matches Maria, but a From can be forged,
    so it never joins her conversation."""
    assert post(client, integration, sample("apple_plain_reply")).status_code == 200
    run_tasks()
    assert not user_messages(maria.app_user)
    [message] = user_messages()
    assert message.text == ("Please send my order to 12 Rue Sainte-Catherine instead, and charge my card again.")
    newcomer = Client.objects.get(app_user=message.app_user)
    assert newcomer.unverified and newcomer.external_id == ADDRESS and newcomer.pk != maria.pk
    assert LogEntry.objects.filter(app_user=message.app_user, kind="appUser:created",
                                   summary__contains="unverified sender").exists()

    # The same address writes again without the token: the unverified
    # conversation it opened goes on; Maria's stays untouched.
    again = sample("apple_plain_reply").replace(b"5B1C0D4E-7A2F", b"6C2D1E5F-8B30")
    post(client, integration, again)
    run_tasks()
    assert len(user_messages(message.app_user)) == 2 and not user_messages(maria.app_user)


def test_an_unknown_sender_becomes_a_new_unverified_app_user(client, integration):
    raw = (b"From: Sam Roe <sam@example.com>\r\nTo: support@tacos.example\r\nSubject: Hours?\r\n"
           b"Message-ID: <abc123@example.com>\r\n\r\nAre you open on Sunday?\r\n")
    assert post(client, integration, raw).status_code == 200
    run_tasks()
    [message] = user_messages()
    assert message.text == "Are you open on Sunday?" and message.app_user.given_name == "Sam Roe"
    assert Client.objects.get(app_user=message.app_user).unverified


def test_a_nul_byte_in_the_body_is_dropped_not_fatal(client, integration):
    raw = (b"From: sam@example.com\r\nMessage-ID: <nul@example.com>\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\nHel\x00lo\r\n")
    assert post(client, integration, raw).status_code == 200
    run_tasks()
    assert [m.text for m in user_messages()] == ["Hello"]


def test_a_reply_with_the_token_proves_an_unverified_address(client, integration, app):
    user = make_user(app, "walk-in")
    walk_in = make_client(user, "email", external_id=ADDRESS, integration=integration, reply_token=TOKEN,
                          unverified=True)
    post(client, integration, sample("gmail_reply"))
    run_tasks()
    walk_in.refresh_from_db()
    assert not walk_in.unverified and len(user_messages(user)) == 1


def test_an_mta_pipe_stores_the_email_with_receive_email(integration, maria, capsys, monkeypatch):
    def pipe(raw: bytes):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))

    pipe(sample("gmail_reply"))
    call_command("receive_email", integration.id)
    run_tasks()
    [message] = user_messages(maria.app_user)
    assert message.text.startswith("Yes, Thursday works for me.")
    pipe(sample("gmail_reply"))
    call_command("receive_email", integration.id)
    assert "seen before" in capsys.readouterr().out
    for raw, integration_id, code in ((b"not an email", integration.id, 65), (sample("gmail_reply"), "nope", 67)):
        pipe(raw)
        with pytest.raises(SystemExit) as exited:
            call_command("receive_email", integration_id)
        assert exited.value.code == code


def test_the_splitter_on_common_shapes():
    outlook = ("Sounds good.\r\n\r\n________________________________\r\nFrom: Tacos Inc <support@tacos.example>\r\n"
               "Sent: Tuesday, December 1, 2026 10:02 AM\r\nTo: Maria\r\nSubject: Tacos Inc\r\n\r\nOld text")
    assert mail_parsing.split_reply(outlook) == "Sounds good."
    no_rule = "Fine by me\n\nFrom: Tacos Inc <support@tacos.example>\nDate: Tue, 1 Dec 2026\nSubject: x\n\nOld"
    assert mail_parsing.split_reply(no_rule) == "Fine by me"
    original = "ok\n\n-----Original Message-----\nFrom: someone"
    assert mail_parsing.split_reply(original) == "ok"
    quoted = "See you then\n> old line\n> older line"
    assert mail_parsing.split_reply(quoted) == "See you then"
    inline = "> question one?\nanswer one\n> question two?\nanswer two"
    assert mail_parsing.split_reply(inline) == inline  # interleaved answers are kept whole
    assert mail_parsing.split_reply("Thanks\n-- \nMaria\n+1 514") == "Thanks"
    assert mail_parsing.split_reply("Merci\n\nLe mar. 1 déc. 2026 à 10:02, Tacos <a@b.c> a écrit :\n> x") == "Merci"
    assert mail_parsing.split_reply("> only a quote") == "> only a quote"
