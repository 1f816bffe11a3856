"""The Web Messenger in a real browser (Debian's Chromium) on a real Parley
server: a visitor on the demo page talks with the business, which answers
through the REST API."""

import json
import re

import pytest
import requests
from playwright.sync_api import expect

from messaging.models import AppUser, Delivery, Integration, LogEntry, Message
from tests.support.browser import screenshot
from tests.support.live import LiveServer, wait_until
from tests.widget.conftest import PNG, Business

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live():
    """A Parley server (daphne with its task worker) on the test database.
    One per test: it stops before the test's data is flushed, so no worker
    query holds a lock the flush's TRUNCATE waits for."""
    server = LiveServer(worker=True)
    try:
        yield server
    finally:
        server.stop()


def open_demo(page, live, app):
    page.goto(f"{live.url}/demo/{app.id}/")
    page.wait_for_function("() => window.Parley && Parley.getUser()")
    return page.evaluate("Parley.getUser()._id")


def widget_log(page):
    return page.get_by_role("log", name="Conversation")


def composer(page):
    return page.get_by_label("Type a message")


def user_messages(app_user_id, text):
    return Message.objects.filter(app_user_id=app_user_id, role="appUser", text=text)


@pytest.mark.smoke
def test_a_visitor_chats_from_the_demo_page(live, page, app, client, owner):
    app_user_id = open_demo(page, live, app)
    page.get_by_role("button", name="Open chat with App A").click()
    expect(page.get_by_role("dialog", name="App A")).to_be_visible()
    expect(composer(page)).to_be_focused()
    composer(page).fill("Hello there")
    composer(page).press("Enter")
    expect(widget_log(page).locator(".pm-appUser", has_text="Hello there")).to_contain_text("Sent")
    wait_until(lambda: user_messages(app_user_id, "Hello there").exists(), message="the visitor's message")

    Business(live.url, app).send(app_user_id, text="Hi! How can we help?", name="Ana")
    expect(widget_log(page).locator(".pm-appMaker", has_text="Hi! How can we help?")).to_contain_text("Ana")
    screenshot(page, "widget-demo-smoke")

    # A member opens the conversation in the dashboard: the visitor sees "Read".
    client.force_login(owner)
    response = requests.get(f"{live.url}/apps/{app.id}/users/{app_user_id}/", timeout=10,
                            cookies={"sessionid": client.cookies["sessionid"].value}, allow_redirects=False)
    assert response.status_code == 200
    expect(widget_log(page).locator(".pm-appUser", has_text="Hello there")).to_contain_text("Read")


def test_a_conversation_with_typing_images_replies_carousel_and_reads(live, page, app):
    app.settings = {"widget": {"name": "Acme Support", "greeting": "Ask us anything", "accentColor": "#aa3300"}}
    app.save()
    business = Business(live.url, app)
    app_user_id = open_demo(page, live, app)
    launcher = page.get_by_role("button", name=re.compile("^Open chat with Acme Support"))
    launcher.click()
    log = widget_log(page)
    expect(log).to_contain_text("Ask us anything")
    composer(page).fill("I have a question")
    page.get_by_role("button", name="Send", exact=True).click()
    wait_until(lambda: user_messages(app_user_id, "I have a question").exists(), message="user message")

    image = business.image(app_user_id)
    expect(log.locator(f'[data-id="{image["_id"]}"] img.pm-image')).to_have_attribute("src", image["mediaUrl"])
    wait_until(
        lambda: page.evaluate(
            "id => { const img = document.querySelector('#parley-messenger').shadowRoot"
            ".querySelector(`[data-id='${id}'] img.pm-image`); return img && img.complete && img.naturalWidth > 0 }",
            image["_id"],
        ),
        message="the image loaded",
    )

    # The business types: the visitor sees it, then the message ends it.
    business.typing(app_user_id, "start", name="Bob")
    typing = page.locator(".pm-typing")
    expect(typing).to_contain_text("Bob is typing")
    screenshot(page, "widget-typing")
    text = business.send(
        app_user_id, text="Sure, see https://acme.example/help.", name="Bob", avatarUrl=image["mediaUrl"],
    )
    expect(typing).to_be_hidden()
    bubble = log.locator(f'[data-id="{text["_id"]}"]')
    expect(bubble).to_contain_text("Sure, see https://acme.example/help.")
    expect(bubble.locator(".pm-name")).to_have_text("Bob")
    expect(bubble.locator("img.pm-avatar")).to_have_attribute("src", image["mediaUrl"])
    expect(bubble.get_by_role("link", name="https://acme.example/help")).to_have_attribute(
        "href", "https://acme.example/help"
    )

    carousel = business.send(
        app_user_id, type="carousel", name="Ana",
        items=[
            {"title": "Red shoes", "description": "Size 38-44", "mediaUrl": image["mediaUrl"],
             "actions": [{"type": "postback", "text": "Pick red", "payload": "RED"},
                         {"type": "link", "text": "Details", "uri": "https://acme.example/red"}]},
            {"title": "Blue shoes", "description": "Size 36-42",
             "actions": [{"type": "postback", "text": "Pick blue", "payload": "BLUE"}]},
        ],
    )
    cards = log.locator(f'[data-id="{carousel["_id"]}"] .pm-card')
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Red shoes")
    expect(cards.nth(1)).to_contain_text("Size 36-42")
    expect(cards.nth(0).get_by_role("link", name="Details")).to_have_attribute("href", "https://acme.example/red")

    business.send(
        app_user_id, text="Shall we call you?", name="Ana",
        actions=[{"type": "reply", "text": "Yes please", "payload": "CALL_YES"},
                 {"type": "reply", "text": "No thanks", "payload": "CALL_NO"}],
    )
    replies = page.get_by_role("group", name="Quick replies")
    expect(replies.get_by_role("button")).to_have_count(2)
    screenshot(page, "widget-conversation")

    # The delivery of each business message reaches `read` (widget open, tab visible).
    wait_until(
        lambda: Delivery.objects.filter(message__app_user_id=app_user_id, message__role="appMaker")
        .exclude(state="read").count() == 0
        and Delivery.objects.filter(message__app_user_id=app_user_id).count() >= 4,
        message="every delivery read",
    )
    assert AppUser.objects.get(pk=app_user_id).unread_count == 0

    # A quick reply: a user message with its payload (and the log entry).
    replies.get_by_role("button", name="Yes please").click()
    expect(replies.get_by_role("button")).to_have_count(0)
    reply = wait_until(
        lambda: Message.objects.filter(app_user_id=app_user_id, role="appUser", payload="CALL_YES").first(),
        message="the reply message",
    )
    assert reply.text == "Yes please"
    entry = wait_until(
        lambda: LogEntry.objects.filter(app=app, kind="message:appUser", detail__message__payload="CALL_YES").first(),
        message="the message:appUser log entry",
    )
    assert entry.detail["message"]["_id"] == reply.id
    expect(log.locator(".pm-appUser", has_text="Yes please")).to_contain_text("Sent")

    # A postback button in the carousel.
    cards.nth(1).get_by_role("button", name="Pick blue").click()
    postback = wait_until(
        lambda: LogEntry.objects.filter(app=app, kind="postback").first(), message="the postback"
    )
    assert postback.detail["action"]["payload"] == "BLUE"

    # Closed widget: a new message shows on the launcher's badge, and is read on opening.
    page.get_by_role("button", name="Close chat").click()
    expect(launcher).to_be_focused()
    business.send(app_user_id, text="One more thing", name="Ana")
    expect(page.locator(".pm-badge")).to_have_text("1")
    expect(launcher).to_have_accessible_name("Open chat with Acme Support (1 unread)")
    screenshot(page, "widget-badge")
    launcher.click()
    expect(page.locator(".pm-badge")).to_be_hidden()
    wait_until(lambda: AppUser.objects.get(pk=app_user_id).unread_count == 0, message="read on open")

    # A reload keeps the visitor and the whole conversation.
    page.reload()
    assert open_demo(page, live, app) == app_user_id
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    for content in ("I have a question", "Sure, see", "Red shoes", "Yes please", "One more thing"):
        expect(log).to_contain_text(content)
    expect(log.locator(f'[data-id="{image["_id"]}"] img.pm-image')).to_be_visible()
    assert Message.objects.filter(app_user_id=app_user_id, role="appUser").count() == 2
    page.set_viewport_size({"width": 375, "height": 667})
    expect(page.get_by_role("dialog")).to_have_css("width", "375px")
    screenshot(page, "widget-phone")


class FlakyNetwork:
    """Routes the SDK websocket through Playwright so the test can drop it
    for real (both sides closed) and refuse reconnections while down."""

    def __init__(self, page_or_context):
        self.down = False
        self.lose_acks = False
        self.routes = []
        page_or_context.route_web_socket(re.compile(r"/sdk/ws/$"), self.handle)

    def handle(self, ws):
        if self.down:
            ws.close()
            return
        server = ws.connect_to_server()
        server.on_message(lambda message: self.to_page(ws, message))
        self.routes.append((ws, server))

    def to_page(self, ws, message):
        """Forward a server frame, unless it would tell the page that its own
        message was stored (the ack, or the same message echoed)."""
        if self.lose_acks:
            frame = json.loads(message)
            echoed = frame["type"] == "message" and frame["message"]["role"] == "appUser"
            if frame["type"] == "ack" or echoed:
                return
        ws.send(message)

    def drop(self):
        self.down = True
        for ws, server in self.routes:
            server.close()
            ws.close()
        self.routes = []

    def restore(self):
        self.down = False


def test_nothing_is_lost_offline_and_the_queue_survives_a_reload(live, page, app):
    network = FlakyNetwork(page)
    business = Business(live.url, app)
    app_user_id = open_demo(page, live, app)
    page.get_by_role("button", name="Open chat with App A").click()
    log = widget_log(page)
    composer(page).fill("Before the drop")
    composer(page).press("Enter")
    expect(log.locator(".pm-appUser", has_text="Before the drop")).to_contain_text("Sent")

    # The connection drops: the business answers meanwhile, the visitor types.
    network.drop()
    page.context.set_offline(True)
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    missed = business.send(app_user_id, text="Sent while you were away")
    composer(page).fill("Typed while offline")
    composer(page).press("Enter")
    pending = log.locator(".pm-pending", has_text="Typed while offline")
    expect(pending).to_contain_text("Waiting for network")
    assert not user_messages(app_user_id, "Typed while offline").exists()
    screenshot(page, "widget-offline")

    # Back online: the missed message arrives (auth with `since`), the queued one is sent once.
    network.restore()
    page.context.set_offline(False)
    expect(log.locator(f'[data-id="{missed["_id"]}"]')).to_contain_text("Sent while you were away")
    expect(log.locator(".pm-appUser", has_text="Typed while offline")).to_contain_text("Sent")
    expect(pending).to_have_count(0)
    wait_until(lambda: user_messages(app_user_id, "Typed while offline").exists(), message="queued message")
    wait_until(lambda: Delivery.objects.filter(message_id=missed["_id"], state="read").exists(),
               message="the missed message read")

    # Stored, but the ack is lost with the connection: not sent twice (`ref`).
    network.lose_acks = True
    composer(page).fill("Ack lost")
    composer(page).press("Enter")
    wait_until(lambda: user_messages(app_user_id, "Ack lost").exists(), message="stored without an ack")
    expect(log.locator(".pm-pending", has_text="Ack lost")).to_contain_text("Sending")
    network.drop()
    network.lose_acks = False
    network.restore()
    expect(log.locator(".pm-appUser", has_text="Ack lost")).to_contain_text("Sent")
    expect(log.locator(".pm-pending")).to_have_count(0)

    # Down again; the message typed now waits in localStorage across a reload.
    network.drop()
    composer(page).fill("Queued across a reload")
    composer(page).press("Enter")
    expect(log.locator(".pm-pending", has_text="Queued across a reload")).to_be_visible()
    page.reload()
    open_demo(page, live, app)
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(log.locator(".pm-pending", has_text="Queued across a reload")).to_contain_text("Waiting for network")
    network.restore()
    expect(log.locator(".pm-appUser", has_text="Queued across a reload")).to_contain_text("Sent")
    wait_until(lambda: user_messages(app_user_id, "Queued across a reload").exists(), message="after reload")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':queue')).length") == 0
    for text in ("Before the drop", "Typed while offline", "Ack lost", "Queued across a reload"):
        assert user_messages(app_user_id, text).count() == 1, text


def test_two_tabs_share_the_conversation_and_send_a_queued_message_once(live, page, app):
    network = FlakyNetwork(page.context)
    first = page
    second = page.context.new_page()
    app_user_id = open_demo(first, live, app)
    assert open_demo(second, live, app) == app_user_id  # same browser, same visitor
    for tab in (first, second):
        tab.get_by_role("button", name="Open chat with App A").click()
    composer(first).fill("From the first tab")
    composer(first).press("Enter")
    expect(widget_log(second)).to_contain_text("From the first tab")

    network.drop()
    composer(first).fill("Queued in the first tab")
    composer(first).press("Enter")
    expect(first.locator(".pm-pending", has_text="Queued in the first tab")).to_be_visible()
    second.reload()  # another tab starting meanwhile leaves the first tab's queue alone
    open_demo(second, live, app)
    second.get_by_role("button", name="Open chat with App A").click()
    expect(widget_log(second).locator(".pm-pending")).to_have_count(0)
    network.restore()
    for tab in (first, second):
        expect(widget_log(tab).locator(".pm-appUser", has_text="Queued in the first tab")).to_contain_text("Sent")
    wait_until(lambda: user_messages(app_user_id, "Queued in the first tab").exists(), message="queued message")
    assert user_messages(app_user_id, "Queued in the first tab").count() == 1
    assert user_messages(app_user_id, "From the first tab").count() == 1
    second.close()


PAYLOAD = '<img src=x onerror="window.__pwned=1">'
JS_URL = "javascript:window.__pwned=1"


def in_thread(fn, *args, **kwargs):
    """Run Django code that publishes events (async_to_sync) away from the
    event loop Playwright's sync API keeps in the test thread."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def test_nothing_from_the_data_is_ever_run_as_code(live, page, app):
    from messaging.services import messages

    def post_message(app_user, **kwargs):
        return in_thread(messages.post_message, app_user, **kwargs)

    app.settings = {"widget": {"name": "Shop " + PAYLOAD, "greeting": "Hi " + PAYLOAD, "iconUrl": JS_URL}}
    app.save()
    Integration.objects.create(app=app, type="stripe")  # post_message refuses buy actions without one
    app_user_id = open_demo(page, live, app)
    app_user = AppUser.objects.get(pk=app_user_id)
    action = lambda kind, **extra: {"_id": f"a-{kind}", "type": kind, "text": f"{kind} {PAYLOAD}", **extra}  # noqa: E731
    common = {"name": "Agent " + PAYLOAD, "avatar_url": JS_URL}
    post_message(app_user, role="appMaker", fields={
        **common, "type": "text", "text": "Text " + PAYLOAD + " https://ok.example/\"><img src=x onerror=alert(1)>",
        "actions": [action("link", uri=JS_URL), action("buy", uri=JS_URL, amount=100),
                    action("postback", payload="P"), action("share")],
    })
    post_message(app_user, role="appMaker", fields={**common, "type": "image", "text": "Caption " + PAYLOAD,
                                                    "media_url": JS_URL})
    item = lambda n: {  # noqa: E731
        "_id": f"i{n}", "title": f"Title{n} {PAYLOAD}", "description": f"Desc{n} {PAYLOAD}", "mediaUrl": JS_URL,
        "actions": [action("link", uri=JS_URL), action("postback", payload="P")],
    }
    post_message(app_user, role="appMaker", fields={**common, "type": "carousel", "items": [item(1), item(2)]})
    post_message(app_user, role="appMaker", fields={**common, "type": "list", "items": [item(3)],
                                                    "actions": [action("link", uri=" " + JS_URL)]})
    post_message(app_user, role="appMaker", fields={
        **common, "type": "text", "text": "Choose " + PAYLOAD,
        "actions": [action("reply", payload="R", iconUrl=JS_URL), action("locationRequest")],
    })
    page.reload()
    page.wait_for_function("() => window.Parley && Parley.getUser()")
    page.get_by_role("button", name=re.compile("^Open chat with Shop")).click()
    log = widget_log(page)
    for literal in ("Text " + PAYLOAD, "Caption " + PAYLOAD, "Title1 " + PAYLOAD, "Desc2 " + PAYLOAD,
                    "Title3 " + PAYLOAD, "Agent " + PAYLOAD, "link " + PAYLOAD, "buy " + PAYLOAD,
                    "postback " + PAYLOAD, "Hi " + PAYLOAD, "Choose " + PAYLOAD):
        expect(log).to_contain_text(literal)
    expect(page.get_by_role("dialog").get_by_role("heading", name="Shop " + PAYLOAD)).to_be_visible()
    expect(page.get_by_role("button", name="reply " + PAYLOAD)).to_be_visible()
    expect(page.get_by_role("button", name="locationRequest " + PAYLOAD)).to_be_visible()
    screenshot(page, "widget-xss")
    # Click everything clickable that came from the data.
    for button in page.locator(".pm-btn").all():
        button.click()
    found = page.evaluate("""() => {
        const root = document.querySelector('#parley-messenger').shadowRoot;
        const urls = [...root.querySelectorAll('[href], [src]')].map(e => e.getAttribute('href') || e.getAttribute('src'));
        return {urls, scripts: root.querySelectorAll('script').length + document.querySelectorAll('img[src="x"]').length,
                badImages: root.querySelectorAll('img[src="x"]').length, pwned: window.__pwned === undefined ? null : window.__pwned};
    }""")
    assert found["pwned"] is None
    assert found["scripts"] == 0 and found["badImages"] == 0
    assert found["urls"] and all(re.match(r"https?://", url) for url in found["urls"]), found["urls"]
    assert page.evaluate("window.__pwned") is None


def test_a_refused_origin_shows_a_clear_error(live, page, app):
    app.settings = {"allowedOrigins": ["https://shop.example"]}
    app.save()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live.url}/demo/{app.id}/")
    expect(page.get_by_role("alert")).to_contain_text("not allowed to embed this app")
    assert any("init refused" in text and "allowed origins" in text for text in errors), errors
    expect(page.locator("#parley-messenger")).to_have_count(0)


def test_login_merges_the_conversation_and_logout_clears_it(live, page, app):
    import jwt

    token = jwt.encode({"scope": "appUser", "userId": "alice"}, app.test_secret, algorithm="HS256",
                       headers={"kid": app.test_key.key_id})
    anonymous_id = open_demo(page, live, app)
    page.get_by_role("button", name="Open chat with App A").click()
    composer(page).fill("Before logging in")
    composer(page).press("Enter")
    log = widget_log(page)
    expect(log.locator(".pm-appUser", has_text="Before logging in")).to_contain_text("Sent")

    user = page.evaluate("([id, jwt]) => Smooch.login(id, jwt)", ["alice", token])
    alice = AppUser.objects.get(app=app, user_id="alice")
    assert user["_id"] == alice.id and user["userId"] == "alice"
    expect(log).to_contain_text("Before logging in")  # merged into alice's conversation
    assert Message.objects.filter(app_user=alice, text="Before logging in").exists()
    assert page.evaluate("Smooch.isOpened()") is True
    composer(page).fill("Logged in now")
    composer(page).press("Enter")
    expect(log.locator(".pm-appUser", has_text="Logged in now")).to_contain_text("Sent")
    assert Message.objects.filter(app_user=alice, text="Logged in now").exists()
    assert page.evaluate("Smooch.getConversation().messages.length") == 2

    after = page.evaluate("Smooch.logout()")
    assert "userId" not in after and after["_id"] not in (alice.id, anonymous_id)
    expect(log.locator(".pm-msg")).to_have_count(0)
    assert page.evaluate("Smooch.getConversation().messages.length") == 0
    page.reload()
    assert open_demo(page, live, app) == after["_id"]  # still the new anonymous user


def test_history_pages_load_on_scroll(live, page, app):
    from datetime import timedelta

    from django.utils import timezone

    app_user_id = open_demo(page, live, app)
    AppUser.objects.filter(pk=app_user_id).update(conversation_started=True)
    start = timezone.now() - timedelta(hours=2)
    Message.objects.bulk_create(
        Message(app=app, app_user_id=app_user_id, role="appMaker", text=f"Old message {n}",
                received=start + timedelta(seconds=n))
        for n in range(105)
    )
    page.reload()
    page.wait_for_function("() => window.Parley && Parley.getUser()")
    page.get_by_role("button", name="Open chat with App A").click()
    log = widget_log(page)
    expect(log.locator(".pm-msg")).to_have_count(100)
    expect(log.locator(".pm-msg").first).to_contain_text("Old message 5")
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    expect(log.locator(".pm-msg")).to_have_count(105)
    expect(log.locator(".pm-msg").first).to_contain_text("Old message 0")
    expect(page.get_by_role("button", name="Load earlier messages")).to_be_hidden()


EMBED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<style>body { font-family: serif; color: #c00 } button { all: unset }</style></head>
<body><h1>The shop</h1>
<script src="%(parley)s/static/parley/messenger.js"></script>
<script>
  window.events = [];
  for (const name of ["ready", "message:received", "message:sent", "unreadCount", "typing:start", "typing:stop"]) {
    Smooch.on(name, (arg) => events.push([name, arg && arg.text !== undefined ? arg.text : arg]));
  }
  Smooch.init({appToken: "%(token)s"}).then((user) => { window.initUser = user; });
</script></body></html>"""


@pytest.fixture
def shop_site():
    """A business's own site on another origin (another port): serves one
    page, set by the test, at /shop.html."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = server.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.page = ""
    server.url = f"http://127.0.0.1:{server.server_port}"
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_it_works_embedded_on_another_origin_with_the_smooch_api(live, page, app, shop_site):
    """A shop's page on another origin loads the script from Parley: API base
    from the script's src, CORS, the socket, allowed origins, and handlers
    registered before init."""
    app.settings = {"allowedOrigins": [shop_site.url]}
    app.save()
    shop_site.page = EMBED_PAGE % {"parley": live.url, "token": app.app_token}
    page.goto(f"{shop_site.url}/shop.html")
    page.wait_for_function("() => window.initUser")
    user = page.evaluate("Smooch.getUser()")
    assert AppUser.objects.filter(app=app, pk=user["_id"]).exists()
    assert page.evaluate("Smooch.isOpened()") is False

    sent = page.evaluate("Smooch.sendMessage('Hello from the shop')")
    assert sent["text"] == "Hello from the shop" and sent["role"] == "appUser"
    assert Message.objects.filter(app_user_id=user["_id"], text="Hello from the shop").exists()

    business = Business(live.url, app)
    business.typing(user["_id"], "start")
    page.wait_for_function("() => events.some(e => e[0] === 'typing:start')")
    business.send(user["_id"], text="Welcome to the shop")
    expect(page.locator(".pm-badge")).to_have_text("1")  # closed widget: unread
    page.evaluate("Smooch.open()")
    expect(page.get_by_role("log", name="Conversation")).to_contain_text("Welcome to the shop")
    expect(page.locator(".pm-badge")).to_be_hidden()
    page.wait_for_function("() => events.some(e => e[0] === 'unreadCount' && e[1] === 0 && "
                           "events.findIndex(x => x[0] === 'message:received') >= 0)")
    events = page.evaluate("events")
    names = [name for name, _ in events]
    assert "ready" in names
    assert ["message:sent", "Hello from the shop"] in events
    assert ["message:received", "Welcome to the shop"] in events
    assert names.index("typing:start") < names.index("typing:stop") <= names.index("message:received") + 1
    assert ["unreadCount", 1] in events
    # The page's own styles do not leak into the widget (shadow DOM).
    assert page.locator(".pm-title").evaluate("el => getComputedStyle(el).fontFamily") != "serif"
    conversation = page.evaluate("Smooch.getConversation()")
    assert [m["text"] for m in conversation["messages"]][:2] == ["Hello from the shop", "Welcome to the shop"]
    # The visitor sends an image (multipart upload, cross-origin).
    expect(page.get_by_role("button", name="Send an image")).to_be_visible()
    page.locator("input.pm-file").set_input_files(files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG}])
    photo = wait_until(
        lambda: Message.objects.filter(app_user_id=user["_id"], role="appUser", type="image").first(),
        message="the visitor's image",
    )
    assert photo.media_url.startswith(live.url + "/media/")
    expect(page.locator(f'[data-id="{photo.id}"] img.pm-image')).to_have_attribute("src", photo.media_url)
    expect(page.locator(".pm-pending")).to_have_count(0)

    # A locationRequest: the browser's position, sent as a location message.
    page.context.grant_permissions(["geolocation"], origin=shop_site.url)
    page.context.set_geolocation({"latitude": 45.5017, "longitude": -73.5673})
    business.send(user["_id"], text="Where are you?",
                  actions=[{"type": "locationRequest", "text": "Share my location"}])
    page.get_by_role("group", name="Quick replies").get_by_role("button", name="Share my location").click()
    location = wait_until(
        lambda: Message.objects.filter(app_user_id=user["_id"], role="appUser", type="location").first(),
        message="the location message",
    )
    assert location.coordinates == {"lat": 45.5017, "long": -73.5673}
    expect(page.locator(f'[data-id="{location.id}"]').get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^https://maps\.google\.com/maps\?q=45\.5017,-73\.5673")
    )

    # A message the server refuses: failed, with its reason, and a retry button.
    error = page.evaluate("Smooch.sendMessage({text: 'Refused', mediaUrl: 'https://a.example/x.png'})"
                          ".catch(error => error.message)")
    assert "mediaUrl is only allowed in image messages" in error
    refused = page.locator(".pm-pending", has_text="Refused")
    expect(refused).to_contain_text("Not delivered.")
    refused.get_by_role("button", name="Retry").click()
    expect(refused.get_by_role("button", name="Retry")).to_be_visible()
    assert not Message.objects.filter(text="Refused").exists()

    updated = page.evaluate("Smooch.updateUser({givenName: 'Ada', properties: {plan: 'gold'}})")
    assert updated["givenName"] == "Ada" and updated["properties"] == {"plan": "gold"}
    assert AppUser.objects.get(pk=user["_id"]).given_name == "Ada"
    page.evaluate("Smooch.destroy()")
    expect(page.locator("#parley-messenger")).to_have_count(0)
