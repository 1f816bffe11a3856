"""The team's inbox: a conversation's status (open, snoozed until a time,
resolved), its assignee (one member of the app's team, or nobody), the
inbox's views and counts, and private notes. No caller writes these fields
but through here (and messaging.services.messages, whose user message
reopens a conversation by calling `reopened_by_message`).

Every change is one transaction and goes through the fan-out
(messaging.events): `conversation:status` and `conversation:assigned`,
whose detail names the old and the new value and who did it (a member's
email, "api" for an API call, "appUser" when a user message reopened it,
"snooze" when a snooze ended), are logged, published to the app's group
(every agent's dashboard) and sent to the webhooks that name those
triggers (opt-in: never through "*"). A note's `note:created` is logged and
published to the app's group only: never to the user's group, a webhook, a
platform or the API's user-facing calls (messaging.events.TEAM_ONLY).

A snooze wakes through a "snooze" timer (messaging.delivery.timers), never
a sleeping task. The timer is not cancelled when something else reopens
the conversation first (a user message locks the app user before any
timer, the reverse of the timer handler's order): the handler wakes a
conversation only while it is still snoozed until the timer's own time, so
a stale timer is a no-op. A change made here locks the timer first, then
the app user, as the handler does.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, JSONField, OuterRef, Q, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from messaging import events
from messaging.delivery import timers
from messaging.models import NOTE_MAX_LENGTH, AppUser, ConversationStatus, Membership, Message, Note
from messaging.services.errors import PermissionDenied, ServiceError
from messaging.wire import compact, conversation_json, iso, unix

logger = logging.getLogger(__name__)

SNOOZE_KIND = "snooze"
VIEWS = ("mine", "unassigned", "open", "snoozed", "resolved")
# Who made a change that no member or API call made.
BY_API = "api"
BY_USER_MESSAGE = "appUser"
BY_SNOOZE = "snooze"
# update_conversation: the assignee is not to change.
_UNCHANGED = object()


# ------------------------------------------------------------------ changes


def _who(member: Membership | None) -> str:
    return member.user.email if member is not None else BY_API


def assignee_for(app, email: str) -> Membership:
    """The member of `app`'s team with this email (case-insensitive), or a
    400 naming it. A member of another team gets the same answer as an
    unknown address: a key of one team learns nothing of another's."""
    member = (Membership.objects.select_related("user")
              .filter(team_id=app.team_id, user__email__iexact=email.strip(), user__is_active=True).first())
    if member is None:
        raise ServiceError(f"assigneeEmail: {email.strip()} is not a member of this app's team.")
    return member


@transaction.atomic
def update_conversation(app_user: AppUser, changes: dict, *, by: Membership | None = None) -> AppUser:
    """Apply `changes` (messaging.validators.validate_conversation_update:
    any of `status`, `snoozed_until`, `assignee_email`, the last None to
    unassign) to `app_user`'s conversation, made by member `by` (None: an
    API call). Everything is checked before anything is written; a value
    that does not change emits nothing. Returns the app user, reloaded,
    with its assignee (and the assignee's user) loaded."""
    if by is not None and by.team_id != app_user.app.team_id:
        raise PermissionDenied("Not a member of this app's team.")
    assignee = _UNCHANGED
    if "assignee_email" in changes:
        email = changes["assignee_email"]
        assignee = None if email is None else assignee_for(app_user.app, email)
    status = changes.get("status")
    if status == ConversationStatus.SNOOZED and changes.get("snoozed_until") is None:
        raise ServiceError("snoozedUntil is required when status is snoozed.")
    if status == ConversationStatus.SNOOZED and changes["snoozed_until"] <= timezone.now():
        raise ServiceError("snoozedUntil must be in the future.")
    if status not in (None, *ConversationStatus.values):
        raise ServiceError(f"status must be one of {', '.join(ConversationStatus.values)}.")
    if status is not None:
        # The timer before the app user's row: the order its handler locks them in.
        if status == ConversationStatus.SNOOZED:
            until = changes["snoozed_until"]
            timers.schedule(SNOOZE_KIND, app_user.pk, until, data={"until": until.isoformat()})
        else:
            timers.cancel(SNOOZE_KIND, app_user.pk)
    locked = AppUser.objects.select_for_update(of=("self",)).select_related("app").get(pk=app_user.pk)
    now = timezone.now()
    # Both fields are written before either event is emitted: each event
    # carries the conversation as the whole change left it.
    emits = []
    if status is not None:
        emits.append(_set_status(locked, status, changes.get("snoozed_until")))
    if assignee is not _UNCHANGED:
        emits.append(_set_assignee(locked, assignee))
    with events.batch():
        for emit in filter(None, emits):
            emit(by=_who(by), now=now)
    return AppUser.objects.select_related("app", "assignee__user").get(pk=app_user.pk)


def _set_status(app_user: AppUser, status: str, until: datetime | None):
    """Write a locked app user's status (and snooze time). Returns what
    emits its conversation:status event (call it with `by` and `now`), or
    None when nothing changed."""
    until = until if status == ConversationStatus.SNOOZED else None
    old, old_until = app_user.status, app_user.snoozed_until
    if (old, old_until) == (status, until):
        return None
    AppUser.objects.filter(pk=app_user.pk).update(status=status, snoozed_until=until)
    app_user.status, app_user.snoozed_until = status, until

    def emit(*, by: str, now: datetime) -> None:
        detail = {"appUser": events.user_ref(app_user), "from": old, "to": status, "by": by}
        if until is not None:
            detail["snoozedUntil"] = unix(until)
        if old_until is not None:
            detail["fromSnoozedUntil"] = unix(old_until)
        events.emit(
            "conversation:status", app=app_user.app, app_user=app_user, detail=detail,
            summary=f"Conversation with {app_user.display_name} {_status_words(status, until)} by {by}",
            webhook={"conversation": conversation_json(app_user, inbox=True), "previous": {"status": old},
                     "changedBy": by, "timestamp": unix(now)},
        )

    return emit


def _status_words(status: str, until: datetime | None) -> str:
    if status == ConversationStatus.SNOOZED:
        return f"snoozed until {iso(until)}"
    return "reopened" if status == ConversationStatus.OPEN else "resolved"


def _set_assignee(app_user: AppUser, assignee: Membership | None):
    """Write a locked app user's assignee. Returns what emits its
    conversation:assigned event, or None when it did not change."""
    old_id = app_user.assignee_id
    new_id = assignee.pk if assignee is not None else None
    if old_id == new_id:
        return None
    old_email = (Membership.objects.filter(pk=old_id).values_list("user__email", flat=True).first()
                 if old_id is not None else None)
    AppUser.objects.filter(pk=app_user.pk).update(assignee=assignee)
    app_user.assignee = assignee
    new_email = assignee.user.email if assignee is not None else None

    def emit(*, by: str, now: datetime) -> None:
        _emit_assigned(app_user, old_email, new_email, by=by, now=now)

    return emit


def _emit_assigned(app_user: AppUser, old_email: str | None, new_email: str | None, *, by: str,
                   now: datetime) -> None:
    detail = compact({"appUser": events.user_ref(app_user), "from": old_email, "to": new_email, "by": by})
    to = f"assigned to {new_email}" if new_email else "unassigned"
    events.emit(
        "conversation:assigned", app=app_user.app, app_user=app_user,
        summary=f"Conversation with {app_user.display_name} {to} by {by}", detail=detail,
        webhook={"conversation": conversation_json(app_user, inbox=True),
                 "previous": compact({"assigneeEmail": old_email}), "changedBy": by, "timestamp": unix(now)},
    )


def reopened_by_message(app_user: AppUser, old_status: str, *, now: datetime) -> None:
    """A user message came into a conversation that was `old_status` (read
    by the message's own UPDATE, which holds the app user's row): reopen
    it. Called by messaging.services.messages.post_message inside its
    transaction and events batch; nothing to do for an open conversation.
    The snooze timer, if any, is left to find it open (see the module)."""
    if old_status == ConversationStatus.OPEN:
        return
    app_user.status = old_status
    app_user.snoozed_until = (AppUser.objects.filter(pk=app_user.pk).values_list("snoozed_until", flat=True)
                              .first())
    _set_status(app_user, ConversationStatus.OPEN, None)(by=BY_USER_MESSAGE, now=now)


def _wake(batch: list) -> None:
    """The "snooze" timers' handler: reopen each conversation still snoozed
    until its timer's time (one was reopened or snoozed again meanwhile:
    then nothing). One query locks the batch's app users."""
    until_of = {timer.subject: datetime.fromisoformat(timer.data["until"]) for timer in batch}
    now = timezone.now()
    rows = (AppUser.objects.select_for_update(of=("self",)).select_related("app")
            .filter(pk__in=list(until_of), status=ConversationStatus.SNOOZED).order_by("pk"))
    with events.batch():
        for app_user in rows:
            if app_user.snoozed_until == until_of[app_user.pk]:
                _set_status(app_user, ConversationStatus.OPEN, None)(by=BY_SNOOZE, now=now)


timers.register(SNOOZE_KIND, _wake, retries=5, backoff=timedelta(seconds=10))


def member_leaving(member: Membership, *, by: Membership | None = None) -> int:
    """`member` is about to leave the team (messaging.services.accounts
    calls this in its transaction, before deleting the membership): their
    conversations become unassigned, each with its conversation:assigned
    event. Returns how many. (Deleting a membership any other way, the
    admin or an account deleted, unassigns too, through the foreign key's
    SET_NULL, without events.)"""
    email = Membership.objects.filter(pk=member.pk).values_list("user__email", flat=True).first()
    rows = list(AppUser.objects.select_for_update(of=("self",)).select_related("app")
                .filter(assignee=member).order_by("pk"))
    if not rows:
        return 0
    now = timezone.now()
    AppUser.objects.filter(pk__in=[row.pk for row in rows]).update(assignee=None)
    with events.batch():
        for app_user in rows:
            app_user.assignee = None
            _emit_assigned(app_user, email, None, by=_who(by), now=now)
    return len(rows)


# -------------------------------------------------------------------- views


def _started(app):
    return AppUser.objects.filter(app=app, conversation_started=True)


def counts(app, member: Membership | None) -> dict:
    """The inbox's badges, in one query: open conversations assigned to
    `member` (mine) and to nobody (unassigned), and conversations by status."""
    open_ = Q(status=ConversationStatus.OPEN)
    mine = Count("pk", filter=open_ & Q(assignee=member)) if member is not None else None
    result = _started(app).aggregate(
        unassigned=Count("pk", filter=open_ & Q(assignee__isnull=True)),
        open=Count("pk", filter=open_),
        snoozed=Count("pk", filter=Q(status=ConversationStatus.SNOOZED)),
        resolved=Count("pk", filter=Q(status=ConversationStatus.RESOLVED)),
        **({"mine": mine} if mine is not None else {}),
    )
    result.setdefault("mine", 0)
    return {key: result[key] for key in ("mine", "unassigned", "open", "snoozed", "resolved")}


def conversations(app, member: Membership | None, view: str, *, limit: int | None = None):
    """The conversations of one inbox view (mine, unassigned, open,
    snoozed, resolved), latest activity first, as a queryset of app users
    that carries what a list row shows without a query per row: the
    assignee and their user (joined), and `last_message`, the latest
    message's {text, type, role, received} (one subquery per row on the
    message history index; None before any message). `limit` slices it; the caller may page it further."""
    if view not in VIEWS:
        raise ServiceError(f"view must be one of {', '.join(VIEWS)}.")
    rows = _started(app)
    if view == "mine":
        rows = rows.filter(status=ConversationStatus.OPEN, assignee=member) if member else rows.none()
    elif view == "unassigned":
        rows = rows.filter(status=ConversationStatus.OPEN, assignee__isnull=True)
    else:
        rows = rows.filter(status=view)
    latest = (Message.objects.filter(app_user=OuterRef("pk")).order_by("-received", "-id")
              .values(last=JSONObject(text="text", type="type", role="role", received="received"))[:1])
    rows = (rows.select_related("assignee__user")
            .annotate(last_message=Subquery(latest, output_field=JSONField()))
            .order_by("-last_activity_at", "-pk"))
    return rows[:limit] if limit is not None else rows


# -------------------------------------------------------------------- notes


# How much of a note its event (the log entry, the live broadcast) carries:
# the Log tab shows an entry's detail whole, and a 10,000-character note
# would bury the entries around it. The note itself is in notes_of().
NOTE_PREVIEW = 280


def note_json(note: Note, *, preview: bool = False) -> dict:
    """A note as the team's pages carry it; with `preview`, as its event
    does: the text cut at NOTE_PREVIEW characters (`truncated` then says so)."""
    data = {"_id": note.pk, "appUserId": note.app_user_id, "authorEmail": note.author_email,
            "text": note.text, "createdAt": iso(note.created_at)}
    if preview and len(note.text) > NOTE_PREVIEW:
        data["text"] = note.text[:NOTE_PREVIEW]
        data["truncated"] = True
    return data


@transaction.atomic
def add_note(app_user: AppUser, member: Membership, text: str) -> Note:
    """A private note by `member` (of the app's team) on `app_user`'s
    conversation: stored, logged and published to the app's group only."""
    if member is None or member.team_id != app_user.app.team_id:
        raise PermissionDenied("Only a member of this app's team can add a note.")
    if not isinstance(text, str) or not text.strip():
        raise ServiceError("A note needs some text.")
    text = text.strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise ServiceError(f"A note must be at most {NOTE_MAX_LENGTH} characters ({len(text)} given).")
    email = member.user.email
    note = Note.objects.create(app_id=app_user.app_id, app_user=app_user, author=member, author_email=email,
                               text=text)
    events.emit(
        "note:created", app=app_user.app, app_user=app_user,
        summary=f"Note on {app_user.display_name}'s conversation by {email}",
        detail={"appUser": events.user_ref(app_user), "note": note_json(note, preview=True), "by": email},
    )
    return note


def notes_of(app_user: AppUser):
    """A conversation's notes, oldest first."""
    return Note.objects.filter(app_user=app_user).order_by("created_at", "id")
