"""Service accounts on the team settings page: owners and admins create
and delete them and their keys (a key's secret shown once), the page shows
who created each and when a key was last used; agents reach none of it."""

import re

import pytest
from django.test import Client

from messaging.models import ApiKey, KeyScope, ServiceAccount
from messaging.services import service_accounts

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def api_client_for(db):
    """A REST API client signing with a JWT."""
    return lambda token: Client(headers={"Authorization": f"Bearer {token}"})


def settings_page(client, team):
    response = client.get(f"/teams/{team.id}/settings/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_an_admin_creates_an_account_and_a_key_whose_secret_is_shown_once(as_user, admin, team, app):
    client = as_user(admin)
    response = client.post(f"/teams/{team.id}/service-accounts/", {"name": "CRM sync"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="service-accounts"')
    account = ServiceAccount.objects.get(team=team)
    assert (account.name, account.created_by) == ("CRM sync", admin)
    assert f'id="service-account-{account.id}"' in html and admin.email in html

    response = client.post(f"/teams/{team.id}/service-accounts/{account.id}/keys/", {"name": "crm"}, **HX)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    key = ApiKey.objects.get(service_account=account)
    assert (key.scope, key.created_by, key.name) == (KeyScope.ACCOUNT, admin, "crm")
    secret = re.search(r'<code class="new-key-secret">([^<]+)</code>', html).group(1)
    assert secret == key.secret and "shown only this once" in html

    page = settings_page(client, team)
    assert secret not in page and f"••••{secret[-4:]}" in page
    row = re.search(rf'<tr id="key-{key.key_id}">.*?</tr>', page, re.S).group(0)
    assert admin.email in row and '<td class="last-used">never</td>' in row
    # The team's own account keys list stays apart from the account's.
    account_keys = re.search(r'<section id="account-keys".*?</section>', page, re.S).group(0)
    assert key.key_id not in account_keys


@pytest.mark.django_db
def test_the_page_shows_a_key_used_through_the_api_and_one_made_by_a_key(owner_client, api_client_for, team, app):
    account = service_accounts.create_service_account(team=team, name="Billing", membership=None)
    key, _ = service_accounts.create_key(account=account, name="billing", membership=None)
    assert api_client_for(service_accounts.key_jwt(key)).get(f"/v1/apps/{app.id}").status_code == 200
    made, _ = service_accounts.create_key(account=account, name="made by a key", membership=None,
                                          created_by_key=key)
    page = settings_page(owner_client, team)
    used = re.search(rf'<tr id="key-{key.key_id}">.*?</tr>', page, re.S).group(0)
    key.refresh_from_db()
    assert f'<time datetime="{key.last_used_at.isoformat()}' in used
    by_key = re.search(rf'<tr id="key-{made.key_id}">.*?</tr>', page, re.S).group(0)
    assert f"API key {key.key_id}" in by_key


@pytest.mark.django_db
def test_revoking_a_key_and_deleting_an_account_stop_their_keys(owner_client, api_client_for, team, app):
    account = service_accounts.create_service_account(team=team, name="CRM", membership=None)
    first, _ = service_accounts.create_key(account=account, name="one", membership=None)
    second, _ = service_accounts.create_key(account=account, name="two", membership=None)
    api = api_client_for(service_accounts.key_jwt(second))
    assert api.get("/v1/apps").status_code == 200

    response = owner_client.post(f"/teams/{team.id}/service-accounts/{account.id}/keys/{first.key_id}/revoke/", **HX)
    assert response.status_code == 200 and f'id="key-{first.key_id}"' not in response.content.decode()
    first.refresh_from_db()
    assert first.revoked_at is not None

    response = owner_client.post(f"/teams/{team.id}/service-accounts/{account.id}/delete/", **HX)
    assert response.status_code == 200 and f'id="service-account-{account.id}"' not in response.content.decode()
    assert "its keys are revoked" in response.content.decode()
    assert not ServiceAccount.objects.filter(pk=account.pk).exists()
    second.refresh_from_db()
    assert second.revoked_at is not None
    assert api.get("/v1/apps").status_code == 401


@pytest.mark.django_db
def test_bad_names_re_render_with_errors_and_create_nothing(owner_client, team):
    response = owner_client.post(f"/teams/{team.id}/service-accounts/", {"name": "  "}, **HX)
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert not ServiceAccount.objects.exists()
    account = service_accounts.create_service_account(team=team, name="CRM", membership=None)
    response = owner_client.post(f"/teams/{team.id}/service-accounts/{account.id}/keys/", {"name": "x" * 101}, **HX)
    html = response.content.decode()
    assert response.status_code == 422 and "at most 100 characters" in html
    assert f'id="sa-{account.id}-key_name"' in html  # the error sits in that account's form
    assert not ApiKey.objects.filter(service_account=account).exists()


@pytest.mark.django_db
def test_agents_can_neither_see_nor_change_service_accounts(as_user, agent, team):
    account = service_accounts.create_service_account(team=team, name="CRM", membership=None)
    key, secret = service_accounts.create_key(account=account, name="crm", membership=None)
    client = as_user(agent)
    assert client.get(f"/teams/{team.id}/settings/").status_code == 403
    for url in (f"/teams/{team.id}/service-accounts/", f"/teams/{team.id}/service-accounts/{account.id}/keys/",
                f"/teams/{team.id}/service-accounts/{account.id}/keys/{key.key_id}/revoke/",
                f"/teams/{team.id}/service-accounts/{account.id}/delete/"):
        response = client.post(url, {"name": "mine"}, **HX)
        assert response.status_code == 403 and secret not in response.content.decode(), url
    assert list(ServiceAccount.objects.values_list("name", flat=True)) == ["CRM"]
    assert list(ApiKey.objects.filter(service_account=account).values_list("key_id", "revoked_at")) == [
        (key.key_id, None)]


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(owner, team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(f"/teams/{team.id}/service-accounts/", {"name": "CRM"})
    assert response.status_code == 403 and not ServiceAccount.objects.exists()
    page = client.get(f"/teams/{team.id}/settings/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(f"/teams/{team.id}/service-accounts/", {"name": "CRM", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and ServiceAccount.objects.get().name == "CRM"
