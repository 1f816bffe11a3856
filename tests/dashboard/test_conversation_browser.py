"""The conversation page in a real browser, on a live server and worker,
with a web user on the SDK websocket and a webhook receiver on loopback:

- the composer: the counter (UTF-16 units), Shift+Enter adds a line, Enter
  sends, `/` inserts a canned reply, a pasted image is sent, a note is shown
  to the team and never reaches the user's socket or the webhook, and a
  type's fields left behind are not sent with another type;
- live fragments: one business send costs the page its one POST and a user
  message no request, while the message and its delivery status appear;
- the page scrolled to its end still shows the messages, and the stale
  "Sent." notice goes when the next reply is written.
"""

import base64
import re

import pytest
from playwright.sync_api import expect

from messaging.models import LogEntry, Message, Webhook
from messaging.services import templates
from messaging.services.messages import post_message
from messaging.services.postbacks import record_postback
from tests.live.test_browser import SdkUser
from tests.support.browser import log_in, screenshot
from tests.support.live import LiveServer, wait_until
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.ws import user_jwt

# A 1x1 PNG, pasted as a file.
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


@pytest.fixture
def fast_password_hashing():
    """The live server checks passwords with the real hashers."""


@pytest.fixture
def server():
    server = LiveServer(worker=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def agent_page(browser, server):
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        try:
            screenshot(page, "conversation-final")
        finally:
            context.close()


class Requests:
    """The requests the page makes to Parley for its content: documents,
    fetch and XHR (htmx), the kind that refetch parts and may write. The
    websocket is not one; images (an avatar from Gravatar, a thumbnail)
    are the browser loading what the fragment shows, counted apart."""

    def __init__(self, page, base_url):
        self.urls = []
        self.images = []

        def record(request):
            if request.resource_type == "image":
                self.images.append(request.url)
            elif request.url.startswith(base_url) and request.resource_type in ("document", "fetch", "xhr"):
                self.urls.append((request.method, request.url))

        page.on("request", record)

    def since(self, mark):
        return self.urls[mark:]


def composer_text(page):
    return page.get_by_label("Message", exact=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_agent_replies_inserts_a_canned_reply_adds_a_note_and_pastes_an_image(server, agent_page, owner, app,
                                                                                receiver):
    page = agent_page
    Webhook.objects.create(app=app, target=receiver.url + "/hook", triggers=["*"])
    templates.create_template(app, name="Opening hours", message={"type": "text", "text": "We open at 9."})
    sdk = SdkUser(server.url, app.app_token, user_jwt(app, "wendy"))
    try:
        wendy = sdk.app_user_id
        from messaging.models import AppUser

        user = AppUser.objects.get(pk=wendy)
        # A long history: the page scrolls.
        for i in range(24):
            post_message(user, role="appUser", fields={"type": "text", "text": f"Earlier message {i}"},
                         source={"type": "web"})
        log_in(page, server.url, owner)
        requests = Requests(page, server.url)
        page.goto(f"{server.url}/apps/{app.id}/users/{wendy}/")
        expect(page.locator("#live-status")).to_have_text("Live")

        # The page scrolled to its end still shows messages (no hidden
        # caption stretching it past the list).
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        expect(page.locator("#message-list")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollHeight") < 3 * page.viewport_size["height"]
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # The counter counts UTF-16 units, as the platforms do.
        box = composer_text(page)
        box.click()
        box.press_sequentially("Hi 😀")
        expect(page.locator("#composer-counter")).to_have_text("5 characters")
        # Shift+Enter adds a line; Enter sends.
        box.press("Shift+Enter")
        box.press_sequentially("Line two")
        assert box.input_value() == "Hi 😀\nLine two"
        mark = len(requests.urls)
        box.press("Enter")
        frame = sdk.receive_until(lambda f: f["type"] == "message" and f["message"]["role"] == "appMaker")
        assert frame["message"]["text"] == "Hi 😀\nLine two"
        sent_id = frame["message"]["_id"]
        sender = frame["message"].get("name")
        row = page.locator(f"#m-{sent_id}")
        expect(row).to_contain_text("Line two")
        expect(row.locator("[data-delivery-state]").first).to_have_text("Sent")
        expect(row.locator(".state-icon").first).to_have_attribute("title", "web: Sent")
        expect(page.locator("#composer")).to_contain_text("Sent.")
        # One business send: the POST and nothing else.
        assert [m for m, u in requests.since(mark)] == ["POST"], requests.since(mark)
        assert requests.since(mark)[0][1].endswith(f"/users/{wendy}/send/")

        # A user message: no request at all.
        mark = len(requests.urls)
        sdk.send({"type": "message", "ref": "r1", "message": {"type": "text", "text": "Thanks, and the hours?"}})
        expect(page.locator("#message-list")).to_contain_text("Thanks, and the hours?")
        assert requests.since(mark) == []

        # `/` opens the canned replies; typing filters; Enter inserts.
        box = composer_text(page)
        box.press_sequentially("/hours")
        # Writing the next reply clears the stale notice.
        expect(page.locator("#composer .notice")).to_have_count(0)
        picker = page.locator("#canned-picker")
        expect(picker).to_be_visible()
        expect(picker.get_by_role("option", name="Opening hours")).to_be_visible()
        screenshot(page, "conversation-canned-picker")
        box.press("Enter")
        expect(picker).to_be_hidden()
        assert box.input_value() == "We open at 9."
        box.press("Enter")
        frame = sdk.receive_until(lambda f: f["type"] == "message" and f["message"]["role"] == "appMaker")
        assert frame["message"]["text"] == "We open at 9."
        # The fresh composer is in (htmx swapped it) before the next step.
        expect(page.locator("#composer .notice")).to_have_text("Sent.")

        # A private note: in the thread, marked, never sent.
        page.get_by_role("radio", name="Note").check()
        expect(page.locator("#composer-send")).to_have_text("Add note")
        starts = LogEntry.objects.filter(kind="typing:appMaker", detail__state="start").count()
        box = composer_text(page)
        box.press_sequentially("Wendy is a VIP")
        box.press("Enter")
        note = page.locator("#message-list li.msg-note")
        expect(note).to_contain_text("Wendy is a VIP")
        expect(note).to_contain_text("visible to your team only")
        screenshot(page, "conversation-note")
        # Writing a note never shows the user anyone typing.
        assert LogEntry.objects.filter(kind="typing:appMaker", detail__state="start").count() == starts

        # Back to replying: an image URL left under another type is not sent.
        expect(page.locator("#composer .notice")).to_have_text("Note added.")
        page.get_by_role("radio", name="Reply").check()
        page.get_by_label("Message type").select_option("image")
        page.get_by_label("Image URL", exact=True).fill("https://example.org/stale.png")
        page.get_by_label("Message type").select_option("text")
        expect(page.get_by_label("Image URL", exact=True)).to_be_disabled()
        box = composer_text(page)
        box.press_sequentially("Plain again")
        box.press("Enter")
        frame = sdk.receive_until(lambda f: f["type"] == "message" and f["message"]["role"] == "appMaker")
        assert frame["message"]["text"] == "Plain again" and frame["message"]["type"] == "text"
        assert frame["message"].get("name") == sender  # a note in between keeps the sender
        # The user's socket never heard the note.
        assert "Wendy is a VIP" not in str(frame)
        expect(page.locator("#composer .notice")).to_have_text("Sent.")

        # Paste an image into the message, then send it.
        composer_text(page).focus()
        page.evaluate("""(b64) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "shot.png", { type: "image/png" }));
          const area = document.querySelector("#composer-form textarea[name=text]");
          area.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
        }""", PNG_B64)
        expect(page.locator("#paste-status")).to_contain_text("shot.png")
        composer_text(page).press("Enter")
        frame = sdk.receive_until(lambda f: f["type"] == "message" and f["message"]["role"] == "appMaker")
        assert frame["message"]["type"] == "image"
        image_row = page.locator(f"#m-{frame['message']['_id']}")
        expect(image_row.get_by_role("link", name="Open the image full size")).to_have_attribute(
            "href", frame["message"]["mediaUrl"])
        screenshot(page, "conversation-image")

        # The thread shows what the customer did, live: a postback as
        # "picked:", a location as a map link.
        post_message(user, role="appMaker", fields={"type": "text", "text": "Lunch?", "actions": [
            {"_id": "tacos-button", "type": "postback", "text": "Tacos", "payload": "TACOS"}]})
        record_postback(user, user.clients.get(), {"_id": "tacos-button", "payload": "TACOS"})
        expect(page.locator("#message-list li.msg-postback")).to_contain_text("picked: Tacos")
        sdk.send({"type": "message", "ref": "r2", "message": {"type": "location",
                                                              "coordinates": {"lat": 45.5, "long": -73.56}}})
        expect(page.get_by_role("link", name=re.compile("Location: 45.5, -73.56"))).to_have_attribute(
            "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=45\.500000"))
        screenshot(page, "conversation-thread")

        # At a phone's width nothing overflows sideways (the user ID wraps).
        page.set_viewport_size({"width": 390, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "conversation-390")

        # The webhook heard the replies and never the note.
        wait_until(lambda: any("Plain again" in r.body.decode() for r in receiver.received()), timeout=15)
        assert all("Wendy is a VIP" not in r.body.decode() for r in receiver.received())
        assert Message.objects.filter(app_user_id=wendy, text__contains="VIP").count() == 0
    finally:
        sdk.close()


def test_the_pasted_png_is_a_png():
    from messaging.services.media import sniff

    assert sniff(base64.b64decode(PNG_B64)[:16]) == "png"
