"""An agent's day in the inbox, in real browsers on a live server and worker:
two agents signed in; a web visitor (on the SDK websocket) and a user on a
platform channel (the test-only fake channel, its inbound webhook signed)
write in. Agent A takes the visitor's conversation from Unassigned (agent
B's Unassigned view follows live), replies with Enter, inserts a canned
reply, adds a private note (which reaches neither the visitor's socket nor
the webhook receiver), and resolves it; the visitor writes again and it
reopens. A snooze with a short time wakes on its own. Then the same path
with the keyboard only."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import AppUser, ConversationStatus, Integration, Membership, Note, Webhook, WebhookEvent
from messaging.services import templates
from tests.live.test_browser import SdkUser
from tests.support.browser import log_in
from tests.support.fake_platform import FakePlatform
from tests.support.live import LiveServer, wait_until
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.ws import user_jwt

NOTE = "Wendy is a VIP, refund her shipping"


@pytest.fixture
def fast_password_hashing():
    """The live server checks passwords with the real hashers."""


@pytest.fixture
def world():
    platform, receiver = FakePlatform(), WebhookReceiver()
    server = LiveServer(worker=True, PARLEY_FAKE_API_BASE=platform.url)
    try:
        yield server, platform, receiver
    finally:
        server.stop()
        platform.close()
        receiver.close()


def write_from_the_platform(server, integration, event_id, text):
    """The fake platform posts a user's message to Parley, signed as it signs."""
    body = json.dumps({"events": [{"id": event_id, "kind": "message", "externalId": "chat-9",
                                   "data": {"text": text, "displayName": "Pat Platform"}}]}).encode()
    signature = hmac.new(integration.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    answer = requests.post(f"{server.url}/integrations/fake/{integration.id}/webhook", data=body,
                           headers={"Content-Type": "application/json", "X-Fake-Signature": signature}, timeout=10)
    assert answer.status_code == 200, answer.text


def row(page, app_user):
    return page.locator(f'#inbox-rows > li[data-user-id="{app_user.id}"]')


def live(page):
    expect(page.locator("#live-root")).to_have_attribute("data-live", "true")


def composer(page):
    return page.get_by_label("Message", exact=True)


class Visitor:
    """The web visitor's socket, keeping every frame it heard."""

    def __init__(self, sdk):
        self.sdk = sdk
        self.heard: list[dict] = []

    def until(self, predicate) -> dict:
        return self.sdk.receive_until(lambda frame: self.heard.append(frame) or predicate(frame))

    def business_texts(self, count: int) -> list[str]:
        return [self.until(lambda f: f["type"] == "message" and f["message"]["role"] == "appMaker")["message"]["text"]
                for _ in range(count)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_agents_day_in_the_inbox(world, browser, page, owner, agent, app):
    server, platform, receiver = world
    expect.set_options(timeout=15_000)
    Webhook.objects.create(app=app, target=receiver.url + "/hook", triggers=["*"])
    templates.create_template(app, name="Opening hours", message={"type": "text", "text": "We open at 9."})
    integration = Integration.objects.create(app=app, type="fake", credentials={"apiKey": "k", "account": "a"},
                                             webhook_secret="s" * 24, display_name="Fake")
    sdk = SdkUser(server.url, app.app_token, user_jwt(app, "wendy"))
    visitor = Visitor(sdk)
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        sdk.send({"type": "message", "ref": "w1", "message": {"type": "text", "text": "Has my order shipped?"}})
        write_from_the_platform(server, integration, 1, "Do you deliver on Sundays?")
        wendy = AppUser.objects.get(pk=sdk.app_user_id)
        pat = wait_until(lambda: AppUser.objects.filter(app=app, clients__platform="fake").first(), timeout=20,
                         message="the platform user stored by the worker")

        # Both agents watch Unassigned.
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, server.url, owner)
        page.goto(f"{server.url}/apps/{app.id}/inbox/unassigned/")
        live(page)
        expect(page.locator("#inbox-rows > li")).to_have_count(2)
        b_page = other.new_page()
        log_in(b_page, server.url, agent)
        b_page.goto(f"{server.url}/apps/{app.id}/inbox/unassigned/")
        live(b_page)
        expect(b_page.locator("#inbox-rows > li")).to_have_count(2)
        expect(row(b_page, pat)).to_contain_text("Pat Platform")

        # A takes the visitor's conversation: it leaves B's Unassigned view live.
        row(page, wendy).get_by_role("link").click()
        expect(page.locator("#inbox-pane")).to_have_attribute("data-user-id", wendy.id)
        page.get_by_role("button", name="Assign to me").click()
        expect(page.locator("#pane-assignee")).to_contain_text("Assigned to")
        expect(row(b_page, wendy)).to_have_count(0)
        expect(b_page.locator('[data-count="unassigned"]')).to_have_text("1")
        assert AppUser.objects.get(pk=wendy.pk).assignee == Membership.objects.get(user=owner)

        # A replies with Enter (the visitor sees A typing first), then inserts
        # the canned reply and sends it.
        box = composer(page)
        box.press_sequentially("Yes, it left this morning.")
        typing = visitor.until(lambda f: f["type"] == "typing")
        assert (typing["role"], typing["state"]) == ("appMaker", "start"), typing
        box.press("Enter")
        assert visitor.business_texts(1) == ["Yes, it left this morning."]
        expect(page.locator("#message-list")).to_contain_text("Yes, it left this morning.")
        box = composer(page)
        box.press_sequentially("/hours")
        expect(page.locator("#canned-picker").get_by_role("option", name="Opening hours")).to_be_visible()
        box.press("Enter")
        assert box.input_value() == "We open at 9."
        box.press("Enter")
        assert visitor.business_texts(1) == ["We open at 9."]

        # A private note: in the thread for the team, nowhere else.
        expect(page.locator("#composer .notice")).to_have_text("Sent.")
        page.get_by_role("radio", name="Note").check()
        box = composer(page)
        box.press_sequentially(NOTE)
        box.press("Enter")
        expect(page.locator("#message-list li.msg-note")).to_contain_text(NOTE)
        wait_until(lambda: Note.objects.filter(app_user=wendy).exists(), message="the note stored")

        # A resolves; the visitor writes again and the conversation reopens.
        page.get_by_role("button", name="Resolve").click()
        expect(page.get_by_role("button", name="Reopen")).to_be_visible()
        assert AppUser.objects.get(pk=wendy.pk).status == ConversationStatus.RESOLVED
        sdk.send({"type": "message", "ref": "w2", "message": {"type": "text", "text": "Thanks! One more thing"}})
        wait_until(lambda: AppUser.objects.get(pk=wendy.pk).status == ConversationStatus.OPEN,
                   message="reopened by the visitor's message")
        expect(page.get_by_role("button", name="Resolve")).to_be_visible()

        # A snooze with a short time wakes on its own (the worker's timer).
        row(page, pat).get_by_role("link").click()
        expect(page.locator("#inbox-pane")).to_have_attribute("data-user-id", pat.id)
        page.get_by_text("Snooze or assign…").click()
        until = timezone.localtime() + timedelta(seconds=3)
        field = page.locator("#snooze-until")
        field.evaluate("el => el.step = 1")  # a time to the second: a test's short snooze
        field.fill(until.strftime("%Y-%m-%dT%H:%M:%S"))
        page.get_by_role("button", name="Snooze until then").click()
        expect(page.locator("#pane-status")).to_contain_text("Snoozed until")
        assert AppUser.objects.get(pk=pat.pk).status == ConversationStatus.SNOOZED
        wait_until(lambda: AppUser.objects.get(pk=pat.pk).status == ConversationStatus.OPEN, timeout=20,
                   message="the snooze woke by itself")
        expect(page.locator("#pane-status")).to_have_text("Open")

        # The note never left the team: not on the visitor's socket, not at the webhook.
        sdk.send({"type": "message", "ref": "w3", "message": {"type": "text", "text": "flush"}})
        visitor.until(lambda f: f["type"] == "message" and f["message"].get("text") == "flush")
        wait_until(lambda: any("flush" in json.dumps(p) for p in receiver.payloads()), timeout=20,
                   message="the webhook receiver caught up")
        assert "Thanks! One more thing" in json.dumps(receiver.payloads())  # the receiver hears the thread
        assert NOTE not in json.dumps(visitor.heard)
        assert NOTE not in json.dumps(receiver.payloads())
        assert not any(NOTE in json.dumps(e.payload) for e in WebhookEvent.objects.filter(webhook__app=app))
    finally:
        other.close()
        sdk.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_same_path_with_the_keyboard_only(world, page, owner, app):
    server, _, _ = world
    expect.set_options(timeout=15_000)
    templates.create_template(app, name="Opening hours", message={"type": "text", "text": "We open at 9."})
    sdk = SdkUser(server.url, app.app_token, user_jwt(app, "wendy"))
    try:
        sdk.send({"type": "message", "ref": "k1", "message": {"type": "text", "text": "Hello?"}})
        wendy = AppUser.objects.get(pk=sdk.app_user_id)
        wait_until(lambda: wendy.messages.filter(role="appUser").exists(), message="the visitor's message")
        visitor = Visitor(sdk)
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, server.url, owner)
        page.goto(f"{server.url}/apps/{app.id}/inbox/unassigned/")
        live(page)
        expect(row(page, wendy)).to_be_visible()

        page.keyboard.press("j")  # open the first conversation
        expect(page.locator("#inbox-pane")).to_have_attribute("data-user-id", wendy.id)
        page.keyboard.press("a")  # assign to me
        expect(page.locator("#pane-assignee")).to_contain_text("Assigned to")
        wait_until(lambda: AppUser.objects.get(pk=wendy.pk).assignee_id is not None, message="assigned")

        # Into the composer with Tab from the thread, as a keyboard user goes.
        box = composer(page)
        for _ in range(60):
            if page.evaluate("document.activeElement && document.activeElement.name === 'text'"):
                break
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") == "text", "Tab never reached the composer"
        page.keyboard.type("On its way!")
        page.keyboard.press("Enter")
        assert visitor.business_texts(1) == ["On its way!"]
        # The fresh composer (htmx swapped it in after the send).
        expect(page.locator("#composer .notice")).to_have_text("Sent.")
        box = composer(page)
        box.focus()
        page.keyboard.type("/hours")
        expect(page.locator("#canned-picker").get_by_role("option", name="Opening hours")).to_be_visible()
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        assert visitor.business_texts(1) == ["We open at 9."]

        # Out of the text field (once the fresh composer is in: it takes the
        # focus when it settles), `e` resolves.
        expect(page.locator("#composer .notice")).to_have_text("Sent.")
        expect(composer(page)).to_be_focused()
        page.keyboard.press("Escape")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("e")
        wait_until(lambda: AppUser.objects.get(pk=wendy.pk).status == ConversationStatus.RESOLVED,
                   message="resolved from the keyboard")
        expect(page.locator('[data-count="resolved"]')).to_have_text("1")
    finally:
        sdk.close()
