"""API keys: the secret is shown once, then only its last 4 characters."""

import re

import jwt
import pytest

from messaging.models import ApiKey, KeyScope


def create(client, url, name="backend"):
    return client.post(url, {"name": name}, HTTP_HX_REQUEST="true")


@pytest.mark.django_db
def test_it_shows_an_app_keys_secret_once_then_its_last_4(owner_client, owner, app):
    response = create(owner_client, f"/apps/{app.id}/keys/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="app-keys"')
    key = ApiKey.objects.get(app=app, name="backend")
    secret = re.search(r'<code class="new-key-secret">([^<]+)</code>', html).group(1)
    assert (key.scope, key.team_id, key.created_by_id) == (KeyScope.APP, app.team_id, owner.pk)
    assert key.secret == secret and key.secret_last4 == secret[-4:]
    assert "shown only this once" in html

    later = owner_client.get(f"/apps/{app.id}/settings/").content.decode()
    assert secret not in later
    assert key.key_id in later and f"••••{secret[-4:]}" in later
    # The secret signs JWTs the API accepts (HS256 with kid).
    token = jwt.encode({"scope": "app"}, secret, algorithm="HS256", headers={"kid": key.key_id})
    assert jwt.decode(token, key.secret, algorithms=["HS256"]) == {"scope": "app"}


@pytest.mark.django_db
def test_it_revokes_an_app_key(owner_client, app):
    key = app.test_key
    assert key.key_id in owner_client.get(f"/apps/{app.id}/settings/").content.decode()
    response = owner_client.post(f"/apps/{app.id}/keys/{key.key_id}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="key-{key.key_id}"' not in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert f'id="key-{key.key_id}"' not in owner_client.get(f"/apps/{app.id}/settings/").content.decode()


@pytest.mark.django_db
def test_it_shows_key_name_errors_and_creates_nothing(owner_client, app, team):
    before = ApiKey.objects.count()
    response = create(owner_client, f"/apps/{app.id}/keys/", name="  ")
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    response = create(owner_client, f"/teams/{team.id}/keys/", name="")
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert ApiKey.objects.count() == before


@pytest.mark.django_db
def test_it_creates_and_revokes_account_keys_on_the_team_settings_page(as_user, admin, team):
    client = as_user(admin)
    response = create(client, f"/teams/{team.id}/keys/", name="crm")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="account-keys"')
    key = ApiKey.objects.get(name="crm")
    assert (key.scope, key.app_id, key.team_id) == (KeyScope.ACCOUNT, None, team.id)
    secret = re.search(r'<code class="new-key-secret">([^<]+)</code>', html).group(1)
    assert key.secret == secret

    page = client.get(f"/teams/{team.id}/settings/").content.decode()
    assert secret not in page and f"••••{secret[-4:]}" in page

    client.post(f"/teams/{team.id}/keys/{key.key_id}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.django_db
def test_it_forbids_agents_to_create_or_revoke_keys(as_user, agent, team, app):
    client = as_user(agent)
    before = ApiKey.objects.count()
    assert create(client, f"/apps/{app.id}/keys/").status_code == 403
    assert create(client, f"/teams/{team.id}/keys/").status_code == 403
    assert client.get(f"/teams/{team.id}/settings/").status_code == 403
    assert client.post(f"/apps/{app.id}/keys/{app.test_key.key_id}/revoke/").status_code == 403
    assert ApiKey.objects.count() == before
    app.test_key.refresh_from_db()
    assert app.test_key.revoked_at is None


@pytest.mark.django_db
def test_it_does_not_revoke_an_account_key_through_an_app_url(owner_client, team, app):
    from messaging.services.apps import create_key

    account_key, _ = create_key(team=team, scope=KeyScope.ACCOUNT, name="acct")
    response = owner_client.post(f"/apps/{app.id}/keys/{account_key.key_id}/revoke/")
    assert response.status_code == 404
    account_key.refresh_from_db()
    assert account_key.revoked_at is None


@pytest.mark.django_db
def test_it_keeps_the_secret_out_of_caches(owner_client, app, team):
    for url in (f"/apps/{app.id}/keys/", f"/teams/{team.id}/keys/"):
        response = create(owner_client, url)
        assert "no-store" in response["Cache-Control"]
