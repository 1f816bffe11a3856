"""In a real browser on a real server: sign up, create an app and a key."""

import re

import pytest
from playwright.sync_api import expect

from messaging.models import ApiKey, App, User
from tests.support.browser import screenshot
from tests.support.live import LiveServer


@pytest.fixture
def live_server_url():
    server = LiveServer(worker=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_signs_up_creates_an_app_and_a_key_and_shows_the_secret(live_server_url, page):
    page.goto(live_server_url + "/login/")
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Team name").fill("Acme support")
    page.get_by_label("Password", exact=True).fill("a long enough passphrase")
    page.get_by_label("Password confirmation").fill("a long enough passphrase")
    screenshot(page, "dashboard-signup")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Acme support")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Welcome to Parley")
    page.get_by_role("link", name="New app").click()
    page.get_by_label("App name").fill("Storefront")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1, name="Storefront")).to_be_visible()
    app = App.objects.get(name="Storefront")
    expect(page.locator("code.app-id")).to_have_text(app.id)
    assert re.search(rf"/apps/{app.id}/settings/$", page.url)

    # htmx: a bad name re-renders the form with its error (422 is swapped).
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#app-keys .errorlist")).to_contain_text("This field is required")
    page.get_by_label("Key name").fill("backend")
    page.get_by_role("button", name="Create key").click()

    secret_box = page.locator("#app-keys code.new-key-secret")
    expect(secret_box).to_be_visible()
    key = ApiKey.objects.get(app=app, name="backend")
    expect(secret_box).to_have_text(key.secret)
    expect(page.get_by_role("cell", name=key.key_id, exact=True)).to_be_visible()
    assert page.url.endswith(f"/apps/{app.id}/settings/")  # updated in place, no navigation
    screenshot(page, "dashboard-key-secret")

    # Once only: after a reload, just the last 4 characters.
    page.reload()
    expect(page.locator("#app-keys")).to_contain_text("••••" + key.secret_last4)
    expect(page.locator("#app-keys")).not_to_contain_text(key.secret)
    assert User.objects.get(email="ada@example.com").teams.get().name == "Acme support"
