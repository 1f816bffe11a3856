"""The team's audit trail: record a team-admin action, read a team's trail.

The services that make the changes (accounts, apps, logs, integrations,
webhook_config) call `record` in the same transaction as the change, so
an action and its entry are stored together or not at all. Their callers
say who acts as an `Actor` value: a dashboard member (`Actor.member`) or
an API key (`Actor.api_key`), with the client address as
messaging.client_address resolved it. Entries hold copies (ids, emails,
names), never foreign keys to the actor or the target, and never secrets.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from messaging.models import ActorKind, AuditAction, AuditEntry, Membership
from messaging.services.errors import PermissionDenied

__all__ = ["Actor", "AuditAction", "BY_CALLER", "SYSTEM", "entries_for", "record", "safe_url"]

LABEL_MAX = 300


@dataclass(frozen=True)
class Actor:
    """Who acts, as values copied into each entry."""

    kind: str
    id: str = ""
    label: str = ""
    address: str = ""

    @classmethod
    def member(cls, user, address: str) -> "Actor":
        """A signed-in dashboard user: their id, and their email and name
        as they are now (the entry keeps them if the user changes or goes)."""
        label = f"{user.name} <{user.email}>" if user.name else user.email
        return cls(kind=ActorKind.USER, id=str(user.pk), label=label, address=address)

    @classmethod
    def api_key(cls, key, address: str) -> "Actor":
        """A call signed with an API key: its id and name, never its secret."""
        return cls(kind=ActorKind.KEY, id=key.key_id, label=key.name or key.key_id, address=address)


# A management command (createapp, firstrun) or code calling a service
# directly: recorded as the system, with no address.
SYSTEM = Actor(kind=ActorKind.SYSTEM, label="system")
# `actor=BY_CALLER`: the caller records this change itself, within a larger
# action of its own (configure_app applying a name and settings records
# one "app.update", not one per setting).
BY_CALLER = None


def _cut(value) -> str:
    return str(value or "")[:LABEL_MAX]


def record(
    actor: Actor | None,
    *,
    team_id: int,
    action: str,
    target_kind: str,
    target_id="",
    target_label="",
    app_id: str = "",
    details: dict | None = None,
) -> AuditEntry | None:
    """Store one entry (nothing when `actor` is BY_CALLER). `details` must
    be small and hold no secret: names of changed fields, roles, types."""
    if actor is BY_CALLER:
        return None
    if action not in AuditAction.values:
        raise ValueError(action)
    return AuditEntry.objects.create(
        team_id=team_id,
        actor_kind=actor.kind,
        actor_id=_cut(actor.id)[:64],
        actor_label=_cut(actor.label),
        address=_cut(actor.address)[:64],
        action=action,
        app_id=app_id or "",
        target_kind=target_kind,
        target_id=_cut(target_id)[:64],
        target_label=_cut(target_label),
        details=details or {},
    )


def safe_url(url: str) -> str:
    """A webhook target as the trail shows it: without any user:password
    or query string, where a receiver's credentials could hide."""
    try:
        parts = urlsplit(url or "")
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else ""


def entries_for(membership: Membership):
    """The member's team's trail, newest first: owners and admins only
    (PermissionDenied for an agent)."""
    # accounts.require_manager's rule, checked here: accounts records
    # through this module, which so imports none of the services.
    if not membership.can_manage:
        raise PermissionDenied("Only owners and admins can see the audit log.")
    return AuditEntry.objects.filter(team_id=membership.team_id).order_by("-created_at", "-id")
