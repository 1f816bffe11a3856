"""Changing roles and removing members: only owners and admins, and a team
always keeps an owner."""

import pytest

from messaging.models import Membership, Role
from tests.support.cast import add_member


def role_url(team, member):
    return f"/teams/{team.id}/members/{member.id}/role/"


def remove_url(team, member):
    return f"/teams/{team.id}/members/{member.id}/remove/"


def membership(user, team):
    return Membership.objects.get(user=user, team=team)


@pytest.mark.django_db
def test_it_lists_members_with_their_roles(as_user, team, owner, agent):
    html = as_user(agent).get(f"/teams/{team.id}/").content.decode()
    assert "owner@a.example" in html and "agent@a.example" in html
    assert "Change role" not in html and "Remove" not in html


@pytest.mark.django_db
def test_it_changes_a_members_role(owner_client, team, agent):
    target = membership(agent, team)
    response = owner_client.post(role_url(team, target), {"role": "admin"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="members"')
    assert membership(agent, team).role == Role.ADMIN


@pytest.mark.django_db
def test_it_keeps_a_team_owner(owner_client, team, owner):
    me = membership(owner, team)
    response = owner_client.post(role_url(team, me), {"role": "agent"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "at least one owner" in response.content.decode()
    assert membership(owner, team).role == Role.OWNER
    response = owner_client.post(remove_url(team, me))
    assert response.status_code == 422
    assert Membership.objects.filter(pk=me.pk).exists()


@pytest.mark.django_db
def test_it_lets_an_owner_step_down_once_there_is_another_owner(owner_client, team, owner, admin):
    owner_client.post(role_url(team, membership(admin, team)), {"role": "owner"})
    assert membership(admin, team).role == Role.OWNER
    response = owner_client.post(role_url(team, membership(owner, team)), {"role": "agent"})
    assert response.status_code == 302
    assert membership(owner, team).role == Role.AGENT


@pytest.mark.django_db
def test_it_stops_admins_touching_owners(as_user, team, owner, admin, agent):
    client = as_user(admin)
    owner_membership = membership(owner, team)
    assert client.post(role_url(team, owner_membership), {"role": "agent"}).status_code == 422
    assert client.post(remove_url(team, owner_membership)).status_code == 422
    assert client.post(role_url(team, membership(agent, team)), {"role": "owner"}).status_code == 422
    assert membership(owner, team).role == Role.OWNER
    assert membership(agent, team).role == Role.AGENT
    # ...but they manage agents.
    assert client.post(role_url(team, membership(agent, team)), {"role": "admin"}).status_code == 302
    assert membership(agent, team).role == Role.ADMIN


@pytest.mark.django_db
def test_it_refuses_an_unknown_role(owner_client, team, agent):
    response = owner_client.post(role_url(team, membership(agent, team)), {"role": "boss"})
    assert response.status_code == 422
    assert membership(agent, team).role == Role.AGENT


@pytest.mark.django_db
def test_it_removes_a_member(owner_client, team, agent):
    target = membership(agent, team)
    response = owner_client.post(remove_url(team, target), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "agent@a.example" not in response.content.decode()
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert agent.is_active  # the account stays; it just leaves the team


@pytest.mark.django_db
def test_it_forbids_agents_to_manage_members(as_user, team, owner, agent):
    client = as_user(agent)
    other = add_member(team, "agent2@a.example", Role.AGENT)
    assert client.post(role_url(team, other), {"role": "admin"}).status_code == 403
    assert client.post(remove_url(team, other)).status_code == 403
    assert client.post(role_url(team, membership(agent, team)), {"role": "owner"}).status_code == 403
    assert membership(agent, team).role == Role.AGENT
    assert Membership.objects.filter(pk=other.pk, role=Role.AGENT).exists()
