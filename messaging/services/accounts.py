"""Team accounts: sign-up, teams, members, roles and invitations.

Every function takes instances and values (never a request), runs in one
transaction and raises a typed `ServiceError` that each caller renders its
own way. Whoever acts is passed as their `Membership` so the rules (only
owners and admins manage; only owners touch the owner role; a team keeps an
owner) live here, not in views.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from messaging import events
from messaging.models import Invitation, Membership, Role, Team, User
from messaging.services import audit, inbox
from messaging.services.audit import AuditAction
from messaging.services.errors import Conflict, PermissionDenied, ServiceError

# An invite link is a bearer credential sent by email: it stops working after
# this long, and once used.
INVITATION_TTL = timedelta(days=7)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _require_name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(f"The {what} must not be empty.", code="bad_request")
    return value


@transaction.atomic
def sign_up(*, email: str, password: str, team_name: str, name: str = "") -> Membership:
    """A new user and the team they own."""
    email = normalize_email(email)
    team_name = _require_name(team_name, "team name")
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("An account with this email already exists.")
    user = User.objects.create_user(email=email, password=password, name=name.strip())
    team = Team.objects.create(name=team_name)
    return Membership.objects.create(team=team, user=user, role=Role.OWNER)


@transaction.atomic
def create_team(*, user: User, name: str) -> Membership:
    """Another team for an existing user, who owns it."""
    team = Team.objects.create(name=_require_name(name, "team name"))
    return Membership.objects.create(team=team, user=user, role=Role.OWNER)


@transaction.atomic
def rename_team(*, membership: Membership, name: str, actor: audit.Actor = audit.SYSTEM) -> Team:
    require_manager(membership)
    team = membership.team
    old = team.name
    team.name = _require_name(name, "team name")
    team.save(update_fields=["name"])
    audit.record(actor, team_id=team.id, action=AuditAction.TEAM_RENAME, target_kind="team",
                 target_id=team.id, target_label=team.name, details={"from": old})
    return team


def memberships_of(user) -> "list[Membership]":
    """The user's teams, as their memberships, by team name."""
    return list(
        Membership.objects.filter(user=user).select_related("team").order_by("team__name", "team_id")
    )


def membership_for(user, team_id) -> Membership | None:
    return Membership.objects.select_related("team").filter(user=user, team_id=team_id).first()


def require_manager(membership: Membership) -> None:
    if not membership.can_manage:
        raise PermissionDenied("Only owners and admins can do this.")


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ServiceError(f"{role!r} is not a role.", code="bad_request")


def roles_grantable_by(membership: Membership) -> list[str]:
    """The roles this member may give: owners any, admins all but owner."""
    if membership.role == Role.OWNER:
        return list(Role.values)
    if membership.role == Role.ADMIN:
        return [Role.ADMIN, Role.AGENT]
    return []


@transaction.atomic
def invite(*, membership: Membership, email: str, role: str, actor: audit.Actor = audit.SYSTEM) -> Invitation:
    """An open invitation (replacing any earlier one for the same address)."""
    require_manager(membership)
    _check_role(role)
    team = membership.team
    email = normalize_email(email)
    if role == Role.OWNER and membership.role != Role.OWNER:
        raise PermissionDenied("Only owners can invite owners.")
    if team.memberships.filter(user__email__iexact=email).exists():
        raise Conflict("This person is already a member of the team.")
    Invitation.objects.filter(team=team, email=email, accepted_at__isnull=True).delete()
    invitation = Invitation.objects.create(team=team, email=email, role=role, invited_by=membership.user)
    # The invitation's token is a credential: never in the trail.
    audit.record(actor, team_id=team.id, action=AuditAction.MEMBER_INVITE, target_kind="invitation",
                 target_id=invitation.pk, target_label=email, details={"role": role})
    return invitation


def open_invitations(team: Team):
    return Invitation.objects.filter(
        team=team, accepted_at__isnull=True, created_at__gte=timezone.now() - INVITATION_TTL
    ).order_by("email")


def open_invitation(token: str) -> Invitation | None:
    """The invitation behind an invite link, if it can still be used."""
    return (
        Invitation.objects.select_related("team")
        .filter(
            token=token,
            accepted_at__isnull=True,
            created_at__gte=timezone.now() - INVITATION_TTL,
        )
        .first()
    )


@transaction.atomic
def cancel_invitation(*, membership: Membership, invitation: Invitation,
                      actor: audit.Actor = audit.SYSTEM) -> None:
    require_manager(membership)
    if invitation.team_id != membership.team_id:
        raise PermissionDenied("Not an invitation of your team.")
    audit.record(actor, team_id=invitation.team_id, action=AuditAction.MEMBER_INVITATION_CANCEL,
                 target_kind="invitation", target_id=invitation.pk, target_label=invitation.email,
                 details={"role": invitation.role})
    invitation.delete()


def invitee_exists(invitation: Invitation) -> bool:
    return User.objects.filter(email__iexact=invitation.email).exists()


@transaction.atomic
def accept_invitation(
    invitation: Invitation, *, user: User | None = None, password: str | None = None, name: str = "",
    address: str = "",
) -> User:
    """Join the invitation's team, recorded in its trail as done by the
    joining user from `address` (their client address).

    `user` given: an existing, logged-in user whose email is the invited one
    joins. Otherwise a new user is created with `password`; if an account with
    that email appeared meanwhile, the caller must log that account in first
    (knowing the link is not knowing its password).
    """
    invitation = Invitation.objects.select_for_update().select_related("team").get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation has already been used.")
    if invitation.created_at < timezone.now() - INVITATION_TTL:
        raise Conflict("This invitation has expired.")
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if user is not None:
        if normalize_email(user.email) != invitation.email:
            raise PermissionDenied(f"This invitation is for {invitation.email}.")
    elif existing is not None:
        raise Conflict("An account with this email already exists: log in to accept.")
    else:
        if not password:
            raise ServiceError("A password is required.", code="bad_request")
        user = User.objects.create_user(email=invitation.email, password=password, name=name.strip())
    joined, _ = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(audit.Actor.member(user, address), team_id=invitation.team_id,
                 action=AuditAction.MEMBER_ACCEPT, target_kind="member", target_id=user.pk,
                 target_label=user.email, details={"role": joined.role, "invitation": invitation.pk})
    return user


@transaction.atomic
def change_role(*, membership: Membership, target: Membership, role: str,
                actor: audit.Actor = audit.SYSTEM) -> Membership:
    require_manager(membership)
    _check_role(role)
    if target.team_id != membership.team_id:
        raise PermissionDenied("Not a member of your team.")
    target = Membership.objects.select_for_update().get(pk=target.pk)
    if Role.OWNER in (role, target.role) and membership.role != Role.OWNER:
        raise PermissionDenied("Only owners can grant or take away the owner role.")
    if target.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(target)
    old = target.role
    target.role = role
    target.save(update_fields=["role"])
    if old != role:
        audit.record(actor, team_id=target.team_id, action=AuditAction.MEMBER_ROLE_CHANGE, target_kind="member",
                     target_id=target.user_id, target_label=target.user.email, details={"from": old, "to": role})
    member_access_changed(target.user_id, "role changed")
    return target


@transaction.atomic
def remove_member(*, membership: Membership, target: Membership, actor: audit.Actor = audit.SYSTEM) -> None:
    require_manager(membership)
    if target.team_id != membership.team_id:
        raise PermissionDenied("Not a member of your team.")
    target = Membership.objects.select_for_update().get(pk=target.pk)
    if target.role == Role.OWNER:
        if membership.role != Role.OWNER:
            raise PermissionDenied("Only owners can remove an owner.")
        _keep_an_owner(target)
    # Their conversations become unassigned, each with its event.
    inbox.member_leaving(target, by=membership)
    audit.record(actor, team_id=target.team_id, action=AuditAction.MEMBER_REMOVE, target_kind="member",
                 target_id=target.user_id, target_label=target.user.email, details={"role": target.role})
    target.delete()
    member_access_changed(target.user_id, "removed from the team")


def member_access_changed(user_id, reason: str) -> None:
    """The member's open dashboard sockets re-check their access at once
    (dashboard.consumers) once this transaction commits, and close when the
    member no longer reaches their app."""
    events.access_changed([events.member_group(user_id)], reason)


# Accounts are deactivated or deleted through Django's admin, which saves
# the User itself: the signals catch it wherever it happens.
@receiver(post_save, sender=User, dispatch_uid="parley-member-deactivated")
def _user_saved(sender, instance, created, **kwargs):
    if not created and not instance.is_active:
        member_access_changed(instance.pk, "account deactivated")


@receiver(post_delete, sender=User, dispatch_uid="parley-member-deleted")
def _user_deleted(sender, instance, **kwargs):
    member_access_changed(instance.pk, "account deleted")


def _keep_an_owner(target: Membership) -> None:
    """Refuse to leave the team without an owner. Locks the owners' rows so
    two owners demoting each other at once cannot both succeed."""
    owners = list(
        Membership.objects.select_for_update()
        .filter(team_id=target.team_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if not [pk for pk in owners if pk != target.pk]:
        raise Conflict("A team needs at least one owner.")
