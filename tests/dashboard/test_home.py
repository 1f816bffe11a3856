"""The home page: the member's teams and their apps."""

import pytest

from messaging.models import Membership, Role, Team
from tests.support.cast import add_member


@pytest.mark.django_db
def test_it_lists_the_members_apps_with_links(owner_client, app, make_app, team, stranger_app):
    other = make_app(team, "Second app", with_key=False)
    html = owner_client.get("/").content.decode()
    assert f'href="/apps/{app.id}/"' in html and "App A" in html
    assert f'href="/apps/{other.id}/"' in html
    assert stranger_app.id not in html and "App B" not in html


@pytest.mark.django_db
def test_it_lists_every_team_of_a_member_of_several(client, owner, stranger, stranger_app):
    Membership.objects.create(team=stranger_app.team, user=owner, role=Role.AGENT)
    client.force_login(owner)
    html = client.get("/").content.decode()
    assert "Team A" in html and "Team B" in html
    assert f'href="/apps/{stranger_app.id}/"' in html
    assert f'href="/teams/{stranger_app.team_id}/"' in html
    # An agent of Team B gets no "New app" for it.
    assert f'href="/teams/{stranger_app.team_id}/apps/new/"' not in html


@pytest.mark.django_db
def test_it_creates_another_team_owned_by_the_user(owner_client, owner):
    response = owner_client.post("/teams/new/", {"name": "Second team"})
    assert response.status_code == 302
    assert Membership.objects.get(user=owner, team__name="Second team").role == Role.OWNER


@pytest.mark.django_db
def test_it_refuses_a_blank_team_name(owner_client, owner):
    response = owner_client.post("/teams/new/", {"name": "  "})
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert Team.objects.count() == 1


@pytest.mark.django_db
def test_it_hides_manage_links_from_agents(as_user, team, app):
    agent = add_member(team, "agent2@a.example", Role.AGENT).user
    html = as_user(agent).get("/").content.decode()
    assert f'href="/apps/{app.id}/"' in html
    assert "New app" not in html and "/settings/" not in html
