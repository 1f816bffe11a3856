"""Inviting a colleague by email and accepting the invite link."""

import re

import pytest
from django.contrib.auth import SESSION_KEY

from messaging.models import Invitation, Membership, Role, User
from tests.support.cast import PASSWORD


def invite(client, team, email="new@a.example", role="agent", **headers):
    return client.post(f"/teams/{team.id}/invite/", {"email": email, "role": role}, **headers)


def link_in(mail) -> str:
    return re.search(r"http://testserver(/invite/\S+/)", mail.body).group(1)


@pytest.mark.django_db
def test_it_emails_an_invite_link_and_lists_it_as_pending(owner_client, team, mailoutbox):
    response = invite(owner_client, team, "New@A.example", "admin", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="invitations"')  # just the partial
    assert "Invitation sent to new@a.example" in html
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("new@a.example", Role.ADMIN)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@a.example"]
    assert "Team A" in mailoutbox[0].subject
    assert link_in(mailoutbox[0]) == f"/invite/{invitation.token}/"


@pytest.mark.django_db
def test_it_builds_invite_links_on_the_public_url(owner_client, team, mailoutbox, settings):
    settings.PARLEY_PUBLIC_URL = "https://parley.example.org"
    invite(owner_client, team)
    token = Invitation.objects.get().token
    assert f"https://parley.example.org/invite/{token}/" in mailoutbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email, role, message",
    [
        ("not-an-email", "agent", "valid email"),
        ("owner@a.example", "agent", "already a member"),
        ("x@a.example", "boss", "Select a valid choice"),
    ],
)
def test_it_shows_invite_errors_and_sends_nothing(owner_client, team, mailoutbox, email, role, message):
    response = invite(owner_client, team, email, role, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Invitation.objects.exists() and mailoutbox == []


@pytest.mark.django_db
def test_it_lets_admins_invite_but_not_as_owner(as_user, admin, team, mailoutbox):
    client = as_user(admin)
    assert invite(client, team, "x@a.example", "owner").status_code == 422
    assert not Invitation.objects.exists()
    assert invite(client, team, "x@a.example", "admin").status_code == 302
    assert Invitation.objects.get().role == Role.ADMIN


@pytest.mark.django_db
def test_it_forbids_agents_to_invite(as_user, agent, team, mailoutbox):
    client = as_user(agent)
    assert invite(client, team).status_code == 403
    assert not Invitation.objects.exists() and mailoutbox == []
    assert "Invite a colleague" not in client.get(f"/teams/{team.id}/").content.decode()


@pytest.mark.django_db
def test_it_creates_a_new_user_who_accepts_and_logs_them_in(owner_client, client, team, mailoutbox):
    invite(owner_client, team, "new@a.example", "admin")
    link = link_in(mailoutbox[0])
    client.logout()

    page = client.get(link)
    assert page.status_code == 200
    assert "Join Team A" in page.content.decode() and "new@a.example" in page.content.decode()
    bad = client.post(link, {"name": "Nia", "password1": "a long passphrase", "password2": "different one!"})
    assert bad.status_code == 422 and not User.objects.filter(email="new@a.example").exists()

    response = client.post(
        link, {"name": "Nia", "password1": "a long passphrase", "password2": "a long passphrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="new@a.example")
    assert user.check_password("a long passphrase") and user.name == "Nia"
    assert Membership.objects.get(user=user).role == Role.ADMIN
    assert int(client.session[SESSION_KEY]) == user.pk
    # The link works once.
    assert client.get(link).status_code == 404


@pytest.mark.django_db
def test_it_joins_an_existing_user_after_they_log_in(owner_client, client, team, stranger, mailoutbox):
    invite(owner_client, team, "stranger@b.example", "agent")
    link = link_in(mailoutbox[0])
    client.logout()

    # Knowing the link is not knowing the password: log in first.
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={link}"
    response = client.post(response["Location"], {"username": "stranger@b.example", "password": PASSWORD})
    assert response["Location"] == link
    assert "Join Team A" in client.get(link).content.decode()
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.id}/"
    assert Membership.objects.get(user=stranger, team=team).role == Role.AGENT
    assert stranger.teams.count() == 2
    stranger.refresh_from_db()
    assert stranger.check_password(PASSWORD)  # unchanged


@pytest.mark.django_db
def test_it_refuses_an_invitation_for_someone_else(owner_client, client, team, stranger, admin, mailoutbox):
    invite(owner_client, team, "stranger@b.example")
    link = link_in(mailoutbox[0])
    client.force_login(admin)
    assert client.get(link).status_code == 403
    assert client.post(link).status_code == 403
    assert not Membership.objects.filter(user=stranger, team=team).exists()
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db
def test_it_cancels_an_invitation(owner_client, client, team, mailoutbox):
    invite(owner_client, team)
    invitation = Invitation.objects.get()
    response = owner_client.post(
        f"/teams/{team.id}/invitations/{invitation.id}/cancel/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "new@a.example" not in response.content.decode()
    assert not Invitation.objects.exists()
    client.logout()
    assert client.get(link_in(mailoutbox[0])).status_code == 404
