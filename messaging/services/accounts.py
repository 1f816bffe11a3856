"""Team accounts: sign-up, members, roles and invitations."""

from django.db import transaction
from django.utils import timezone

from messaging.models import Invitation, Membership, Role, Team, User
from messaging.services.errors import Conflict, PermissionDenied


@transaction.atomic
def sign_up(*, email: str, password: str, team_name: str, name: str = "") -> Membership:
    """A new user and the team they own."""
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("An account with this email already exists.")
    user = User.objects.create_user(email=email, password=password, name=name)
    team = Team.objects.create(name=team_name)
    return Membership.objects.create(team=team, user=user, role=Role.OWNER)


def membership_for(user, team_id) -> Membership | None:
    return Membership.objects.select_related("team").filter(user=user, team_id=team_id).first()


def require_manager(membership: Membership) -> None:
    if not membership.can_manage:
        raise PermissionDenied("Only owners and admins can do this.")


@transaction.atomic
def invite(*, membership: Membership, email: str, role: str) -> Invitation:
    require_manager(membership)
    team = membership.team
    email = email.strip().lower()
    if role == Role.OWNER and membership.role != Role.OWNER:
        raise PermissionDenied("Only owners can invite owners.")
    if team.memberships.filter(user__email__iexact=email).exists():
        raise Conflict("This person is already a member of the team.")
    Invitation.objects.filter(team=team, email=email, accepted_at__isnull=True).delete()
    return Invitation.objects.create(
        team=team, email=email, role=role, invited_by=membership.user
    )


def open_invitation(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("team")
        .filter(token=token, accepted_at__isnull=True)
        .first()
    )


@transaction.atomic
def accept_invitation(invitation: Invitation, *, password: str | None, name: str = "") -> User:
    """Join the team; a new user sets their password, an existing one keeps it."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation has already been used.")
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        user = User.objects.create_user(email=invitation.email, password=password, name=name)
    Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user


@transaction.atomic
def change_role(*, membership: Membership, target: Membership, role: str) -> Membership:
    require_manager(membership)
    if target.team_id != membership.team_id:
        raise PermissionDenied("Not a member of your team.")
    if Role.OWNER in (role, target.role) and membership.role != Role.OWNER:
        raise PermissionDenied("Only owners can grant or take away the owner role.")
    if target.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(target)
    target.role = role
    target.save(update_fields=["role"])
    return target


@transaction.atomic
def remove_member(*, membership: Membership, target: Membership) -> None:
    require_manager(membership)
    if target.team_id != membership.team_id:
        raise PermissionDenied("Not a member of your team.")
    if target.role == Role.OWNER:
        if membership.role != Role.OWNER:
            raise PermissionDenied("Only owners can remove an owner.")
        _keep_an_owner(target)
    target.delete()


def _keep_an_owner(target: Membership) -> None:
    owners = Membership.objects.select_for_update().filter(team_id=target.team_id, role=Role.OWNER)
    if owners.exclude(pk=target.pk).count() == 0:
        raise Conflict("A team needs at least one owner.")
