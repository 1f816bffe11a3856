"""The Channels pages (integrations), with the test-only fake channel
against a fake platform on 127.0.0.1: list, add (the platform's refusal as a
form error, nothing stored), the integration's page, test connection, edit,
delete with confirmation; who may do what; no secret in any page or log."""

import logging

import pytest

from messaging.models import Integration, IntegrationStatus
from messaging.services.integrations import create_integration
from tests.support.fake_platform import FakePlatform

SECRET = "fk-live-7Qz9Xw2Lm4Np8Rt6"
NEW_SECRET = "fk-live-Bv3Hy5Jk1Cd0Sg4e"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(scope="module")
def platform_server():
    """One fake platform for the module (stopping one takes half a second)."""
    fake = FakePlatform()
    yield fake
    fake.close()



@pytest.fixture
def connected(app, platform):
    """A fake integration of team A's app, created through the service."""
    row = create_integration(app, {"type": "fake", "apiKey": SECRET, "account": "shop"},
                             base_url="https://parley.example")
    platform.requests.clear()
    return row


def url(app, *parts):
    return "/".join([f"/apps/{app.id}/integrations", *parts]) + "/"


def html(response) -> str:
    return response.content.decode()


def assert_no_secret(response, *secrets):
    text = html(response)
    for secret in secrets or (SECRET, NEW_SECRET):
        assert secret not in text


# The list and the tab.


@pytest.mark.django_db
def test_it_lists_integrations_with_status_error_and_last_inbound(owner_client, app, connected):
    from django.utils import timezone

    Integration.objects.filter(pk=connected.pk).update(
        status=IntegrationStatus.ERROR, error="the platform refused the call (401)",
        error_at=timezone.now(), last_inbound_at=timezone.now())
    response = owner_client.get(url(app))
    page = html(response)
    assert response.status_code == 200
    assert 'aria-current="page">Channels</a>' in page
    row = page.split(f'id="integration-{connected.id}"')[1].split("</tr>")[0]
    assert "Fake (tests)" in row and "Fake shop" in row and f'href="{url(app, connected.id)}"' in row
    assert "Error" in row and "the platform refused the call (401)" in row
    assert "none yet" not in row  # the last inbound event's time is shown
    assert f'href="{url(app, "new")}"' in page
    assert_no_secret(response)


@pytest.mark.django_db
def test_it_shows_an_empty_list_and_the_tab_on_every_app_page(owner_client, app):
    page = html(owner_client.get(url(app)))
    assert "No channels connected yet." in page
    assert f'href="/apps/{app.id}/integrations/"' in html(owner_client.get(f"/apps/{app.id}/settings/"))


# Adding a channel.


@pytest.mark.django_db
def test_it_offers_the_connectable_types_then_their_form(owner_client, app):
    page = html(owner_client.get(url(app, "new")))
    assert f'href="{url(app, "new", "fake")}"' in page and "Fake (tests)" in page
    form = html(owner_client.get(url(app, "new", "fake")))
    assert 'type="password" name="apiKey"' in form and "API key" in form
    assert 'type="text" name="account"' in form and "Account name" in form
    assert 'name="displayName"' in form
    assert owner_client.get(url(app, "new", "web")).status_code == 404
    assert owner_client.get(url(app, "new", "nosuch")).status_code == 404


@pytest.mark.django_db
def test_it_creates_an_integration_checked_with_the_platform(owner_client, app, platform, settings):
    settings.PARLEY_PUBLIC_URL = "https://parley.example"
    response = owner_client.post(url(app, "new", "fake"), {"apiKey": SECRET, "account": "shop", "displayName": ""})
    row = Integration.objects.get(app=app)
    assert response.status_code == 302 and response["Location"] == url(app, row.id)
    assert row.credentials == {"apiKey": SECRET, "account": "shop"} and row.display_name == "Fake shop"
    assert [r["body"] for r in platform.received("/check")] == [{"apiKey": SECRET}]
    inbound = f"https://parley.example/integrations/fake/{row.id}/webhook"
    assert [r["body"] for r in platform.received("/webhook")] == [{"url": inbound}]
    page = owner_client.get(response["Location"])
    assert "Fake (tests) connected: Fake shop." in html(page)
    assert_no_secret(page)


@pytest.mark.django_db
def test_it_builds_the_inbound_url_from_the_request_without_a_public_url(owner_client, app, platform, settings):
    settings.PARLEY_PUBLIC_URL = ""
    response = owner_client.post(url(app, "new", "fake"), {"apiKey": SECRET, "account": "shop",
                                                           "displayName": "Support bot"},
                                 HTTP_HOST="localhost:8123", **HTMX)
    row = Integration.objects.get(app=app)
    assert response.status_code == 200 and response["HX-Redirect"] == url(app, row.id)
    assert row.display_name == "Support bot"
    assert row.inbound_url == f"http://localhost:8123/integrations/fake/{row.id}/webhook"
    assert platform.received("/webhook")[0]["body"] == {"url": row.inbound_url}


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_it_shows_the_platforms_refusal_and_stores_nothing(owner_client, app, platform, htmx):
    platform.fail_next(401, body={"error": "invalid API key"})
    response = owner_client.post(url(app, "new", "fake"), {"apiKey": SECRET, "account": "shop"},
                                 **(HTMX if htmx else {}))
    assert response.status_code == 422
    page = html(response)
    assert "Fake (tests) refused:" in page and "invalid API key" in page
    assert page.lstrip().startswith('<section id="integration-form"') == htmx
    assert 'value="shop"' in page  # the public value is kept for the next try
    assert_no_secret(response)
    assert not Integration.objects.exists()
    assert len(platform.received("/check")) == 1 and not platform.received("/webhook")


@pytest.mark.django_db
def test_it_masks_a_secret_the_platform_echoes_in_its_refusal(owner_client, app, platform):
    platform.fail_next(401, body={"error": f"no such key {SECRET}"})
    response = owner_client.post(url(app, "new", "fake"), {"apiKey": SECRET, "account": "shop"})
    assert response.status_code == 422 and "no such key ••••" in html(response)
    assert_no_secret(response)


@pytest.mark.django_db
def test_it_stores_nothing_when_the_webhook_registration_is_refused(owner_client, app, platform):
    platform.handler = lambda record: (403, {}, {"error": "webhooks are off"}) if record["path"] == "/webhook" \
        else (200, {}, {"id": "acct-1"})
    response = owner_client.post(url(app, "new", "fake"), {"apiKey": SECRET, "account": "shop"})
    assert response.status_code == 422 and "webhooks are off" in html(response)
    assert not Integration.objects.exists()
    assert_no_secret(response)


@pytest.mark.django_db
@pytest.mark.parametrize("data, error", [
    ({}, "This field is required."),
    ({"account": "shop"}, "This field is required."),
    ({"apiKey": SECRET, "account": "   "}, "This field is required."),
    ({"apiKey": SECRET, "account": "x" * 2001}, "at most 2000 characters"),
    ({"apiKey": SECRET, "account": "shop", "displayName": "n" * 101}, "at most 100 characters"),
    ({"apiKey": SECRET, "account": "sh\x00op"}, "Null characters are not allowed."),
])
def test_it_refuses_bad_input_before_asking_the_platform(owner_client, app, platform, data, error):
    response = owner_client.post(url(app, "new", "fake"), data)
    assert response.status_code == 422 and error in html(response)
    assert_no_secret(response)
    assert not Integration.objects.exists() and not platform.requests


# The integration's page.


@pytest.mark.django_db
def test_it_shows_details_masked_secrets_and_the_inbound_url(owner_client, app, connected):
    response = owner_client.get(url(app, connected.id))
    page = html(response)
    assert response.status_code == 200
    assert connected.id in page and "Fake shop" in page and "<code>shop</code>" in page
    assert "fakeId" in page and connected.details["fakeId"] in page
    assert f"••••{SECRET[-4:]}" in page
    assert f'<code class="inbound-url">{connected.inbound_url}</code>' in page
    assert f'data-copy="{connected.inbound_url}"' in page
    assert "Parley registered this URL" in page
    assert 'name="apiKey"' in page and 'value="shop"' in page  # the edit form
    assert f'href="{url(app, connected.id, "delete")}"' in page
    assert_no_secret(response)


@pytest.mark.django_db
def test_it_shows_members_the_status_but_no_credentials_or_forms(as_user, agent, app, connected):
    response = as_user(agent).get(url(app, connected.id))
    page = html(response)
    assert response.status_code == 200 and "Fake shop" in page and "Active" in page
    assert "••••" not in page and connected.inbound_url not in page
    assert "Test connection" not in page and 'name="apiKey"' not in page and "Delete channel" not in page
    listing = html(as_user(agent).get(url(app)))
    assert "Fake shop" in listing and "Add a channel" not in listing
    assert_no_secret(response)


# Test connection.


@pytest.mark.django_db
def test_it_tests_the_connection_and_shows_ok(owner_client, app, connected, platform):
    Integration.objects.filter(pk=connected.pk).update(status=IntegrationStatus.ERROR, error="old error")
    response = owner_client.post(url(app, connected.id, "check"), **HTMX)
    page = html(response)
    assert response.status_code == 200 and page.lstrip().startswith('<section id="connection"')
    assert "Connection OK" in page and "old error" not in page
    assert [r["body"] for r in platform.received("/check")] == [{"apiKey": SECRET}]
    connected.refresh_from_db()
    assert (connected.status, connected.error) == (IntegrationStatus.ACTIVE, "")


@pytest.mark.django_db
def test_it_shows_why_the_connection_test_failed_and_records_it(owner_client, app, connected, platform):
    platform.fail_next(401, body={"error": f"key {SECRET} revoked"})
    response = owner_client.post(url(app, connected.id, "check"), **HTMX)
    page = html(response)
    assert "Connection test failed:" in page and "revoked" in page and "Error" in page
    assert_no_secret(response)
    connected.refresh_from_db()
    assert connected.status == IntegrationStatus.ERROR and "revoked" in connected.error
    for page_url in (url(app), url(app, connected.id)):  # the stored error is masked too
        shown = owner_client.get(page_url)
        assert "revoked" in html(shown)
        assert_no_secret(shown)


@pytest.mark.django_db
def test_the_connection_test_works_as_a_plain_post(owner_client, app, connected, platform):
    response = owner_client.post(url(app, connected.id, "check"))
    assert response.status_code == 302 and response["Location"] == url(app, connected.id)
    assert "Connection OK." in html(owner_client.get(response["Location"]))
    platform.fail_next(401, body={"error": "key revoked"})
    response = owner_client.post(url(app, connected.id, "check"), follow=True)
    assert "Connection test failed:" in html(response) and "key revoked" in html(response)


# Edit.


@pytest.mark.django_db
def test_editing_only_the_name_asks_the_platform_nothing(owner_client, app, connected, platform):
    response = owner_client.post(url(app, connected.id, "edit"),
                                 {"apiKey": "", "account": "shop", "displayName": "Renamed"})
    assert response.status_code == 302 and response["Location"] == url(app, connected.id)
    connected.refresh_from_db()
    assert connected.display_name == "Renamed" and connected.credentials["apiKey"] == SECRET
    assert not platform.requests


@pytest.mark.django_db
def test_editing_a_secret_checks_it_then_stores_it(owner_client, app, connected, platform):
    response = owner_client.post(url(app, connected.id, "edit"),
                                 {"apiKey": NEW_SECRET, "account": "shop", "displayName": "Fake shop"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == url(app, connected.id)
    connected.refresh_from_db()
    assert connected.credentials == {"apiKey": NEW_SECRET, "account": "shop"}
    assert [r["body"] for r in platform.received("/check")] == [{"apiKey": NEW_SECRET}]
    assert [r["body"] for r in platform.received("/webhook")] == [{"url": connected.inbound_url}]
    page = owner_client.get(url(app, connected.id))
    assert f"••••{NEW_SECRET[-4:]}" in html(page)
    assert_no_secret(page)


@pytest.mark.django_db
def test_a_refused_edit_keeps_the_stored_credentials(owner_client, app, connected, platform):
    platform.fail_next(401, body={"error": "invalid API key"})
    response = owner_client.post(url(app, connected.id, "edit"),
                                 {"apiKey": NEW_SECRET, "account": "other", "displayName": ""}, **HTMX)
    page = html(response)
    assert response.status_code == 422 and page.lstrip().startswith('<section id="integration-edit"')
    assert "Fake (tests) refused:" in page and 'value="other"' in page
    assert_no_secret(response)
    connected.refresh_from_db()
    assert connected.credentials == {"apiKey": SECRET, "account": "shop"}


@pytest.mark.django_db
def test_an_edit_needs_the_required_public_values(owner_client, app, connected, platform):
    response = owner_client.post(url(app, connected.id, "edit"), {"apiKey": "", "account": ""})
    assert response.status_code == 422 and "This field is required." in html(response)
    assert_no_secret(response)
    assert not platform.requests


# Delete.


@pytest.mark.django_db
def test_it_asks_for_confirmation_then_deletes_and_unregisters(owner_client, app, connected, platform):
    confirm = owner_client.get(url(app, connected.id, "delete"))
    assert confirm.status_code == 200 and "Delete Fake (tests) “Fake shop”?" in html(confirm)
    assert Integration.objects.filter(pk=connected.pk).exists() and not platform.requests
    response = owner_client.post(url(app, connected.id, "delete"))
    assert response.status_code == 302 and response["Location"] == url(app)
    assert not Integration.objects.filter(pk=connected.pk).exists()
    assert [r["body"] for r in platform.received("/webhook")] == [{"url": ""}]
    assert "Fake (tests) “Fake shop” deleted." in html(owner_client.get(url(app)))
    assert owner_client.get(url(app, connected.id)).status_code == 404


# Who may do what.


def actions(app, row):
    return [
        ("get", url(app, "new"), {}),
        ("get", url(app, "new", "fake"), {}),
        ("post", url(app, "new", "fake"), {"apiKey": NEW_SECRET, "account": "x"}),
        ("post", url(app, row.id, "check"), {}),
        ("post", url(app, row.id, "edit"), {"apiKey": NEW_SECRET, "account": "x", "displayName": "Pwned"}),
        ("get", url(app, row.id, "delete"), {}),
        ("post", url(app, row.id, "delete"), {}),
    ]


def snapshot():
    return list(Integration.objects.values_list("id", "display_name", "status", "error").order_by("id"))


@pytest.mark.django_db
def test_members_get_403_on_every_write_and_nothing_changes(as_user, agent, app, connected, platform):
    client = as_user(agent)
    before = snapshot()
    for method, path, data in actions(app, connected):
        assert getattr(client, method)(path, data).status_code == 403, path
    assert snapshot() == before and not platform.requests
    connected.refresh_from_db()
    assert connected.credentials["apiKey"] == SECRET


@pytest.mark.django_db
def test_admins_manage_integrations(as_user, admin, app, connected, platform):
    client = as_user(admin)
    assert client.post(url(app, connected.id, "check")).status_code == 302
    assert client.post(url(app, connected.id, "delete")).status_code == 302
    assert not Integration.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_other_teams_get_404_for_every_page_and_action(client, stranger, app, connected, platform, htmx):
    client.force_login(stranger)
    headers = HTMX if htmx else {}
    before = snapshot()
    for path in (url(app), url(app, connected.id)):
        assert client.get(path, **headers).status_code == 404
    for method, path, data in actions(app, connected):
        assert getattr(client, method)(path, data, **headers).status_code == 404, path
    assert snapshot() == before and not platform.requests


@pytest.mark.django_db
def test_an_integration_is_not_found_through_another_app(client, stranger, stranger_app, connected, platform):
    """Mixing ids: team A's integration through team B's own app."""
    client.force_login(stranger)
    for method, path, data in actions(stranger_app, connected)[3:]:
        assert getattr(client, method)(path, data).status_code == 404, path
    assert Integration.objects.filter(pk=connected.pk).exists() and not platform.requests


@pytest.mark.django_db
def test_unknown_integrations_and_wrong_methods_are_refused(owner_client, app, connected):
    assert owner_client.get(url(app, "nosuch")).status_code == 404
    assert owner_client.post(url(app, "nosuch", "check")).status_code == 404
    assert owner_client.get(url(app, connected.id, "check")).status_code == 405
    assert owner_client.get(url(app, connected.id, "edit")).status_code == 405
    assert owner_client.post(url(app)).status_code == 405


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, app, connected):
    for path in (url(app), url(app, "new"), url(app, connected.id)):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


# No secret anywhere.


@pytest.mark.django_db
def test_no_page_response_or_log_line_holds_a_secret(owner_client, app, platform, caplog):
    caplog.set_level(logging.DEBUG)
    responses = [owner_client.post(url(app, "new", "fake"), {"apiKey": SECRET, "account": "shop"})]
    row = Integration.objects.get(app=app)
    platform.fail_next(401)
    responses.append(owner_client.post(url(app, row.id, "edit"), {"apiKey": NEW_SECRET, "account": "shop"}))
    responses.append(owner_client.post(url(app, row.id, "edit"), {"apiKey": NEW_SECRET, "account": "shop"}))
    platform.fail_next(500)
    responses.append(owner_client.post(url(app, row.id, "check"), **HTMX))
    responses.append(owner_client.post(url(app, row.id, "check")))
    for path in (url(app), url(app, "new"), url(app, "new", "fake"), url(app, row.id), url(app, row.id, "delete"),
                 f"/apps/{app.id}/log/"):
        responses.append(owner_client.get(path))
        responses.append(owner_client.get(path, **HTMX))
    platform.fail_next(401)
    responses.append(owner_client.post(url(app, row.id, "delete"), follow=True))
    for response in responses:
        assert response.status_code < 500
        assert_no_secret(response)
    assert Integration.objects.count() == 0
    assert SECRET not in caplog.text and NEW_SECRET not in caplog.text
