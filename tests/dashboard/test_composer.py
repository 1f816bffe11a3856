"""The conversation page's composer and thread over HTTP: notes, canned
replies (message templates), image upload, people's wording, only the
chosen type's fields, the counter's limits, and the thread's rendering of
postbacks, reply choices, locations, images and delivery status."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Delivery, LogEntry, Message, MessageTemplate, Note, WebhookEvent, Webhook
from messaging.services import templates
from messaging.services.errors import Conflict, NotFound, ServiceError
from messaging.services.messages import post_message
from messaging.services.postbacks import record_postback
from tests.support.ws import make_client, make_user

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def carol(app):
    user = make_user(app, "carol", given_name="Carol")
    make_client(user, "web", minutes_ago=1)
    return user


def url(app, user, tail=""):
    return f"/apps/{app.id}/users/{user.id}/{tail}"


def png() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


# ------------------------------------------------------------ templates


@pytest.mark.django_db
def test_it_stores_templates_in_smooch_v11_shape(app):
    t = templates.create_template(app, name="Hours", message={"type": "text", "text": "9 to 5", "role": "appUser"})
    data = templates.template_json(t)
    assert data["_id"] == t.id and data["name"] == "Hours"
    assert data["message"] == {"type": "text", "text": "9 to 5"}  # no role stored
    assert [x.id for x in templates.list_templates(app, query="9 TO")] == [t.id]
    assert templates.list_templates(app, query="nothing") == []
    updated = templates.update_template(app, t.id, message={"type": "text", "text": "10 to 6"})
    assert updated.message["text"] == "10 to 6"
    with pytest.raises(Conflict):
        templates.create_template(app, name="Hours", message={"type": "text", "text": "x"})
    with pytest.raises(ServiceError, match="message: "):
        templates.create_template(app, name="Bad", message={"type": "image"})
    templates.delete_template(app, t.id)
    with pytest.raises(NotFound):
        templates.get_template(app, t.id)


@pytest.mark.django_db
def test_it_never_finds_another_apps_template(app, stranger_app):
    theirs = templates.create_template(stranger_app, name="B", message={"type": "text", "text": "b"})
    assert templates.list_templates(app) == []
    with pytest.raises(NotFound):
        templates.get_template(app, theirs.id)
    with pytest.raises(NotFound):
        templates.delete_template(app, theirs.id)


@pytest.mark.django_db
def test_the_canned_replies_page_creates_lists_and_deletes(owner_client, app):
    response = owner_client.post(f"/apps/{app.id}/canned/", {"name": "Hours", "text": "We open at 9."}, **HX)
    assert response.status_code == 200
    t = MessageTemplate.objects.get(app=app)
    assert t.message == {"type": "text", "text": "We open at 9."}
    assert "We open at 9." in owner_client.get(f"/apps/{app.id}/canned/").content.decode()
    again = owner_client.post(f"/apps/{app.id}/canned/", {"name": "Hours", "text": "x"}, **HX)
    assert again.status_code == 422 and "already have a canned reply with this name" in again.content.decode()
    assert owner_client.post(f"/apps/{app.id}/canned/{t.id}/delete/", **HX).status_code == 200
    assert not MessageTemplate.objects.exists()


# -------------------------------------------------------------- composer


@pytest.mark.django_db(transaction=True)
def test_a_note_is_stored_shown_and_never_sent_or_webhooked(owner_client, owner, app, carol):
    Webhook.objects.create(app=app, target="https://hooks.example/h", triggers=["*"])
    response = owner_client.post(url(app, carol, "send/"), {"mode": "note", "text": "VIP, be nice"}, **HX)
    assert response.status_code == 200 and "Note added." in response.content.decode()
    note = Note.objects.get(app_user=carol)
    assert note.text == "VIP, be nice" and note.author_email == owner.email
    assert not Message.objects.filter(app_user=carol).exists()
    assert not Delivery.objects.exists() and not WebhookEvent.objects.exists()
    page = owner_client.get(url(app, carol)).content.decode()
    assert f'id="note-{note.id}"' in page and "visible to your team only" in page


@pytest.mark.django_db
def test_an_empty_note_is_refused_in_words_for_people(owner_client, app, carol):
    response = owner_client.post(url(app, carol, "send/"), {"mode": "note", "text": "  "}, **HX)
    assert response.status_code == 422 and "Write the note first." in response.content.decode()
    assert not Note.objects.exists()


@pytest.mark.django_db
def test_a_canned_reply_with_buttons_sends_its_buttons_with_the_edited_text(owner_client, app, carol):
    t = templates.create_template(app, name="Menu", message={
        "type": "text", "text": "Pick one", "actions": [{"type": "reply", "text": "Tacos", "payload": "TACOS"}]})
    page = owner_client.get(url(app, carol)).content.decode()
    assert f'data-template-id="{t.id}"' in page and 'data-text="Pick one"' in page
    response = owner_client.post(url(app, carol, "send/"), {"type": "text", "text": "Pick one, please",
                                                          "template": t.id}, **HX)
    assert response.status_code == 200, response.content.decode()
    sent = Message.objects.get(app_user=carol)
    assert sent.text == "Pick one, please"
    assert [(a["type"], a["text"], a["payload"]) for a in sent.actions] == [("reply", "Tacos", "TACOS")]


@pytest.mark.django_db
def test_only_the_chosen_types_fields_are_sent(owner_client, app, carol):
    response = owner_client.post(url(app, carol, "send/"), {
        "type": "text", "text": "Plain", "media_url": "https://example.org/stale.png",
        "item_0_title": "Stale", "item_0_action_text": "Stale", "item_0_action_value": "S"}, **HX)
    assert response.status_code == 200
    sent = Message.objects.get(app_user=carol)
    assert sent.type == "text" and not sent.media_url and not sent.items


@pytest.mark.django_db
def test_an_uploaded_image_is_stored_and_sent(owner_client, app, carol, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    upload = SimpleUploadedFile("cat.png", png(), content_type="image/png")
    response = owner_client.post(url(app, carol, "send/"), {"type": "text", "text": "", "image": upload}, **HX)
    assert response.status_code == 200, response.content.decode()
    sent = Message.objects.get(app_user=carol)
    assert sent.type == "image" and sent.media_type == "image/png"
    assert f"/uploads/{app.id}/{carol.id}/" in sent.media_url


@pytest.mark.django_db
def test_a_file_that_is_not_an_image_is_refused_in_words_for_people(owner_client, app, carol, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    upload = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    response = owner_client.post(url(app, carol, "send/"), {"type": "text", "image": upload}, **HX)
    assert response.status_code == 422
    assert "use a JPEG, PNG, GIF or WebP" in response.content.decode()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_api_keeps_its_own_wording(app, carol):
    from messaging.validators import ValidationError, validate_message

    with pytest.raises(ValidationError, match="uri is required"):
        validate_message({"type": "text", "text": "x", "actions": [{"type": "link", "text": "Go"}]},
                         role="appMaker", app_user=carol)


@pytest.mark.django_db
def test_the_counter_knows_each_destinations_limit(owner_client, app, carol):
    make_client(carol, "telegram", external_id="77", minutes_ago=0)
    page = owner_client.get(url(app, carol)).content.decode()
    # Automatic: the most recently seen channel (telegram here) gets the text.
    assert 'data-limits="' in page and "auto=4096" in page and "telegram=4096" in page


# ---------------------------------------------------------------- thread


@pytest.mark.django_db
def test_the_thread_shows_what_the_customer_did(owner_client, app, carol):
    menu = post_message(carol, role="appMaker", fields={
        "type": "text", "text": "Lunch?", "actions": [{"_id": "a1", "type": "postback", "text": "Tacos",
                                                       "payload": "TACOS"}]})
    record_postback(carol, carol.clients.get(), {"_id": "a1", "payload": "TACOS", "text": "Tacos"})
    post_message(carol, role="appUser", fields={"type": "text", "text": "Burritos", "payload": "BURRITOS"},
                 source={"type": "web"})
    post_message(carol, role="appUser", fields={"type": "location", "text": "",
                                                "coordinates": {"lat": 45.5, "long": -73.56}},
                 source={"type": "web"})
    post_message(carol, role="appUser", fields={"type": "image", "text": "", "media_url": "https://example.org/p.png",
                                                "media_type": "image/png"}, source={"type": "web"})
    page = owner_client.get(url(app, carol)).content.decode()
    entry = LogEntry.objects.get(kind="postback")
    assert f'id="pb-{entry.id}"' in page
    assert page.count("picked:") == 2 and "<strong>Tacos</strong>" in page and "<strong>Burritos</strong>" in page
    assert "https://www.openstreetmap.org/?mlat=45.500000&amp;mlon=-73.560000" in page
    assert 'aria-label="Open the image full size"' in page
    # Compact delivery status: an icon per channel with a tooltip, the detail on expand.
    assert f'id="m-{menu.id}"' in page
    assert '<details class="deliveries"' in page and 'title="web: ' in page
    assert page.index(f'id="m-{menu.id}"') < page.index(f'id="pb-{entry.id}"')


@pytest.mark.django_db
def test_the_page_works_when_fetched_by_htmx(owner_client, app, carol):
    response = owner_client.get(url(app, carol), **HX)
    assert response.status_code == 200 and 'id="message-list"' in response.content.decode()


@pytest.mark.django_db
def test_message_fragment_renders_a_message_row(app, carol):
    from dashboard.views.conversations import message_fragment

    message = post_message(carol, role="appMaker", fields={"type": "text", "text": "<i>hi</i>"})
    html = message_fragment(app, carol, message.id)
    assert html.strip().startswith(f'<li id="m-{message.id}"') and "&lt;i&gt;hi&lt;/i&gt;" in html
    assert message_fragment(app, carol, "nope") == ""


def test_png_helper_is_a_png():
    from messaging.services.media import sniff

    assert sniff(io.BytesIO(png()).read(16)) == "png"


@pytest.mark.parametrize("description, words", [
    ("actions[0].uri is required.", "Add a web address starting with https://."),
    ("source is too large: 9 bytes, the limit is 1 bytes.", "That image is too large to send: pick a smaller one."),
    ("source must be a JPEG, PNG, GIF or WebP image (checked by content).", "use a JPEG, PNG, GIF or WebP"),
    ("Something new the API says.", "Something new the API says."),
])
def test_for_people_words_the_apis_refusals(description, words):
    from dashboard.composer_forms import for_people

    assert words in for_people(description)
