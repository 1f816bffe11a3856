"""Service accounts on the team settings page, in a real browser on a real
server: an owner creates one, gives it a key (its secret shown once, in
place), sees who created it (the page passing axe and fitting every width), and deletes the account after a confirmation,
which revokes the key for the API."""

import pytest
import requests
from playwright.sync_api import expect

from messaging.models import ApiKey, ServiceAccount
from messaging.services import service_accounts
from tests.support.browser import assert_accessible, log_in, screenshot, screenshots_at_widths
from tests.support.live import LiveServer


@pytest.fixture
def fast_password_hashing():
    """The live server checks passwords with the real hashers."""


@pytest.fixture
def server():
    server = LiveServer(worker=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_owner_creates_a_service_account_and_its_key_then_deletes_it(server, page, owner, team, app):
    page.on("dialog", lambda dialog: dialog.accept())  # the delete's hx-confirm
    log_in(page, server.url, owner)
    page.goto(f"{server.url}/teams/{team.id}/settings/")
    section = page.locator("#service-accounts")
    expect(section).to_contain_text("No service accounts.")

    # htmx: a blank name re-renders the form with its error (422 is swapped).
    page.get_by_role("button", name="Create service account").click()
    expect(section.locator(".errorlist")).to_contain_text("This field is required")
    page.get_by_label("Service account name").fill("CRM sync")
    page.get_by_role("button", name="Create service account").click()
    expect(section.get_by_role("heading", name="CRM sync")).to_be_visible()
    account = ServiceAccount.objects.get(team=team)
    expect(section.locator(f"#service-account-{account.id} .creator")).to_have_text(owner.email)

    section.locator(f"#sa-{account.id}-key_name").fill("crm")
    page.get_by_role("button", name="Create key for CRM sync").click()
    secret_box = section.locator("code.new-key-secret")
    expect(secret_box).to_be_visible()
    key = ApiKey.objects.get(service_account=account)
    expect(secret_box).to_have_text(key.secret)
    expect(section.locator(f"#key-{key.key_id} .last-used")).to_have_text("never")
    assert page.url.endswith(f"/teams/{team.id}/settings/")  # updated in place
    screenshot(page, "dashboard-service-account-key")

    token = service_accounts.key_jwt(key)
    apps = requests.get(f"{server.url}/v1.1/apps", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert apps.status_code == 200 and [a["_id"] for a in apps.json()["apps"]] == [app.id]
    page.reload()
    expect(section.locator(f"#key-{key.key_id} .last-used time")).to_be_visible()  # used just now
    expect(section).not_to_contain_text(key.secret)
    assert_accessible(page)
    screenshots_at_widths(page, "dashboard-team-settings")

    page.get_by_role("button", name="Delete account CRM sync").click()
    expect(section.get_by_role("status")).to_contain_text("its keys are revoked")
    expect(section).to_contain_text("No service accounts.")
    refused = requests.get(f"{server.url}/v1.1/apps", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code == 401
