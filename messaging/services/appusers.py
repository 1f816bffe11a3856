"""Writing app users: pre-create, profile updates and erasure, channel links,
and the SDK's /v1/init (a device becomes a client; a login merges the
anonymous user into the identified one).

Functions take instances and validated values (messaging.validators),
run in one transaction, emit through messaging.events and raise
`ServiceError`s.
"""

import logging

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging import background, delivery, events
from messaging.integrations import registry
from messaging.integrations.base import PlatformError
from messaging.models import App, AppUser, Client, Integration, IntegrationStatus, LogEntry, Message
from messaging.services import media, merges, sdk_access
from messaging.services.errors import Conflict, NotFound, ServiceError

logger = logging.getLogger(__name__)

SDK_PLATFORMS = ("ios", "android", "web", "other")


@transaction.atomic
def create_app_user(app: App, *, user_id: str, profile: dict, credential_required: bool = False) -> AppUser:
    """POST /v1/appusers: a user known by `userId` before any device has
    seen them (409 when the userId is taken)."""
    if AppUser.objects.filter(app=app, user_id=user_id).exists():
        raise Conflict(f"An app user with userId {user_id} already exists.")
    try:
        with transaction.atomic():
            app_user = AppUser.objects.create(
                app=app, user_id=user_id, credential_required=credential_required, **profile
            )
    except IntegrityError:
        raise Conflict(f"An app user with userId {user_id} already exists.")
    events.emit(
        "appUser:created",
        app=app,
        app_user=app_user,
        summary=f"User {app_user.display_name} created",
        detail={"appUser": events.user_ref(app_user), "via": "api"},
    )
    return app_user


@transaction.atomic
def update_app_user(app_user: AppUser, profile: dict) -> AppUser:
    """Additive update: only the given fields, and only the given keys of
    `properties`, change."""
    if not profile:
        return app_user
    fields = []
    for field, value in profile.items():
        if field == "properties":
            value = {**(app_user.properties or {}), **value}
        setattr(app_user, field, value)
        fields.append(field)
    app_user.save(update_fields=fields)
    events.emit(
        "appUser:updated",
        app=app_user.app,
        app_user=app_user,
        summary=f"User {app_user.display_name} updated",
        detail={"appUser": events.user_ref(app_user), "fields": sorted(profile)},
    )
    return app_user


@transaction.atomic
def delete_profile(app_user: AppUser) -> AppUser:
    """Clear givenName, surname, email and every property; and each client's
    displayName and channel info."""
    app_user.given_name = ""
    app_user.surname = ""
    app_user.email = ""
    app_user.properties = {}
    app_user.save(update_fields=["given_name", "surname", "email", "properties"])
    app_user.clients.update(display_name="", info={})
    events.emit(
        "appUser:updated",
        app=app_user.app,
        app_user=app_user,
        summary=f"Profile of user {app_user.id} deleted",
        detail={"appUser": {"_id": app_user.id}, "profileDeleted": True},
    )
    return app_user


def delete_app_user(app_user: AppUser) -> None:
    """Erase the user: messages (and their deliveries), clients, log entries
    and uploaded images. The log keeps only that a user id was deleted."""
    app = app_user.app
    app_user_id = app_user.id
    with transaction.atomic():
        Message.objects.filter(app_user=app_user).delete()
        LogEntry.objects.filter(app_user=app_user).delete()
        sdk_access.access_changed(app_user, "deleted")  # its open sockets close
        app_user.delete()
        events.emit(
            "appUser:deleted",
            app=app,
            summary=f"User {app_user_id} deleted",
            detail={"appUser": {"_id": app_user_id}},
        )
    media.delete_user_media(app.id, app_user_id)


def track_event(app_user: AppUser, name: str) -> bool:
    """POST /events. Parley has no whispers, so no conversation changes; the
    event is written to the app's log. Returns conversationUpdated."""
    events.emit(
        "appUser:updated",
        app=app_user.app,
        app_user=app_user,
        summary=f"Event {name[:100]} tracked for {app_user.display_name}",
        detail={"appUser": events.user_ref(app_user), "event": name},
    )
    return False


def channels(app_user: AppUser) -> list[dict]:
    """The user's channel entities (non-SDK linked clients)."""
    result = []
    for client in app_user.clients.filter(pending=False).exclude(platform__in=SDK_PLATFORMS).order_by(
        "linked_at"
    ):
        if client.platform == "twilio":
            result.append({"type": "twilio", "phoneNumber": client.external_id})
        elif client.platform in LINK_TYPES["email"]:
            result.append({"type": client.platform, "address": client.external_id})
        else:
            result.append({"type": client.platform, "userId": client.external_id})
    return result


# linkChannel's `type` -> the integration types that carry it (email: either transport).
LINK_TYPES = {"twilio": ("twilio",), "email": ("email", "mailgun")}
# A signed email link confirmation is good this long.
EMAIL_LINK_MAX_AGE = 7 * 24 * 3600
EMAIL_LINK_SALT = "parley.email-link"


@transaction.atomic
def link_channel(app_user: AppUser, *, type_: str, address: str, skip_confirmation: bool) -> Client:
    """Link a channel (twilio: a phone number; email: an address, on the
    app's first active email or mailgun integration). The client stays in
    `pendingClients` until the user confirms; with `skip_confirmation` it is
    linked at once and the engine is told a client appeared."""
    integration = (
        Integration.objects.filter(app_id=app_user.app_id, type__in=LINK_TYPES.get(type_, (type_,)),
                                   status=IntegrationStatus.ACTIVE)
        .order_by("created_at")
        .first()
    )
    if integration is None:
        names = " or ".join(LINK_TYPES.get(type_, (type_,)))
        raise ServiceError(f"This app has no active {names} integration to link.")
    platform = integration.type
    client = Client.objects.filter(app_user=app_user, platform=platform, external_id=address).first()
    if client is not None and not client.pending and client.active:
        raise Conflict(f"{address} is already linked to this user.")
    if client is None:
        client = Client(app_user=app_user, platform=platform, external_id=address)
    client.integration = integration
    client.display_name = address
    client.pending = not skip_confirmation
    client.active = True
    client.unverified = False
    client.linked_at = timezone.now()
    client.save()
    detail = {"appUser": events.user_ref(app_user), "client": {"_id": client.id, "platform": platform}}
    if skip_confirmation:
        events.emit(
            "link:confirmed",
            app=app_user.app,
            app_user=app_user,
            summary=f"{platform} linked to {app_user.display_name} (confirmation skipped)",
            detail=detail,
        )
        delivery.client_appeared(client)
    else:
        events.emit(
            "link:requested",
            app=app_user.app,
            app_user=app_user,
            summary=f"{platform} link requested for {app_user.display_name}",
            detail=detail,
        )
        background.enqueue_on_commit("send_link_confirmation", client.id)
    return client


def link_confirmation_text(app: App) -> str:
    return f"{app.name}: reply YES to get our messages on this number."


def email_confirmation_url(client: Client) -> str:
    """The signed link that confirms a pending email link: Parley's public
    URL (or the integration's inbound URL's origin) + /integrations/email/confirm/<signed id>."""
    base = settings.PARLEY_PUBLIC_URL or _origin(client.integration.inbound_url)
    return f"{base}/integrations/email/confirm/{signing.dumps(client.id, salt=EMAIL_LINK_SALT)}"


def _origin(url: str) -> str:
    scheme, _, rest = (url or "").partition("://")
    return f"{scheme}://{rest.split('/')[0]}" if rest else ""


def send_link_confirmation(client_id: str) -> None:
    """The confirmation a pending link waits for, sent by its integration
    (the worker runs it): an SMS the user answers "yes" to
    (messaging.services.inbound), or an email with a signed link
    (`confirm_email_link`). A refusal is logged on the user."""
    client = Client.objects.select_related("app_user__app", "integration").filter(pk=client_id,
                                                                                   pending=True).first()
    if client is None or client.integration is None:
        return
    app_user = client.app_user
    channel = registry.for_client(client)
    try:
        if getattr(channel, "confirms_by_link", False):
            channel.send_confirmation(client, app_user.app.name, email_confirmation_url(client))
        else:
            channel.send_notice(client.external_id, link_confirmation_text(app_user.app))
    except PlatformError as error:
        events.emit("link:failed", app=app_user.app, app_user=app_user,
                    summary=f"The {client.platform} link confirmation could not be sent: {error.message}"[:500],
                    detail={"clientId": client.id, "error": error.as_json()})
        return
    events.emit("link:confirmation-sent", app=app_user.app, app_user=app_user,
                summary=f"Link confirmation sent to {client.external_id}",
                detail={"clientId": client.id, "platform": client.platform})


def pending_email_link(token: str) -> Client | None:
    """The pending client a signed email link names (None when the
    signature is wrong, it expired, or the link was confirmed or removed)."""
    try:
        client_id = signing.loads(token, salt=EMAIL_LINK_SALT, max_age=EMAIL_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return (Client.objects.select_related("app_user__app").filter(pk=str(client_id), pending=True).first())


@transaction.atomic
def confirm_email_link(token: str) -> Client | None:
    """The user opened the signed link and confirmed: the client is linked,
    and gets what it is owed. None when the link is not (or no longer) good."""
    client = pending_email_link(token)
    if client is None:
        return None
    updated = Client.objects.filter(pk=client.pk, pending=True).update(pending=False, active=True,
                                                                        last_seen=timezone.now())
    if not updated:
        return None
    client.pending, client.active = False, True
    events.emit("link:confirmed", app=client.app_user.app, app_user=client.app_user,
                summary=f"{client.platform} linked to {client.app_user.display_name} (confirmed by the user)",
                detail={"appUser": events.user_ref(client.app_user),
                        "client": {"_id": client.id, "platform": client.platform}})
    delivery.client_appeared(client)
    return client


@transaction.atomic
def unlink_channel(app_user: AppUser, channel: str) -> int:
    clients = Client.objects.filter(app_user=app_user, platform=channel)
    count = clients.count()
    if not count:
        raise NotFound(f"This user has no {channel} channel.")
    ids = list(clients.values_list("id", flat=True))
    clients.delete()
    events.emit(
        "link:removed",
        app=app_user.app,
        app_user=app_user,
        summary=f"{channel} unlinked from {app_user.display_name}",
        detail={"appUser": events.user_ref(app_user), "channel": channel, "clients": ids},
    )
    return count


@transaction.atomic
def update_device(app_user: AppUser, device_id: str, fields: dict) -> Client:
    client = Client.objects.filter(
        app_user=app_user, platform__in=SDK_PLATFORMS, external_id=device_id
    ).first()
    if client is None:
        raise NotFound(f"Device {device_id} not found for this user.")
    for field, value in fields.items():
        if field == "info":
            value = {**(client.info or {}), **value}
        setattr(client, field, value)
    if fields:
        client.save(update_fields=list(fields))
    return client


# ---------------------------------------------------------------------- init


@transaction.atomic
def init_device(app: App, *, device: dict, user_id: str | None, credential,
                granted: AppUser | None = None) -> tuple[AppUser, Client]:
    """POST /v1/init: find or create the app user for this device and/or
    userId, register the device as a client, and merge an anonymous user
    into the identified one when a known device logs in.

    `credential` is who called (an app token, or a JWT); an appUser JWT must
    name the same userId and secures the user. With the app token alone,
    an app whose `requireUserJwt` is on refuses any userId before anything
    is read or stored. `granted` is the user a redeemed auth code names
    (credentials.redeem_auth_code): the device joins that user as a login
    would, the code standing for the JWT."""
    if granted is not None:
        user_id = None
    credential.check_user_id(user_id)
    if credential.scope == "appUser" and credential.method == "jwt" and granted is None:
        if user_id is None:
            user_id = credential.user_id
        elif user_id != credential.user_id:
            raise ServiceError("userId does not match the JWT's userId.", code="forbidden", status=403)
    client = (
        Client.objects.select_for_update()
        .select_related("app_user")
        .filter(app_user__app=app, platform__in=SDK_PLATFORMS, external_id=device["id"])
        .order_by("-last_seen")
        .first()
    )
    device_user = client.app_user if client else None
    merged = None
    if granted is not None:
        target = AppUser.objects.select_for_update().get(pk=granted.pk)
        if device_user is not None and device_user.pk != target.pk and device_user.user_id is None:
            merged = device_user
    elif user_id is not None:
        target = AppUser.objects.select_for_update().filter(app=app, user_id=user_id).first()
        if target is None:
            if device_user is not None and device_user.user_id is None:
                # An anonymous user logs in for the first time: they keep
                # their conversation and now carry the userId.
                target = device_user
                target.user_id = user_id
                target.save(update_fields=["user_id"])
            else:
                target = AppUser.objects.create(app=app, user_id=user_id)
                _emit_created(target, "init")
        elif device_user is not None and device_user.pk != target.pk and device_user.user_id is None:
            merged = device_user
    elif device_user is not None and device_user.user_id is None:
        target = device_user
    else:
        # A new device, or a logged-in device now running logged out: a new
        # anonymous user.
        target = AppUser.objects.create(app=app)
        _emit_created(target, "init")

    if granted is None:
        credential.check_app_user(target)
        if credential.method == "jwt" and credential.scope == "appUser" and not target.credential_required:
            target.credential_required = True
            target.save(update_fields=["credential_required"])

    is_new = client is None or client.app_user_id != target.pk
    if merged is not None:
        merges.merge(app, surviving=target, discarded=merged)
        client = Client.objects.get(
            app_user=target, platform=client.platform, external_id=client.external_id
        )

    now = timezone.now()
    if client is None:
        client = Client(app_user=target, platform=device["platform"], external_id=device["id"])
    elif client.app_user_id != target.pk:
        existing = Client.objects.filter(
            app_user=target, platform=client.platform, external_id=client.external_id
        ).first()
        if _owner_is_secured_against(client.app_user, credential):
            # A secured user's device is not taken away (nor its push token
            # shown) by a caller who cannot act as that user: the caller gets
            # a client of its own for the same device id.
            client = existing or Client(app_user=target, platform=client.platform,
                                        external_id=client.external_id)
        elif existing is not None:
            # Only one userId is active on a client at a time: the device moves.
            client.delete()
            client = existing
        else:
            client.app_user = target
    client.platform = device["platform"]
    client.active = True
    client.pending = False
    client.last_seen = now
    if device.get("app_version") is not None:
        client.app_version = device["app_version"]
    if device.get("push_token") is not None:
        client.push_token = device["push_token"]
    if device.get("info") is not None:
        client.info = {**(client.info or {}), **device["info"]}
    client.save()
    # Push goes only to the most recent userId of a shared device.
    if client.push_token:
        Client.objects.filter(
            app_user__app=app, platform=client.platform, push_token=client.push_token
        ).exclude(pk=client.pk).update(push_token="")
    AppUser.objects.filter(pk=target.pk).update(last_activity_at=now)
    if is_new:
        delivery.client_appeared(client)
    return target, client


def _owner_is_secured_against(owner: AppUser, credential) -> bool:
    return owner.credential_required and not (
        credential.method == "jwt" and credential.scope == "appUser" and credential.user_id == owner.user_id
    )


def _emit_created(app_user: AppUser, via: str) -> None:
    events.emit(
        "appUser:created",
        app=app_user.app,
        app_user=app_user,
        summary=f"User {app_user.display_name} created",
        detail={"appUser": events.user_ref(app_user), "via": via},
    )
