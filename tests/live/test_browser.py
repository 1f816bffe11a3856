"""The live dashboard in a real browser on a real server, with a web user on
the SDK websocket: the Log tab updates live, the user ID is copied, the
member types (the user sees typing), sends a text and a carousel, and sees
the delivery go to `read` when the user reads it, without reloading."""

import asyncio
import json
import queue
import threading

import pytest
import requests
from playwright.sync_api import expect

from messaging.models import AppUser, Message
from tests.support.browser import screenshot
from tests.support.live import LiveServer
from tests.support.ws import user_jwt

PASSWORD = "correct horse battery"


class SdkUser:
    """A web user: POST /v1/init, then the SDK websocket (docs/sdk-protocol.md),
    driven from its own thread and event loop (Playwright's sync API owns
    this thread's)."""

    def __init__(self, base_url: str, app_token: str, jwt: str, device_id: str = "browser-test-device"):
        """`jwt`: wendy's appUser JWT, as the app requires (requireUserJwt)."""
        body = requests.post(
            base_url + "/v1/init",
            json={"device": {"id": device_id, "platform": "web"}, "userId": "wendy"},
            headers={"app-token": app_token, "authorization": f"Bearer {jwt}"},
            timeout=10,
        )
        assert body.status_code == 200, body.text
        self.app_user_id = body.json()["appUser"]["_id"]
        self.frames: queue.Queue = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.socket = self._run(self._open(base_url.replace("http://", "ws://") + "/sdk/ws/"))
        self.send({"type": "auth", "appToken": app_token, "appUserId": self.app_user_id, "clientId": device_id,
                   "jwt": jwt})
        assert self.receive_until(lambda f: f["type"] == "ready")

    def _run(self, coroutine, timeout=15):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _open(self, url):
        import websockets

        socket = await websockets.connect(url, open_timeout=10)
        self.loop.create_task(self._read(socket))
        return socket

    async def _read(self, socket):
        try:
            async for raw in socket:
                self.frames.put(json.loads(raw))
        except Exception:
            pass

    def send(self, frame: dict):
        self._run(self.socket.send(json.dumps(frame)))

    def receive_until(self, predicate, timeout=15.0) -> dict:
        import time

        deadline = time.monotonic() + timeout
        seen = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching SDK frame within {timeout}s; saw {seen}")
            try:
                frame = self.frames.get(timeout=remaining)
            except queue.Empty:
                continue
            seen.append(frame)
            if predicate(frame):
                return frame

    def close(self):
        try:
            self._run(self.socket.close(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


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
def member_page(browser, server):
    from playwright.sync_api import expect as expect_

    expect_.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write", "notifications"], origin=server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        try:
            screenshot(page, "live-dashboard-final")
        finally:
            context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_member_follows_and_answers_a_web_user_live(server, member_page, owner, app):
    page = member_page
    page.goto(server.url + "/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()

    # The Log tab, live.
    page.goto(f"{server.url}/apps/{app.id}/log/")
    expect(page.get_by_role("heading", name="Log", exact=True)).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Live")
    sdk = SdkUser(server.url, app.app_token, user_jwt(app, "wendy"))
    try:
        sdk.send({"type": "message", "ref": "r1", "message": {"type": "text", "text": "Hello from the widget"}})
        sdk.receive_until(lambda f: f["type"] == "ack")
        row = page.locator('#log-rows li[data-kind="message:appUser"]').first
        expect(row).to_be_visible()
        expect(row).to_contain_text("wendy")
        screenshot(page, "live-log-new-message")

        # Copy the user's _id with the button.
        copy = row.locator(f'button[data-copy="{sdk.app_user_id}"]')
        copy.click()
        expect(copy).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == sdk.app_user_id
        # The fallback for insecure origins (hidden textarea + execCommand).
        page.evaluate("navigator.clipboard.writeText('')")
        page.evaluate("Object.defineProperty(window, 'isSecureContext', {value: false})")
        user_id_copy = row.locator('button[data-copy="wendy"]')
        user_id_copy.click()
        expect(user_id_copy).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == "wendy"

        # Open the conversation from the log row.
        row.get_by_role("link", name="Conversation").click()
        expect(page.locator("#message-list")).to_contain_text("Hello from the widget")
        expect(page.locator("#live-status")).to_have_text("Live")

        # The user types: the member sees it.
        sdk.send({"type": "typing", "state": "start"})
        expect(page.locator("#typing-indicator")).to_have_text("The user is typing…")
        sdk.send({"type": "typing", "state": "stop"})
        expect(page.locator("#typing-indicator")).to_have_text("")

        # The member types: the user sees typing:start.
        page.get_by_label("Message", exact=True).press_sequentially("Hi Wendy, how can I help?")
        typing = sdk.receive_until(lambda f: f["type"] == "typing")
        assert typing["role"] == "appMaker" and typing["state"] == "start"
        # A pause of a few seconds ends it.
        typing = sdk.receive_until(lambda f: f["type"] == "typing", timeout=10)
        assert typing["state"] == "stop"
        # Typing again starts it again; sending ends it with the message.
        page.get_by_label("Message", exact=True).press_sequentially(" Thanks.")
        assert sdk.receive_until(lambda f: f["type"] == "typing")["state"] == "start"
        page.get_by_role("button", name="Send").click()
        frame = sdk.receive_until(lambda f: f["type"] == "message" and f["message"]["role"] == "appMaker")
        assert frame["message"]["text"] == "Hi Wendy, how can I help? Thanks."
        text_id = frame["message"]["_id"]
        expect(page.locator(f"#m-{text_id}")).to_contain_text("Hi Wendy, how can I help? Thanks.")
        expect(page.locator(f"#m-{text_id} [data-delivery-state]").first).to_have_text("Sent")
        expect(page.locator("#composer")).to_contain_text("Sent.")

        # A carousel with two items.
        page.get_by_label("Message type").select_option("carousel")
        page.get_by_text("Carousel / list items").click()
        page.get_by_label("Item 1 title").fill("Red shoes")
        page.get_by_label("Item 1 button label").fill("Buy red")
        page.get_by_label("Item 1 button link or payload").fill("RED")
        page.get_by_label("Item 2 title").fill("Blue shoes")
        page.get_by_label("Item 2 button type").select_option("link")
        page.get_by_label("Item 2 button label").fill("See blue")
        page.get_by_label("Item 2 button link or payload").fill("https://example.org/blue")
        screenshot(page, "live-composer-carousel")
        page.get_by_role("button", name="Send").click()
        frame = sdk.receive_until(lambda f: f["type"] == "message" and f["message"]["type"] == "carousel")
        carousel_id = frame["message"]["_id"]
        assert [i["title"] for i in frame["message"]["items"]] == ["Red shoes", "Blue shoes"]
        carousel = page.locator(f"#m-{carousel_id}")
        expect(carousel).to_contain_text("Red shoes")
        expect(carousel.locator("[data-delivery-state]").first).to_have_text("Sent")

        # The user reads: both deliveries go to read, in place.
        url_before = page.url
        sdk.send({"type": "read"})
        expect(page.locator(f"#m-{text_id} [data-delivery-state]").first).to_have_text("Read")
        expect(carousel.locator("[data-delivery-state]").first).to_have_text("Read")
        assert page.url == url_before
        screenshot(page, "live-conversation-read")

        # A dropped socket reconnects and catches up.
        page.evaluate("window.parleyLive.drop()")
        sdk.send({"type": "message", "ref": "r2", "message": {"type": "text", "text": "Thanks!"}})
        expect(page.locator("#live-status")).to_have_text("Live")
        expect(page.locator("#message-list")).to_contain_text("Thanks!")

        # Leaving the page while typing stops typing (a beacon on pagehide).
        page.get_by_label("Message", exact=True).press_sequentially("One more")
        assert sdk.receive_until(lambda f: f["type"] == "typing")["state"] == "start"
        page.get_by_role("link", name="Log", exact=True).click()
        assert sdk.receive_until(lambda f: f["type"] == "typing", timeout=2.5)["state"] == "stop"
        page.go_back()
        expect(page.locator("#live-status")).to_have_text("Live")

        # Opt-in browser notifications.
        notify = page.get_by_role("button", name="Enable notifications")
        notify.click()
        expect(page.get_by_role("button", name="Disable notifications")).to_have_attribute("aria-pressed", "true")

        # Tablet width: one column, still usable.
        page.set_viewport_size({"width": 820, "height": 1180})
        expect(page.get_by_role("button", name="Send")).to_be_visible()
        screenshot(page, "live-conversation-tablet")
        assert Message.objects.filter(app_user_id=sdk.app_user_id).count() == 4
        assert AppUser.objects.get(pk=sdk.app_user_id).user_id == "wendy"
    finally:
        sdk.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_new_users_and_unread_counts_appear_on_the_users_page_live(server, member_page, owner, app):
    page = member_page
    page.goto(server.url + "/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{server.url}/apps/{app.id}/users/")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator("#user-list")).to_contain_text("No users yet")
    sdk = SdkUser(server.url, app.app_token, user_jwt(app, "wendy"), device_id="users-page-device")
    try:
        row = page.locator(f"#u-{sdk.app_user_id}")
        expect(row).to_be_visible()
        expect(row).to_contain_text("wendy")
        for n in (1, 2):
            sdk.send({"type": "message", "ref": f"r{n}", "message": {"type": "text", "text": f"ping {n}"}})
            expect(row.locator(".badge.unread")).to_have_text(f"{n} unread")
        expect(row).to_contain_text("web")
        screenshot(page, "live-users-unread")
        # Keyboard: the user's link opens the conversation, which reads it.
        row.get_by_role("link", name="wendy").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#message-list")).to_contain_text("ping 2")
        page.go_back()
        expect(page.locator(f"#u-{sdk.app_user_id} .badge.unread")).to_have_count(0)
        page.get_by_role("link", name="Overview").click()
        expect(page.get_by_role("img", name="Messages per day, bar chart")).to_be_visible()
        screenshot(page, "live-overview")
    finally:
        sdk.close()
