"""The Channels pages in a real browser on a real server, with Telegram
played by the fake Bot API on 127.0.0.1: a wrong bot token is refused with
Telegram's reason, the right one connects (the webhook is set), the inbound
URL is copied, the connection is tested (OK, then refused), and the channel
is deleted after a confirmation (the webhook is deleted)."""

import pytest
from playwright.sync_api import expect

from messaging.models import Integration
from tests.support.browser import screenshot
from tests.support.cast import PASSWORD
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.live import LiveServer

WRONG_TOKEN = "987654321:AAHwrongwrongwrongwrongwrongwrong12"


@pytest.fixture
def fast_password_hashing():
    """The live server checks passwords with the real hashers."""


@pytest.fixture
def telegram():
    # Parley's live server is on plain HTTP: the fake takes its webhook URL.
    fake = FakeTelegram(https_only=False)
    yield fake
    fake.close()


@pytest.fixture
def server(telegram):
    server = LiveServer(worker=False, PARLEY_TELEGRAM_API_BASE=telegram.url)
    try:
        yield server
    finally:
        server.stop()


def assert_no_token(page):
    content = page.content()
    assert TOKEN not in content and WRONG_TOKEN not in content


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_owner_connects_tests_and_deletes_a_telegram_bot(server, telegram, page, owner, app):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(server.url + "/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.goto(f"{server.url}/apps/{app.id}/settings/")
    page.get_by_role("link", name="Channels").click()
    expect(page.get_by_text("No channels connected yet.")).to_be_visible()
    page.get_by_role("link", name="Add a channel").click()
    page.get_by_role("link", name="Telegram").click()
    expect(page.get_by_role("heading", name="Connect Telegram")).to_be_visible()

    # A wrong token: Telegram's refusal in the form, nothing stored, the token not sent back.
    page.get_by_label("Bot token").fill(WRONG_TOKEN)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text("Telegram refused the bot token (401 Unauthorized)")
    expect(page.get_by_label("Bot token")).to_have_value("")
    screenshot(page, "integrations-telegram-refused")
    assert not Integration.objects.exists() and telegram.webhook is None
    assert_no_token(page)

    # The right one: connected, the webhook set with the integration's secret.
    page.get_by_label("Bot token").fill(TOKEN)
    page.get_by_label("Display name").fill("Tacos support")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", name="Telegram: Tacos support")).to_be_visible()
    row = Integration.objects.get(app=app)
    assert page.url == f"{server.url}/apps/{app.id}/integrations/{row.id}/"
    inbound = f"{server.url}/integrations/telegram/{row.id}/webhook"
    assert telegram.webhook == {"url": inbound, "secret_token": row.webhook_secret,
                                "allowed_updates": ["message", "callback_query"]}
    expect(page.locator("code.masked-secret")).to_have_text("••••" + TOKEN[-4:])
    expect(page.locator(".integration-details")).to_contain_text("tacos_bot")
    expect(page.locator("code.inbound-url")).to_have_text(inbound)
    page.get_by_role("button", name=f"Copy inbound URL {inbound}").click()
    expect(page.get_by_role("button", name=f"Copy inbound URL {inbound}")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == inbound
    assert_no_token(page)

    # Test connection: OK, then refused once the token is revoked (htmx, in place).
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection [role=status]")).to_contain_text("Connection OK")
    telegram.token = "123456789:AAHrevokedrevokedrevokedrevoked1234"
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection [role=alert]")).to_contain_text(
        "Connection test failed: Telegram refused the bot token (401 Unauthorized)")
    expect(page.locator("#connection .badge")).to_have_text("Error")
    screenshot(page, "integrations-telegram-test-failed")
    assert page.url == f"{server.url}/apps/{app.id}/integrations/{row.id}/"
    telegram.token = TOKEN
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection .badge")).to_have_text("Active")

    # Delete, after a confirmation.
    page.get_by_role("link", name="Delete channel…").click()
    expect(page.get_by_role("heading", name="Delete Telegram “Tacos support”?")).to_be_visible()
    assert Integration.objects.filter(pk=row.pk).exists()
    page.get_by_role("button", name="Delete this channel").click()
    expect(page.get_by_role("status")).to_contain_text("Telegram “Tacos support” deleted.")
    expect(page.get_by_text("No channels connected yet.")).to_be_visible()
    assert not Integration.objects.exists() and telegram.webhook is None
    assert_no_token(page)
