"""Merging two app users of one app into one (Smooch's merge:appUser): the
business's `POST /v1/appusers/merge`, and /v1/init when an anonymous
device logs in as an identified user.

The surviving user takes the discarded user's messages (their deliveries
follow them), clients, the team's notes and log lines; on a property
or profile field both have, the surviving user's value stands; a
surviving user without a userId takes the discarded one's, and a secured
discarded user (credentialRequired) secures the surviving one. The
discarded user is deleted, all in one transaction, and `merge:appUser`
fires with the reference's payload.
"""

from django.db import transaction

from messaging import events
from messaging.models import AppUser, Client, Delivery, LogEntry, Message, Note
from messaging.services import sdk_access
from messaging.services.errors import NotFound, ServiceError


def merge_app_users(app, surviving_ref: str, discarded_ref: str) -> AppUser:
    """Merge the user `discarded_ref` names into the one `surviving_ref`
    names (each an `_id` or a `userId`, both of `app`). NotFound when either
    is not a user of `app` (another app's users are not seen); ServiceError
    (400) for a user merged with itself. Returns the surviving user."""
    with transaction.atomic():
        surviving = _locked(app, surviving_ref, "surviving")
        discarded = _locked(app, discarded_ref, "discarded")
        if surviving.pk == discarded.pk:
            raise ServiceError("A user cannot be merged with itself: surviving and discarded name the same user.")
        merge(app, surviving=surviving, discarded=discarded)
    surviving.refresh_from_db()
    return surviving


def _locked(app, ref: str, role: str) -> AppUser:
    found = AppUser.objects.by_ref(app, ref)
    if found is None:
        raise NotFound(f"The {role} user {ref} was not found in this app.")
    # Locked so that a message or a merge under way for the same user waits.
    return AppUser.objects.select_for_update().select_related("app").get(pk=found.pk)


def merge(app, *, surviving: AppUser, discarded: AppUser) -> None:
    """Move the discarded user's conversation and clients to the surviving
    user, then delete the discarded user (merge:appUser); in the caller's
    transaction, both rows locked. The team's notes move with the messages;
    the surviving conversation keeps its inbox status, and takes the
    discarded one's assignee when it has none. A client both users have
    (the same device or platform account) is kept once, with the
    discarded copy's deliveries."""
    taken = Message.objects.filter(app_user=surviving).exclude(client_ref="").values("client_ref")
    # A client_ref is unique per user: a discarded message whose ref the
    # surviving user has too keeps its row but not the (spent) ref.
    Message.objects.filter(app_user=discarded, client_ref__in=taken).update(client_ref="")
    Message.objects.filter(app_user=discarded).update(app_user=surviving)
    Note.objects.filter(app_user=discarded).update(app_user=surviving)
    if discarded.assignee_id is not None:
        # Conditional, in the database: an assignment made meanwhile stands.
        AppUser.objects.filter(pk=surviving.pk, assignee__isnull=True).update(assignee_id=discarded.assignee_id)
    for client in Client.objects.filter(app_user=discarded):
        twin = Client.objects.filter(app_user=surviving, platform=client.platform,
                                     external_id=client.external_id).first()
        if twin is not None:
            # Its deliveries are of the discarded user's messages, which
            # the twin has none of: no (message, client, purpose) clash.
            Delivery.objects.filter(client=client).update(client=twin)
            client.delete()
        else:
            client.app_user = surviving
            client.save(update_fields=["app_user"])
    LogEntry.objects.filter(app_user=discarded).update(app_user=surviving)
    surviving.unread_count += discarded.unread_count
    surviving.conversation_started = surviving.conversation_started or discarded.conversation_started
    for field in ("given_name", "surname", "email"):
        if not getattr(surviving, field) and getattr(discarded, field):
            setattr(surviving, field, getattr(discarded, field))
    surviving.properties = {**(discarded.properties or {}), **(surviving.properties or {})}
    surviving.last_activity_at = max(surviving.last_activity_at, discarded.last_activity_at)
    fields = ["unread_count", "conversation_started", "given_name", "surname", "email", "properties",
              "last_activity_at"]
    if discarded.credential_required and not surviving.credential_required:
        # The discarded history was reachable with an appUser JWT only: so
        # is the merged one (sockets holding the surviving user by the app
        # token alone close).
        surviving.credential_required = True
        fields.append("credential_required")
        sdk_access.access_changed(surviving, "secured by a merge")
    discarded_json = {"_id": discarded.id, "conversationStarted": discarded.conversation_started}
    if discarded.user_id:
        discarded_json["userId"] = discarded.user_id
    inherited_user_id = discarded.user_id if not surviving.user_id else None
    sdk_access.access_changed(discarded, "merged into another user")  # its open sockets close
    discarded.delete()
    if inherited_user_id:
        # After the delete: a userId is unique per app.
        surviving.user_id = inherited_user_id
        fields.append("user_id")
    surviving.save(update_fields=fields)
    surviving_json = {"_id": surviving.id, "conversationStarted": surviving.conversation_started}
    if surviving.user_id:
        surviving_json["userId"] = surviving.user_id
    events.emit(
        "merge:appUser",
        app=app,
        app_user=surviving,
        summary=f"User {discarded_json['_id']} merged into {surviving.display_name}",
        detail={"surviving": surviving_json, "discarded": [discarded_json]},
        webhook={"surviving": surviving_json, "discarded": [discarded_json]},
    )
