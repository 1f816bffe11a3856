"""Creating, renaming and deleting apps; the app's settings page."""

import pytest

from messaging.models import ApiKey, App


@pytest.mark.django_db
def test_it_creates_an_app_and_opens_its_page(owner_client, team):
    assert owner_client.get(f"/teams/{team.id}/apps/new/").status_code == 200
    response = owner_client.post(f"/teams/{team.id}/apps/new/", {"name": "  Support  "})
    app = App.objects.get()
    assert (app.name, app.team_id) == ("Support", team.id)
    # A new app opens on its settings: the token and the keys come first.
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.id}/settings/"
    page = owner_client.get(f"/apps/{app.id}/settings/").content.decode()
    assert "Support" in page and app.id in page and app.app_token in page
    assert f'href="/apps/{app.id}/settings/" aria-current="page"' in page  # the tab bar
    assert f'href="/apps/{app.id}/log/"' in page and f'href="/apps/{app.id}/users/"' in page


@pytest.mark.django_db
def test_it_opens_an_app_on_its_overview(owner_client, app):
    response = owner_client.get(f"/apps/{app.id}/")
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.id}/overview/"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_it_shows_app_name_errors_and_creates_nothing(owner_client, team, name):
    response = owner_client.post(f"/teams/{team.id}/apps/new/", {"name": name})
    assert response.status_code == 422
    assert response.context["form"].errors["name"]
    assert 'class="errorlist"' in response.content.decode()
    assert not App.objects.exists()


@pytest.mark.django_db
def test_it_forbids_agents_to_create_apps(as_user, agent, team):
    client = as_user(agent)
    assert client.get(f"/teams/{team.id}/apps/new/").status_code == 403
    assert client.post(f"/teams/{team.id}/apps/new/", {"name": "Nope"}).status_code == 403
    assert not App.objects.exists()


@pytest.mark.django_db
def test_it_renames_an_app_in_place(owner_client, app):
    response = owner_client.post(
        f"/apps/{app.id}/settings/name/", {"name": "Renamed"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="app-name"')
    assert '<h1 id="app-title" hx-swap-oob="true">Renamed</h1>' in html
    app.refresh_from_db()
    assert app.name == "Renamed"


@pytest.mark.django_db
def test_it_keeps_the_name_on_a_blank_rename(owner_client, app):
    response = owner_client.post(f"/apps/{app.id}/settings/name/", {"name": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    app.refresh_from_db()
    assert app.name == "App A"


@pytest.mark.django_db
def test_it_deletes_an_app_after_confirmation(owner_client, app):
    page = owner_client.get(f"/apps/{app.id}/delete/")
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    wrong = owner_client.post(f"/apps/{app.id}/delete/", {"confirm_name": "App"})
    assert wrong.status_code == 422 and "Type the app" in wrong.content.decode()
    assert App.objects.filter(pk=app.pk).exists()

    response = owner_client.post(f"/apps/{app.id}/delete/", {"confirm_name": "App A"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "App “App A” deleted." in response.content.decode()
    assert not App.objects.filter(pk=app.pk).exists()
    assert not ApiKey.objects.filter(app_id=app.pk).exists()
    assert owner_client.get(f"/apps/{app.id}/").status_code == 404


@pytest.mark.django_db
def test_it_shows_agents_the_app_but_no_manage_actions(as_user, agent, app):
    client = as_user(agent)
    html = client.get(f"/apps/{app.id}/settings/").content.decode()
    assert app.id in html
    assert "Delete app" not in html and "Create key" not in html and "Revoke" not in html
    assert client.post(f"/apps/{app.id}/settings/name/", {"name": "X"}).status_code == 403
    assert client.get(f"/apps/{app.id}/delete/").status_code == 403
    assert client.post(f"/apps/{app.id}/delete/", {"confirm_name": "App A"}).status_code == 403
    app.refresh_from_db()
    assert app.name == "App A"


@pytest.mark.django_db
def test_it_shows_every_app_tab_on_the_settings_page(owner_client, app):
    from django.urls import reverse

    html = owner_client.get(f"/apps/{app.id}/settings/").content.decode()
    nav = html.split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    for name in ("live_overview", "live_users", "live_log", "app_settings"):
        assert f'href="{reverse(name, args=[app.id])}"' in nav
