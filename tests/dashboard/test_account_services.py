"""Rules of messaging.services.accounts the dashboard relies on, checked at
the service (the REST API and commands call it too)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Invitation, Membership, Role
from messaging.services import accounts
from messaging.services.errors import Conflict, PermissionDenied
from tests.support.cast import add_member


@pytest.mark.django_db
def test_it_expires_invitations_after_a_week(team, owner):
    owner_membership = Membership.objects.get(user=owner)
    invitation = accounts.invite(membership=owner_membership, email="late@a.example", role=Role.AGENT)
    Invitation.objects.filter(pk=invitation.pk).update(created_at=timezone.now() - timedelta(days=8))
    assert accounts.open_invitation(invitation.token) is None
    with pytest.raises(Conflict):
        accounts.accept_invitation(invitation, password="a long passphrase")
    assert not Membership.objects.filter(user__email="late@a.example").exists()


@pytest.mark.django_db
def test_it_will_not_set_a_password_on_an_existing_account(team, owner, stranger):
    owner_membership = Membership.objects.get(user=owner)
    invitation = accounts.invite(membership=owner_membership, email=stranger.email, role=Role.AGENT)
    with pytest.raises(Conflict):
        accounts.accept_invitation(invitation, password="hijacked passphrase")
    stranger.refresh_from_db()
    assert not stranger.check_password("hijacked passphrase")
    assert not Membership.objects.filter(user=stranger, team=team).exists()


@pytest.mark.django_db
def test_it_keeps_an_owner_when_two_owners_demote_each_other(team, owner):
    first = Membership.objects.get(user=owner)
    second = add_member(team, "second@a.example", Role.OWNER)
    accounts.change_role(membership=first, target=second, role=Role.ADMIN)
    second.refresh_from_db()
    with pytest.raises(PermissionDenied):  # no longer an owner
        accounts.change_role(membership=second, target=first, role=Role.ADMIN)
    with pytest.raises(Conflict):
        accounts.change_role(membership=first, target=first, role=Role.ADMIN)
    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1
