"""The team's audit trail through the dashboard: every team-admin action
(members, roles, keys, apps and their settings, integrations, webhooks)
leaves one entry with its actor, time and client address; the Audit log
page shows it to owners and admins only, newest first, page by page; an
entry outlives its actor's removal and deletion; no other team sees it."""

import ipaddress
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from messaging.models import ApiKey, App, AuditEntry, Integration, Invitation, KeyScope, Membership, Role, User, Webhook
from messaging.services import audit
from messaging.services.apps import create_key
from messaging.services.errors import PermissionDenied
from tests.support.cast import PASSWORD

ADDRESS = "198.51.100.23"
SECRET = "fk-live-Audit7Qz9Xw2Lm4N"
TARGET = "https://hooks.example/parley"



def logged_in(user) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(user)
    return client


class Trail:
    """The entries a step adds to a team's trail."""

    def __init__(self, team):
        self.team = team
        self.seen = 0

    def new(self) -> list[AuditEntry]:
        rows = list(AuditEntry.objects.filter(team=self.team, id__gt=self.seen).order_by("id"))
        if rows:
            self.seen = rows[-1].id
        return rows

    def one(self, action, actor, *, target_kind, target_label=None, address=ADDRESS) -> AuditEntry:
        """Exactly one new entry, for `action` by the user `actor` from
        `address`, made just now."""
        rows = self.new()
        assert [row.action for row in rows] == [action], rows
        entry = rows[0]
        assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("user", str(actor.pk), actor.email)
        assert entry.address == address
        assert entry.target_kind == target_kind
        if target_label is not None:
            assert entry.target_label == target_label
        assert timezone.now() - timedelta(minutes=1) < entry.created_at <= timezone.now()
        return entry


@pytest.fixture
def trail(team, app):
    trail = Trail(team)
    trail.new()  # what the fixtures' own set-up recorded
    return trail


def no_secret_in(entry, *secrets):
    text = json.dumps([entry.actor_label, entry.target_id, entry.target_label, entry.details])
    for secret in secrets:
        assert secret not in text


def test_member_actions_are_recorded_with_actor_time_and_address(owner, team, trail):
    client = logged_in(owner)
    assert client.post(f"/teams/{team.id}/invite/", {"email": "new@a.example", "role": "agent"}).status_code == 302
    invite = trail.one("member.invite", owner, target_kind="invitation", target_label="new@a.example")
    assert invite.details == {"role": "agent"}
    invitation = Invitation.objects.get(email="new@a.example")
    no_secret_in(invite, invitation.token)

    # The invitee accepts from elsewhere: they are the actor.
    invitee = Client(REMOTE_ADDR="203.0.113.50")
    response = invitee.post(f"/invite/{invitation.token}/", {"name": "Nina", "password1": "a-Long-pass-9!",
                                                             "password2": "a-Long-pass-9!"})
    assert response.status_code == 302, response.content
    new = User.objects.get(email="new@a.example")
    accepted = trail.new()
    assert [e.action for e in accepted] == ["member.accept"]
    assert (accepted[0].actor_id, accepted[0].actor_label, accepted[0].address) == (
        str(new.pk), "Nina <new@a.example>", "203.0.113.50")
    assert accepted[0].details["role"] == "agent"

    member = Membership.objects.get(user=new)
    assert client.post(f"/teams/{team.id}/members/{member.id}/role/", {"role": "admin"}).status_code == 302
    role = trail.one("member.role_change", owner, target_kind="member", target_label="new@a.example")
    assert role.details == {"from": "agent", "to": "admin"} and role.target_id == str(new.pk)

    assert client.post(f"/teams/{team.id}/members/{member.id}/remove/").status_code == 302
    removed = trail.one("member.remove", owner, target_kind="member", target_label="new@a.example")
    assert removed.details == {"role": "admin"}

    other = Invitation.objects.create(team=team, email="later@a.example", role=Role.ADMIN)
    assert client.post(f"/teams/{team.id}/invitations/{other.id}/cancel/").status_code == 302
    trail.one("member.invitation_cancel", owner, target_kind="invitation", target_label="later@a.example")

    assert client.post(f"/teams/{team.id}/settings/name/", {"name": "Team A2"}).status_code == 302
    assert trail.one("team.rename", owner, target_kind="team", target_label="Team A2").details == {"from": "Team A"}


def test_a_refused_or_empty_action_records_nothing(admin, agent, owner, team, trail):
    client = logged_in(admin)
    owner_membership = Membership.objects.get(user=owner)
    # Admins cannot touch owners: refused, so nothing happened to record.
    client.post(f"/teams/{team.id}/members/{owner_membership.id}/role/", {"role": "agent"})
    client.post(f"/teams/{team.id}/invite/", {"email": "", "role": "agent"})
    # An agent made an agent again: nothing changed.
    agent_membership = Membership.objects.get(user=agent)
    assert client.post(f"/teams/{team.id}/members/{agent_membership.id}/role/", {"role": "agent"}).status_code == 302
    # An agent may not act at all.
    logged_in(agent).post(f"/teams/{team.id}/keys/", {"name": "agent key"})
    assert not ApiKey.objects.filter(name="agent key").exists()
    assert trail.new() == []


def test_key_actions_are_recorded_without_the_secret(owner, team, app, trail):
    client = logged_in(owner)
    response = client.post(f"/teams/{team.id}/keys/", {"name": "ci"})
    assert response.status_code == 200
    key = ApiKey.objects.get(team=team, scope=KeyScope.ACCOUNT, name="ci")
    created = trail.one("key.create", owner, target_kind="key", target_label="ci")
    assert (created.target_id, created.details) == (key.key_id, {"scope": "account"})
    no_secret_in(created, key.secret)
    assert client.post(f"/teams/{team.id}/keys/{key.key_id}/revoke/").status_code == 302
    trail.one("key.revoke", owner, target_kind="key", target_label="ci")

    assert client.post(f"/apps/{app.id}/keys/", {"name": "server"}).status_code == 200
    app_key = ApiKey.objects.get(app=app, name="server")
    created = trail.one("key.create", owner, target_kind="key", target_label="server")
    assert (created.app_id, created.details) == (app.id, {"scope": "app"})
    no_secret_in(created, app_key.secret)
    assert client.post(f"/apps/{app.id}/keys/{app_key.key_id}/revoke/").status_code == 302
    trail.one("key.revoke", owner, target_kind="key", target_label="server")
    # Revoking it again changes nothing, and records nothing.
    client.post(f"/apps/{app.id}/keys/{app_key.key_id}/revoke/")
    assert trail.new() == []


def test_app_actions_and_settings_are_recorded(admin, team, trail):
    client = logged_in(admin)
    assert client.post(f"/teams/{team.id}/apps/new/", {"name": "Shop"}).status_code == 302
    app = App.objects.get(team=team, name="Shop")
    created = trail.one("app.create", admin, target_kind="app", target_label="Shop")
    assert (created.target_id, created.app_id) == (app.id, app.id)

    assert client.post(f"/apps/{app.id}/settings/name/", {"name": "Shop 2"}).status_code == 302
    assert trail.one("app.update", admin, target_kind="app", target_label="Shop 2").details == {
        "settings": ["name"], "from": "Shop"}
    assert client.post(f"/apps/{app.id}/settings/user-jwt/", {}).status_code == 302
    assert trail.one("app.update", admin, target_kind="app").details == {
        "settings": ["requireUserJwt"], "requireUserJwt": False}
    widget = {"name": "Acme", "icon_url": "", "accent_color": "#FF6600", "greeting": "Hi",
              "allowed_origins": "https://shop.acme.example"}
    assert client.post(f"/apps/{app.id}/widget/", widget).status_code == 302
    assert trail.one("app.update", admin, target_kind="app").details == {"settings": ["widget", "allowedOrigins"]}
    assert client.post(f"/apps/{app.id}/log/retention/", {"days": "30"}).status_code == 302
    assert trail.one("app.update", admin, target_kind="app").details == {
        "settings": ["logRetentionDays"], "logRetentionDays": 30}

    assert client.post(f"/apps/{app.id}/delete/", {"confirm_name": "Shop 2"}).status_code == 302
    assert not App.objects.filter(pk=app.pk).exists()
    deleted = trail.one("app.delete", admin, target_kind="app", target_label="Shop 2")
    # The app's entries stay with it gone.
    assert AuditEntry.objects.filter(team=team, app_id=app.id).count() == 6
    assert deleted.app_id == app.id


def test_integration_actions_are_recorded_without_credentials(owner, app, trail, platform):
    client = logged_in(owner)
    base = f"/apps/{app.id}/integrations"
    response = client.post(f"{base}/new/fake/", {"apiKey": SECRET, "account": "shop", "displayName": "Shop bot"})
    assert response.status_code == 302, response.content
    row = Integration.objects.get(app=app, type="fake")
    created = trail.one("integration.create", owner, target_kind="integration", target_label="Shop bot")
    assert (created.target_id, created.app_id, created.details) == (row.id, app.id, {"type": "fake"})
    new_secret = "fk-live-Audit2Bv3Hy5Jk1C"
    response = client.post(f"{base}/{row.id}/edit/", {"apiKey": new_secret, "account": "shop",
                                                      "displayName": "Shop bot"})
    assert response.status_code == 302
    updated = trail.one("integration.update", owner, target_kind="integration")
    # Only what changed is named (the form sends the unchanged rest too), never its value.
    assert updated.details == {"type": "fake", "changed": ["apiKey"]}
    assert client.post(f"{base}/{row.id}/delete/").status_code == 302
    deleted = trail.one("integration.delete", owner, target_kind="integration", target_label="Shop bot")
    for entry in (created, updated, deleted):
        no_secret_in(entry, SECRET, new_secret)


def test_webhook_actions_are_recorded_without_secrets(owner, app, trail):
    client = logged_in(owner)
    base = f"/apps/{app.id}/webhooks"
    assert client.post(f"{base}/new/", {"target": TARGET, "triggers": ["message:appUser"]}).status_code == 302
    webhook = Webhook.objects.get(app=app)
    created = trail.one("webhook.create", owner, target_kind="webhook", target_label=TARGET)
    assert (created.target_id, created.details) == (webhook.id, {"triggers": ["message:appUser"]})
    response = client.post(f"{base}/{webhook.id}/edit/", {"target": TARGET, "triggers": ["message:appUser"],
                                                         "enabled": ""})
    assert response.status_code == 302
    updated = trail.one("webhook.update", owner, target_kind="webhook")
    assert updated.details["enabled"] is False and "enabled" in updated.details["changed"]
    assert client.post(f"{base}/{webhook.id}/enable/").status_code == 302
    assert trail.one("webhook.update", owner, target_kind="webhook").details["enabled"] is True
    old = (webhook.secret, webhook.signing_secret)
    assert client.post(f"{base}/{webhook.id}/secrets/rotate/").status_code == 200
    assert trail.one("webhook.rotate_secret", owner, target_kind="webhook").details == {"secret": "apiKey"}
    assert client.post(f"{base}/{webhook.id}/signing-secret/rotate/").status_code == 200
    rotated = trail.one("webhook.rotate_secret", owner, target_kind="webhook")
    assert rotated.details == {"secret": "signing"}
    webhook.refresh_from_db()
    assert client.post(f"{base}/{webhook.id}/delete/").status_code == 302
    deleted = trail.one("webhook.delete", owner, target_kind="webhook", target_label=TARGET)
    for entry in AuditEntry.objects.filter(target_kind="webhook"):
        no_secret_in(entry, *old, webhook.secret, webhook.signing_secret)
    assert deleted.target_id == webhook.id


def test_the_address_is_the_client_behind_a_trusted_proxy_only(owner, team, trail, settings):
    settings.PARLEY_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    client = logged_in(owner)
    client.post(f"/teams/{team.id}/settings/name/", {"name": "Via proxy"}, REMOTE_ADDR="10.1.2.3",
                HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    trail.one("team.rename", owner, target_kind="team", address="203.0.113.9")
    # A client that is no proxy claims another address: its own is recorded.
    client.post(f"/teams/{team.id}/settings/name/", {"name": "Spoofed"}, HTTP_X_FORWARDED_FOR="203.0.113.9")
    trail.one("team.rename", owner, target_kind="team", address=ADDRESS)


def test_an_entry_outlives_its_actors_removal_and_deletion(owner, admin, team, trail):
    logged_in(admin).post(f"/teams/{team.id}/keys/", {"name": "admin's key"})
    entry = trail.one("key.create", admin, target_kind="key")
    client = logged_in(owner)
    admin_membership = Membership.objects.get(user=admin)
    assert client.post(f"/teams/{team.id}/members/{admin_membership.id}/remove/").status_code == 302
    admin_id = admin.pk
    admin.delete()
    entry.refresh_from_db()
    assert (entry.actor_id, entry.actor_label, entry.address) == (str(admin_id), "admin@a.example", ADDRESS)
    page = client.get(f"/teams/{team.id}/audit/").content.decode()
    assert "admin@a.example" in page and "key.create" in page and "admin&#x27;s key" in page


def test_owners_and_admins_see_the_trail_agents_do_not(owner, admin, agent, team, trail):
    logged_in(owner).post(f"/teams/{team.id}/settings/name/", {"name": "Renamed team"})
    for user in (owner, admin):
        client = logged_in(user)
        assert f'href="/teams/{team.id}/audit/"' in client.get(f"/teams/{team.id}/").content.decode()
        page = client.get(f"/teams/{team.id}/audit/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "team.rename" in body and "owner@a.example" in body and ADDRESS in body
    client = logged_in(agent)
    assert "/audit/" not in client.get(f"/teams/{team.id}/").content.decode()
    response = client.get(f"/teams/{team.id}/audit/")
    assert response.status_code == 403
    assert "team.rename" not in response.content.decode()
    with pytest.raises(PermissionDenied):
        audit.entries_for(Membership.objects.get(user=agent))


def test_another_teams_owner_sees_none_of_it(owner, stranger, team, stranger_team, trail):
    logged_in(owner).post(f"/teams/{team.id}/settings/name/", {"name": "Secret plans"})
    client = logged_in(stranger)
    assert client.get(f"/teams/{team.id}/audit/").status_code == 404
    own = client.get(f"/teams/{stranger_team.id}/audit/")
    assert own.status_code == 200 and "Secret plans" not in own.content.decode()
    assert not audit.entries_for(Membership.objects.get(user=stranger)).filter(team=team).exists()


def test_the_page_is_paginated_newest_first(owner, team, trail):
    actor = audit.Actor.member(owner, ADDRESS)
    for n in range(60):
        audit.record(actor, team_id=team.id, action="team.rename", target_kind="team", target_label=f"name {n:02}")
    client = logged_in(owner)
    first = client.get(f"/teams/{team.id}/audit/").content.decode()
    assert "name 59" in first and "name 10" in first and "name 09" not in first
    assert first.index("name 59") < first.index("name 58")
    assert "Page 1 of 2" in first
    second = client.get(f"/teams/{team.id}/audit/", {"page": 2}).content.decode()
    assert "name 09" in second and "name 00" in second and "name 10" not in second


def test_the_trail_shows_a_webhook_target_without_its_credentials():
    assert audit.safe_url("https://user:pw@hooks.example:8443/in?token=abc") == "https://hooks.example:8443/in"
    assert audit.safe_url("not a url") == ""


def test_service_calls_without_an_actor_are_the_system(team):
    key, _ = create_key(team=team, scope=KeyScope.ACCOUNT, name="from a command")
    entry = AuditEntry.objects.get(team=team, action="key.create", target_id=key.key_id)
    assert (entry.actor_kind, entry.actor_label, entry.address) == ("system", "system", "")


def test_the_accepting_password_is_never_recorded(owner, team, trail):
    invitation = Invitation.objects.create(team=team, email="pw@a.example", role=Role.AGENT)
    Client().post(f"/invite/{invitation.token}/", {"password1": PASSWORD + "x9!Z", "password2": PASSWORD + "x9!Z"})
    entry = AuditEntry.objects.get(team=team, action="member.accept")
    no_secret_in(entry, PASSWORD + "x9!Z", invitation.token)
