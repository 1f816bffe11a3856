"""The app settings page's "A userId needs a signed JWT" (requireUserJwt):
shown with its explanation, changed by owners and admins only, never by
another team."""

import re

import pytest

from messaging.models import App

pytestmark = pytest.mark.django_db


def url(app):
    return f"/apps/{app.id}/settings/user-jwt/"


def stored(app):
    return App.objects.get(pk=app.pk).require_user_jwt


def test_the_settings_page_explains_it_and_shows_it_on(owner_client, app):
    html = owner_client.get(f"/apps/{app.id}/settings/").content.decode()
    assert '<section id="user-jwt"' in html
    assert "A userId needs a signed JWT" in html
    assert "migrating code that cannot sign JWTs yet" in html
    assert re.search(r'<input type="checkbox" name="require_user_jwt"[^>]* checked>', html)
    assert "Currently: <strong>on" in html


def test_an_owner_turns_it_off_and_on_in_place(owner_client, app):
    response = owner_client.post(url(app), {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="user-jwt"')
    assert "Saved." in html and "Currently: <strong>off" in html
    assert stored(app) is False

    response = owner_client.post(url(app), {"require_user_jwt": "on"})
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.id}/settings/"
    assert stored(app) is True


def test_an_admin_may_change_it(as_user, admin, app):
    assert as_user(admin).post(url(app), {}).status_code == 302
    assert stored(app) is False


def test_an_agent_sees_it_but_cannot_change_it(as_user, agent, app):
    client = as_user(agent)
    html = client.get(f"/apps/{app.id}/settings/").content.decode()
    assert "Currently: <strong>on" in html and 'name="require_user_jwt"' not in html
    assert client.post(url(app), {}).status_code == 403
    assert stored(app) is True


def test_another_teams_member_cannot_change_it(as_user, stranger, app):
    assert as_user(stranger).post(url(app), {}).status_code == 404
    assert stored(app) is True


def test_it_needs_a_login(client, app):
    response = client.post(url(app), {})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert stored(app) is True
