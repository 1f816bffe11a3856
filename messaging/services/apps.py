"""Apps and API keys, and the Web Messenger's settings (branding, allowed
origins, whether a userId needs a signed JWT).

The dashboard and the REST API (messaging.api.views.apps) call the same
functions, so the rules are the same. Who acts is `membership`:
- a dashboard member's Membership: they must manage this very team (owners
  and admins, `check_acting`);
- None (`TEAM_ITSELF`): the team itself, i.e. its account-scope API key (or
  a management command). An account key is created by an owner or an admin
  and acts for the whole team, like Smooch's account keys, whoever made it;
  the caller has already scoped the objects to that key's team (the API
  resolves apps through the key's team: messaging.api.auth).
"""

import logging
import secrets

from django.db import transaction
from django.utils import timezone

from messaging.models import ApiKey, App, KeyScope, Membership, Team
from messaging.services import audit, logs, media, sdk_access
from messaging.services.audit import AuditAction
from messaging.services.accounts import require_manager
from messaging.services.errors import NotFound, PermissionDenied, ServiceError

logger = logging.getLogger(__name__)

# `membership=TEAM_ITSELF`: the team's own account-scope API key acts (see
# the module docstring).
TEAM_ITSELF = None
# App.settings keys the API's `settings` reads and writes, and where.
METADATA_KEY = "metadata"


def _app_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError("The app name must not be empty.", code="bad_request")
    return name


def check_acting(membership: Membership | None, team_id: int) -> None:
    """When a dashboard member acts (membership given), they must manage
    this very team (owner or admin). `TEAM_ITSELF` (None) is the team's
    account-scope API key, or a management command: the team acting on
    objects the caller already found within it."""
    if membership is None:
        return
    if membership.team_id != team_id:
        raise PermissionDenied("Not your team.")
    require_manager(membership)


def _record_app(actor, action: str, app: App, details: dict | None = None) -> None:
    audit.record(actor, team_id=app.team_id, action=action, target_kind="app", target_id=app.id,
                 target_label=app.name, app_id=app.id, details=details)


@transaction.atomic
def create_app(
    *, team: Team, name: str, membership: Membership | None = None, require_user_jwt: bool = True,
    actor: audit.Actor | None = audit.SYSTEM,
) -> App:
    """A new app. Every way of creating one (dashboard, `createapp`,
    `firstrun`) comes here, so every new app starts with `requireUserJwt`
    on; apps that existed before it keep Smooch v1's behaviour (migration
    0006)."""
    check_acting(membership, team.id)
    app = App.objects.create(team=team, name=_app_name(name), require_user_jwt=require_user_jwt)
    _record_app(actor, AuditAction.APP_CREATE, app)
    return app


@transaction.atomic
def rename_app(*, membership: Membership, app: App, name: str, actor: audit.Actor | None = audit.SYSTEM) -> App:
    check_acting(membership, app.team_id)
    old = app.name
    app.name = _app_name(name)
    app.save(update_fields=["name"])
    if app.name != old:
        _record_app(actor, AuditAction.APP_UPDATE, app, {"settings": ["name"], "from": old})
    return app


@transaction.atomic
def delete_app(*, membership: Membership, app: App, actor: audit.Actor = audit.SYSTEM) -> None:
    """Delete the app and everything it owns (keys, users, messages...); its
    open sockets (SDK and dashboard) close once this commits. The trail's
    entries about it stay (they name it by value)."""
    check_acting(membership, app.team_id)
    app_id = app.id
    _record_app(actor, AuditAction.APP_DELETE, app)
    app.delete()
    sdk_access.app_deleted(app_id)
    media.delete_app_media(app_id)  # its users' uploads and its attachments


def active_keys(*, team: Team, scope: str, app: App | None = None, service_account=None):
    """The active keys of one app (app scope), or of the team itself
    (account scope, service_account None), or of one service account."""
    keys = ApiKey.objects.filter(team=team, scope=scope, revoked_at__isnull=True)
    if scope == KeyScope.APP:
        keys = keys.filter(app=app)
    else:
        keys = keys.filter(service_account=service_account)
    return keys.order_by("created_at", "key_id")


def new_key_id(scope: str) -> str:
    prefix = "app" if scope == KeyScope.APP else "act"
    return f"{prefix}_{secrets.token_hex(12)}"


@transaction.atomic
def create_key(
    *,
    team: Team,
    scope: str,
    app: App | None = None,
    name: str = "",
    created_by=None,
    membership: Membership | None = None,
    actor: audit.Actor = audit.SYSTEM,
    service_account=None,
    created_by_key: ApiKey | None = None,
):
    """A new API key; returns (key, secret). The secret is shown once: only
    its encrypted form and last 4 characters are kept for display. A key of
    a service account (of this team) is an account-scope key; when an
    account key creates it through the API, `created_by_key` records which."""
    check_acting(membership, team.id)
    if service_account is not None and (scope != KeyScope.ACCOUNT or service_account.team_id != team.id):
        raise PermissionDenied("A service account's key is an account-scope key of its own team.")
    if scope not in KeyScope.values:
        raise ServiceError(f"{scope!r} is not a key scope.", code="bad_request")
    if membership is not None and created_by is None:
        created_by = membership.user
    name = (name or "").strip()
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
        created_by_key=created_by_key,
        service_account=service_account,
    )
    _record_key(actor, AuditAction.KEY_CREATE, key)
    return key, secret


def _record_key(actor, action: str, key: ApiKey) -> None:
    """The key by its id, name and scope: its secret never."""
    audit.record(actor, team_id=key.team_id, action=action, target_kind="key", target_id=key.key_id,
                 target_label=key.name or key.key_id, app_id=key.app_id or "", details={"scope": key.scope})


@transaction.atomic
def revoke_key(key: ApiKey, *, membership: Membership | None = None, actor: audit.Actor = audit.SYSTEM) -> ApiKey:
    """Revoke a key (idempotent); requests signed with it stop working, and
    SDK sockets opened with a JWT it signed close at once."""
    check_acting(membership, key.team_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _record_key(actor, AuditAction.KEY_REVOKE, key)
        sdk_access.key_revoked(key)
    return key


@transaction.atomic
def set_require_user_jwt(*, app: App, on: bool, membership: Membership | None = None,
                         actor: audit.Actor | None = audit.SYSTEM) -> App:
    """Turn `requireUserJwt` on or off (admins and owners). On: the app
    token alone reaches only anonymous users; a userId needs an appUser JWT
    (messaging.services.credentials). Off: Smooch v1's rule, a userId is
    secured only after its first JWT."""
    check_acting(membership, app.team_id)
    on = bool(on)
    if app.require_user_jwt != on:
        app.require_user_jwt = on
        app.save(update_fields=["require_user_jwt"])  # post_save drops cached copies
        _record_app(actor, AuditAction.APP_UPDATE, app, {"settings": ["requireUserJwt"], "requireUserJwt": on})
        logger.info("app=%s requireUserJwt=%s by user=%s", app.id, on,
                    membership.user_id if membership else None)
        if on:
            # Open app-token sockets of identified users close at once.
            sdk_access.user_jwt_required(app.id)
    return app


def allowed_origins(app: App) -> list[str]:
    """The origins allowed to embed the app's widget; empty: any."""
    allowed = (app.settings or {}).get("allowedOrigins") or []
    return allowed if isinstance(allowed, list) else []


def origin_allowed(app: App, origin: str | None) -> bool:
    """May a page of `origin` (its Origin header, None when absent) talk to
    the app as an SDK client? Any may when the app lists no origins;
    otherwise only the listed ones, compared exactly as browsers send them
    (`scheme://host[:port]`, lower-case, default port dropped, which is how
    the settings form stores them). Shared by /v1/init and the SDK socket."""
    allowed = allowed_origins(app)
    if not allowed:
        return True
    return origin is not None and origin in allowed


WIDGET_KEYS = ("name", "iconUrl", "accentColor", "greeting")


@transaction.atomic
def update_widget_settings(
    *, app: App, widget: dict, allowed_origins: list[str], membership: Membership | None = None,
    actor: audit.Actor = audit.SYSTEM,
) -> App:
    """Replace the widget branding (`settings["widget"]`, empty values left
    out) and the allowed origins (already normalized, see
    dashboard.widget_forms), keeping every other key of App.settings
    (failover policy, log retention...) as it is in the database: the row is
    locked so a concurrent write of another key is not lost."""
    check_acting(membership, app.team_id)
    unknown = set(widget) - set(WIDGET_KEYS)
    if unknown:
        raise ServiceError(f"Unknown widget settings: {sorted(unknown)}.", code="bad_request")
    row = App.objects.select_for_update().get(pk=app.pk)
    settings = dict(row.settings or {})
    settings["widget"] = {key: value for key, value in widget.items() if value}
    settings["allowedOrigins"] = list(allowed_origins)
    row.settings = settings
    row.save(update_fields=["settings"])
    app.settings = settings
    _record_app(actor, AuditAction.APP_UPDATE, app, {"settings": ["widget", "allowedOrigins"]})
    return app


# ------------------------------------------------------ the REST API's apps


def apps_of(team_id: int):
    """The team's apps, oldest first (the API's list order)."""
    return App.objects.filter(team_id=team_id).order_by("created_at", "id")


def app_settings(app: App) -> dict:
    """The settings the API shows and changes (schemas.APP_SETTINGS): each
    read from where the rest of Parley reads it."""
    return {
        "requireUserJwt": app.require_user_jwt,
        "allowedOrigins": allowed_origins(app),
        "logRetentionDays": logs.retention_days(app),
    }


def app_metadata(app: App) -> dict:
    """The API's `metadata` of the app: kept in App.settings (a key of its
    own, never shown in `settings`) so it needs no column of its own."""
    value = (app.settings or {}).get(METADATA_KEY)
    return value if isinstance(value, dict) else {}


@transaction.atomic
def configure_app(
    *, app: App, membership: Membership | None, name: str | None = None,
    settings: dict | None = None, metadata: dict | None = None, actor: audit.Actor | None = audit.SYSTEM,
) -> App:
    """Apply an API body (validated: messaging.validators.validate_app) in
    one transaction, through the same functions as the dashboard: a name,
    the settings given (each replaces that one setting), metadata (replaced
    whole). Returns the app as stored; one "app.update" entry names what
    the body set."""
    check_acting(membership, app.team_id)
    settings = settings or {}
    if name is not None:
        rename_app(membership=membership, app=app, name=name, actor=audit.BY_CALLER)
    if "requireUserJwt" in settings:
        set_require_user_jwt(app=app, on=settings["requireUserJwt"], membership=membership,
                             actor=audit.BY_CALLER)
    if "logRetentionDays" in settings:
        logs.set_retention_days(app, settings["logRetentionDays"], actor=audit.BY_CALLER)
    merged = {}
    if "allowedOrigins" in settings:
        merged["allowedOrigins"] = list(settings["allowedOrigins"])
    if metadata is not None:
        merged[METADATA_KEY] = dict(metadata)
    if merged:
        # Locked, so a concurrent write of another key is not lost.
        row = App.objects.select_for_update().get(pk=app.pk)
        row.settings = {**(row.settings or {}), **merged}
        row.save(update_fields=["settings"])
    app.refresh_from_db()
    changed = sorted(settings) + (["name"] if name is not None else []) + (["metadata"] if metadata is not None else [])
    if changed:
        _record_app(actor, AuditAction.APP_UPDATE, app, {"settings": changed})
    return app


@transaction.atomic
def create_configured_app(
    *, team: Team, name: str, membership: Membership | None, settings: dict | None = None,
    metadata: dict | None = None, actor: audit.Actor = audit.SYSTEM,
) -> App:
    """POST /apps: a new app (as `create_app`: requireUserJwt on), then its
    settings and metadata, all or nothing: one "app.create" entry."""
    app = create_app(team=team, name=name, membership=membership, actor=audit.BY_CALLER)
    app = configure_app(app=app, membership=membership, settings=settings, metadata=metadata,
                        actor=audit.BY_CALLER)
    details = {"settings": sorted(settings or {}) + (["metadata"] if metadata is not None else [])}
    _record_app(actor, AuditAction.APP_CREATE, app, details if details["settings"] else None)
    return app


def app_key(app: App, key_id: str) -> ApiKey:
    """An active app-scope key of `app`, or NotFound: a revoked key is gone
    for the API (its row stays, for the dashboard's record)."""
    key = active_keys(team=app.team, scope=KeyScope.APP, app=app).filter(key_id=key_id).first()
    if key is None:
        raise NotFound(f"Key {key_id} not found.")
    return key
