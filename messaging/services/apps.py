"""Apps and API keys."""

import secrets

from django.db import transaction
from django.utils import timezone

from messaging.models import ApiKey, App, KeyScope, Membership, Team
from messaging.services.accounts import require_manager
from messaging.services.errors import PermissionDenied

DEFAULT_SETTINGS = {
    # None = the seed's rule with PARLEY_FAILOVER_SECONDS; see delivery/.
    "failover": None,
    "logRetentionDays": None,
    "widget": {},
    "allowedOrigins": [],
}


def create_app(*, team: Team, name: str) -> App:
    return App.objects.create(team=team, name=name.strip())


def rename_app(*, membership: Membership, app: App, name: str) -> App:
    require_manager(membership)
    app.name = name.strip()
    app.save(update_fields=["name"])
    return app


def delete_app(*, membership: Membership, app: App) -> None:
    require_manager(membership)
    app.delete()


def new_key_id(scope: str) -> str:
    prefix = "app" if scope == KeyScope.APP else "act"
    return f"{prefix}_{secrets.token_hex(12)}"


@transaction.atomic
def create_key(*, team: Team, scope: str, app: App | None = None, name: str = "", created_by=None):
    """A new API key; returns (key, secret). The secret is shown once."""
    if scope == KeyScope.APP and (app is None or app.team_id != team.id):
        raise PermissionDenied("An app-scope key belongs to one of the team's apps.")
    if scope == KeyScope.ACCOUNT:
        app = None
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        key_id=new_key_id(scope),
        secret=secret,
        secret_last4=secret[-4:],
        name=name,
        scope=scope,
        team=team,
        app=app,
        created_by=created_by,
    )
    return key, secret


def revoke_key(key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key
