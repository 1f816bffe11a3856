"""An app's integrations (channels connected to a platform), one service for
the integrations API and the dashboard.

Creating one checks the credentials with the platform and registers
Parley's inbound URL there before anything is stored: bad credentials or a
refused registration store nothing. Secret properties live only in the
encrypted `credentials`; the API and the pages show `details` (the public
properties and what the platform told about itself) and, for a secret, its
last four characters at most.
"""

import logging

from django.db import transaction
from django.utils import timezone

from messaging import background, events, schemas
from messaging.crypto import MASK, mask_secrets
from messaging.ids import new_id, new_token
from messaging.integrations.base import Connected, PlatformError
from messaging.integrations import viber
from messaging.integrations.registry import integration_class
from messaging.models import App, Client, Integration, IntegrationStatus, Membership
from messaging.services import audit
from messaging.models.menus import app_menu
from messaging.services.apps import check_acting
from messaging.services.audit import AuditAction
from messaging.services.errors import NotFound, ServiceError

logger = logging.getLogger(__name__)

# The limits the API's schema documents (messaging/schemas.py).
DISPLAY_NAME_MAX = schemas.INTEGRATION_DISPLAY_NAME_MAX
PROPERTY_MAX = schemas.INTEGRATION_PROPERTY_MAX


def connectable_types() -> list[str]:
    """The channel types the integrations API can create (they declare fields)."""
    return list(schemas.CONNECTABLE_TYPES)


def inbound_path(integration: Integration) -> str:
    return f"/integrations/{integration.type}/{integration.id}/webhook"


def inbound_url(integration: Integration, base_url: str) -> str:
    """Where the platform posts this integration's events: the public base
    URL (PARLEY_PUBLIC_URL, or the request's scheme and host) + the path."""
    return base_url.rstrip("/") + inbound_path(integration)


def integrations_of(app: App, types: list[str] | None = None):
    rows = Integration.objects.filter(app=app).order_by("created_at", "id")
    return rows.filter(type__in=types) if types else rows


def get_integration(app: App, integration_id: str) -> Integration:
    row = Integration.objects.filter(app=app, id=integration_id).first()
    if row is None:
        raise NotFound(f"Integration {integration_id} not found.")
    return row


def _clean(cls, props: dict, *, partial: bool) -> tuple[dict, str | None]:
    """(the channel's properties, the displayName) from `props`, checked
    against the channel's declared fields; ServiceError names the fault."""
    if not isinstance(props, dict):
        raise ServiceError("The body must be a JSON object.")
    known = {f.name for f in cls.fields} | {"type", "displayName"}
    unknown = sorted(set(props) - known)
    if unknown:
        raise ServiceError(f"{unknown[0]} is not a property of {cls.type} integrations "
                           f"(they take {', '.join(f.name for f in cls.fields)}, displayName).")
    values = {}
    for spec in cls.fields:
        if spec.name not in props:
            if spec.required and not partial:
                raise ServiceError(f"{spec.name} is required for {cls.type} integrations.")
            continue
        value = props[spec.name]
        if spec.choices and value not in spec.choices:
            raise ServiceError(f"{spec.name} must be one of: {', '.join(spec.choices)}.")
        if not isinstance(value, str) or not value.strip():
            raise ServiceError(f"{spec.name} must be a non-empty string.")
        if len(value) > PROPERTY_MAX:
            raise ServiceError(f"{spec.name} is longer than {PROPERTY_MAX} characters.")
        values[spec.name] = value.strip()
    display_name = props.get("displayName")
    if display_name is not None:
        if not isinstance(display_name, str) or len(display_name) > DISPLAY_NAME_MAX:
            raise ServiceError(f"displayName must be a string of at most {DISPLAY_NAME_MAX} characters.")
        display_name = display_name.strip()
    return values, display_name


def scrub(cls, credentials: dict, text: str) -> str:
    """`text` (a platform's error, which may quote the URL it was called
    at) with every secret property's value masked."""
    return mask_secrets(text, [credentials.get(spec.name) for spec in cls.fields if spec.secret])


def _platform_refused(cls, credentials: dict, error: PlatformError) -> ServiceError:
    message = scrub(cls, credentials, error.message)
    if cls.label.split()[0].lower() not in message.lower():
        message = f"{cls.label} refused: {message}"
    return ServiceError(message, code="platform_refused")


def _public(cls, credentials: dict) -> dict:
    return {f.name: credentials[f.name] for f in cls.fields if not f.secret and f.name in credentials}


def _connect(cls, row: Integration) -> Connected:
    """Check `row`'s credentials with the platform and register its inbound
    URL there; a refusal is a ServiceError naming the platform's reason."""
    channel = cls(row)
    try:
        connected = channel.check(row.credentials)
        channel.register_webhook(row.inbound_url)
    except PlatformError as error:
        raise _platform_refused(cls, row.credentials, error)
    return connected


def _record(actor, action: str, row: Integration, details: dict | None = None) -> None:
    """The integration by id, type and display name; property names at most
    (never their values: some are secrets)."""
    audit.record(actor, team_id=row.app.team_id, action=action, target_kind="integration", target_id=row.id,
                 target_label=row.display_name, app_id=row.app_id, details={"type": row.type, **(details or {})})


def create_integration(app: App, props: dict, *, base_url: str,
                       membership: Membership | None = None, actor: audit.Actor = audit.SYSTEM) -> Integration:
    """Check the credentials with the platform, register the inbound URL,
    then store the integration (nothing is stored if either call fails)."""
    check_acting(membership, app.team_id)
    type_ = props.get("type") if isinstance(props, dict) else None
    if not isinstance(type_, str) or type_ not in connectable_types():
        raise ServiceError(f"type must be one of: {', '.join(connectable_types())}.")
    cls = integration_class(type_)
    credentials, display_name = _clean(cls, props, partial=False)
    row = Integration(id=new_id(), app=app, type=type_, credentials=credentials, webhook_secret=new_token(24))
    row.inbound_url = inbound_url(row, base_url)
    connected = _connect(cls, row)
    row.details = {**_public(cls, credentials), **connected.details}
    row.display_name = (display_name or connected.display_name or cls.label)[:DISPLAY_NAME_MAX]
    with transaction.atomic():
        row.save(force_insert=True)
        _record(actor, AuditAction.INTEGRATION_CREATE, row)
        events.emit("integration:created", app=app, summary=f"{cls.label} connected: {row.display_name}",
                    detail={"integration": {"_id": row.id, "type": row.type}})
        _push_menu(cls, row)
    return row


def _push_menu(cls, row: Integration) -> None:
    """A channel with a menu of its own, connected (or given new
    credentials: maybe another bot or Page) after the app's menu was set,
    gets it too (messaging.services.menus.push, the task `push_menu`)."""
    if cls.shows_menu and app_menu(row.app_id) is not None:
        background.enqueue_on_commit("push_menu", row.id)


def update_integration(row: Integration, props: dict, *, membership: Membership | None = None,
                       actor: audit.Actor = audit.SYSTEM) -> Integration:
    """New properties (a rotated token) are checked with the platform before
    they replace the old ones; the inbound URL is registered again with them."""
    check_acting(membership, row.app.team_id)
    cls = integration_class(row.type)
    if isinstance(props, dict) and "type" in props and props["type"] != row.type:
        raise ServiceError("type cannot be changed: delete the integration and create another.")
    credentials, display_name = _clean(cls, props, partial=True)
    if credentials:
        merged = {**row.credentials, **credentials}
        probe = Integration(id=row.id, app=row.app, type=row.type, credentials=merged,
                            webhook_secret=row.webhook_secret, inbound_url=row.inbound_url, details=row.details)
        connected = _connect(cls, probe)
        row.credentials = merged
        row.details = {**row.details, **_public(cls, merged), **connected.details}
        row.status, row.error, row.error_at = IntegrationStatus.ACTIVE, "", None
    if display_name is not None:
        row.display_name = display_name or row.display_name
    with transaction.atomic():
        row.save()
        changed = sorted(credentials) + (["displayName"] if display_name is not None else [])
        _record(actor, AuditAction.INTEGRATION_UPDATE, row, {"changed": changed})
        events.emit("integration:updated", app=row.app, summary=f"{cls.label} updated: {row.display_name}",
                    detail={"integration": {"_id": row.id, "type": row.type}})
        if credentials:
            _push_menu(cls, row)
    return row


def delete_integration(row: Integration, *, membership: Membership | None = None,
                       actor: audit.Actor = audit.SYSTEM) -> None:
    """Unregister the inbound URL, then delete. A platform that refuses the
    unregistration (a token revoked meanwhile) does not keep the integration:
    the refusal is logged with the deletion. Its clients stop being targeted."""
    check_acting(membership, row.app.team_id)
    cls = integration_class(row.type)
    warning = ""
    try:
        cls(row).unregister_webhook()
    except PlatformError as error:
        warning = error.message
        logger.warning("integration %s: unregistering the webhook failed: %s", row.id, error.message)
    with transaction.atomic():
        Client.objects.filter(integration=row).update(active=False)
        detail = {"integration": {"_id": row.id, "type": row.type}}
        if warning:
            detail["unregisterError"] = warning
        _record(actor, AuditAction.INTEGRATION_DELETE, row, {"unregistered": not warning})
        events.emit("integration:deleted", app=row.app, summary=f"{cls.label} removed: {row.display_name}",
                    detail=detail)
        row.delete()


def check_connection(row: Integration, *, membership: Membership | None = None) -> str:
    """Ask the platform whether the stored credentials still work; the
    integration's status follows. Returns "" when they do, else the reason."""
    check_acting(membership, row.app.team_id)
    cls = integration_class(row.type)
    try:
        connected = cls(row).check(row.credentials)
    except PlatformError as error:
        record_error(row, error)
        return error.message
    row.details = {**row.details, **connected.details}
    row.status, row.error, row.error_at = IntegrationStatus.ACTIVE, "", None
    row.save(update_fields=["details", "status", "error", "error_at"])
    return ""


def record_error(row: Integration, error: PlatformError) -> None:
    """The platform refused the integration's credentials: it goes to the
    error status with the reason until they are fixed or a test passes."""
    now = timezone.now()
    message = scrub(integration_class(row.type), row.credentials, error.message)[:1000]
    with transaction.atomic():
        Integration.objects.filter(pk=row.pk).update(status=IntegrationStatus.ERROR, error=message, error_at=now)
        row.status, row.error, row.error_at = IntegrationStatus.ERROR, message, now
        events.emit("integration:error", app=row.app, summary=f"{row.type} integration error: {message}"[:500],
                    detail={"integration": {"_id": row.id, "type": row.type},
                            "error": {**error.as_json(), "message": message}})


def masked_secrets(row: Integration) -> dict:
    """Each secret property as its last four characters ("••••abcd")."""
    cls = integration_class(row.type)
    return {f.name: MASK + str(row.credentials.get(f.name, ""))[-4:]
            for f in cls.fields if f.secret and row.credentials.get(f.name)}


def viber_link(app_user) -> str:
    """The deep link that opens the app's Viber bot linked to `app_user`
    (the 8.x client's appUsers.getViberQRCode): its context comes back in
    Viber's conversation_started and joins that Viber user to `app_user`.
    NotFound when the app has no Viber integration (the oldest one when
    it has several)."""
    row = integrations_of(app_user.app, ["viber"]).first()
    if row is None:
        raise NotFound("No Viber integration is configured for this app.")
    return viber.deep_link(row, viber.link_context(row, app_user.id))
