"""A member of team A gets 404 for every page and action of team B."""

import pytest

from messaging.models import ApiKey, App, Invitation, KeyScope, Membership
from messaging.services.apps import create_key


@pytest.fixture
def team_b(stranger_team, stranger_app, stranger):
    account_key, _ = create_key(team=stranger_team, scope=KeyScope.ACCOUNT, name="b-account")
    invitation = Invitation.objects.create(team=stranger_team, email="someone@b.example")
    return {
        "team": stranger_team.id,
        "app": stranger_app.id,
        "app_key": stranger_app.test_key.key_id,
        "account_key": account_key.key_id,
        "member": Membership.objects.get(user=stranger).id,
        "invitation": invitation.id,
    }


PAGES = [
    "/teams/{team}/",
    "/teams/{team}/settings/",
    "/teams/{team}/apps/new/",
    "/apps/{app}/",
    "/apps/{app}/settings/",
    "/apps/{app}/delete/",
]
ACTIONS = [
    ("/teams/{team}/invite/", {"email": "x@a.example", "role": "agent"}),
    ("/teams/{team}/invitations/{invitation}/cancel/", {}),
    ("/teams/{team}/members/{member}/role/", {"role": "agent"}),
    ("/teams/{team}/members/{member}/remove/", {}),
    ("/teams/{team}/settings/name/", {"name": "Pwned"}),
    ("/teams/{team}/keys/", {"name": "mine now"}),
    ("/teams/{team}/keys/{account_key}/revoke/", {}),
    ("/teams/{team}/apps/new/", {"name": "Intruder"}),
    ("/apps/{app}/settings/name/", {"name": "Pwned"}),
    ("/apps/{app}/delete/", {"confirm_name": "App B"}),
    ("/apps/{app}/keys/", {"name": "mine now"}),
    ("/apps/{app}/keys/{app_key}/revoke/", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("htmx", [False, True])
def test_it_hides_team_bs_pages_from_team_a(owner_client, team_b, path, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    assert owner_client.get(path.format(**team_b), **headers).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("path, data", ACTIONS)
def test_it_refuses_team_bs_actions_to_team_a_and_changes_nothing(owner_client, team_b, path, data):
    before = {
        "apps": list(App.objects.values_list("id", "name").order_by("id")),
        "keys": list(ApiKey.objects.values_list("key_id", "revoked_at").order_by("key_id")),
        "members": list(Membership.objects.values_list("id", "role").order_by("id")),
        "invitations": list(Invitation.objects.values_list("id", flat=True).order_by("id")),
        "team": stranger_team_name(team_b),
    }
    response = owner_client.post(path.format(**team_b), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    after = {
        "apps": list(App.objects.values_list("id", "name").order_by("id")),
        "keys": list(ApiKey.objects.values_list("key_id", "revoked_at").order_by("key_id")),
        "members": list(Membership.objects.values_list("id", "role").order_by("id")),
        "invitations": list(Invitation.objects.values_list("id", flat=True).order_by("id")),
        "team": stranger_team_name(team_b),
    }
    assert after == before


def stranger_team_name(team_b):
    from messaging.models import Team

    return Team.objects.get(pk=team_b["team"]).name


@pytest.mark.django_db
def test_it_hides_team_a_keys_behind_team_bs_app(client, stranger, stranger_app, app):
    """Mixing ids: a key of team A through team B's own app is not found."""
    client.force_login(stranger)
    response = client.post(f"/apps/{stranger_app.id}/keys/{app.test_key.key_id}/revoke/")
    assert response.status_code == 404
    app.test_key.refresh_from_db()
    assert app.test_key.revoked_at is None


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_log_in(client, app):
    for path in (f"/apps/{app.id}/", f"/teams/{app.team_id}/", "/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
