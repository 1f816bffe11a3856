"""The team settings page: the team's name (account keys: test_keys.py)."""

import pytest

from messaging.models import Membership, Team


@pytest.mark.django_db
def test_it_renames_the_team_in_place(owner_client, team):
    response = owner_client.post(f"/teams/{team.id}/settings/name/", {"name": "Acme"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert '<h1 id="team-title" hx-swap-oob="true">Acme</h1>' in response.content.decode()
    team.refresh_from_db()
    assert team.name == "Acme"


@pytest.mark.django_db
def test_it_keeps_the_team_name_on_bad_input(owner_client, team):
    response = owner_client.post(f"/teams/{team.id}/settings/name/", {"name": "x" * 101})
    assert response.status_code == 422 and "at most 100 characters" in response.content.decode()
    assert Team.objects.get(pk=team.pk).name == "Team A"


@pytest.mark.django_db
def test_it_forbids_agents_the_team_settings(as_user, agent, team):
    client = as_user(agent)
    assert client.get(f"/teams/{team.id}/settings/").status_code == 403
    assert client.post(f"/teams/{team.id}/settings/name/", {"name": "Mine"}).status_code == 403
    assert Team.objects.get(pk=team.pk).name == "Team A"
    # No link to it either.
    assert f"/teams/{team.id}/settings/" not in client.get(f"/teams/{team.id}/").content.decode()


@pytest.mark.django_db
def test_it_lets_an_admin_leave_the_team(as_user, admin, team):
    client = as_user(admin)
    me = Membership.objects.get(user=admin, team=team)
    response = client.post(f"/teams/{team.id}/members/{me.id}/remove/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == "/"
    assert not Membership.objects.filter(pk=me.pk).exists()
    assert client.get(f"/teams/{team.id}/").status_code == 404
