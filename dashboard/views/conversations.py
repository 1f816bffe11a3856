"""One user's conversation: history (paged), per-channel delivery states and
targeting decisions of business messages, the composer, typing, re-send.

Updatable parts are partials of one template (STYLE.md): `message-list`
(latest page), `message-rows` (older or newer messages), `message` (one
message), `note` (a private note) and `composer`. While the page is open
the dashboard socket carries the `message` and `note` fragments themselves
(dashboard/consumers.py renders them with `message_fragment` and
`note_fragment` below), so a send or a user message costs no extra request;
the HTTP partials serve paging and the catch-up after a reconnect.

The thread shows what the customer did as well as what was said: the
team's private notes and the user's postbacks (stored only as `postback`
log entries, messaging.services.postbacks) are interleaved with the
messages of the page's time span, as "picked: Tacos"; a reply-button
choice is a user message carrying the button's payload, shown the same way.
"""

from datetime import datetime, timezone as dt_timezone
from urllib.parse import urlparse

from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.composer_forms import ComposerForm, for_people
from dashboard.views import access
from dashboard.views.appusers import app_context, app_user_for, decorate
from dashboard.views.htmx import INVALID
from messaging.validators import gravatar_url
from messaging.client_address import public_base_url
from messaging.models import Delivery, DeliveryState, LogEntry, Message, Note
from messaging.services import authors, inbox, media, postbacks
from messaging.services import templates as templates_service
from messaging.services.business_reads import mark_read_by_business
from messaging.services import messages as messages_service
from messaging.services.errors import Conflict, NotFound, ServiceError
from messaging.services.messages import messages_page, post_message

CONVERSATION = "dashboard/live/conversation.html"
PAGE_SIZE = 30
RULES = {
    "destination": "Destination",
    "preferred": "Preferred channel",
    "silent": "Silent copy",
    "failover": "Failover",
}


def millis(value: datetime) -> int:
    return int(round(value.timestamp() * 1000))


def _from_millis(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromtimestamp(int(raw) / 1000, dt_timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise Http404("Bad cursor")


def safe_url(value) -> str:
    """Only http(s) URLs become links or images: an action's `uri` may be
    any absolute URI (javascript: included), which must never be clickable."""
    if isinstance(value, str) and urlparse(value).scheme in ("http", "https"):
        return value
    return ""


def map_url(coordinates) -> str:
    """A location as a map link (OpenStreetMap: no key, no tracking script)."""
    try:
        lat, lon = float(coordinates["lat"]), float(coordinates["long"])
    except (TypeError, KeyError, ValueError):
        return ""
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=16/{lat:.6f}/{lon:.6f}"


STATE_ICONS = {"queued": "…", "sent": "✓", "delivered": "✓✓", "read": "✓✓", "failed": "!"}


def _action_row(action: dict) -> dict:
    return {
        "type": action.get("type", ""),
        "text": action.get("text", ""),
        "payload": action.get("payload", ""),
        "uri": action.get("uri", ""),
        "href": safe_url(action.get("uri")),
    }


def _decorate_messages(messages: list) -> list:
    """Attach what the template shows: author avatar, source channel,
    deliveries (with their client), decisions with labels."""
    for message in messages:
        message.received_ms = millis(message.received)
        if not message.avatar_url and message.email:
            message.avatar = gravatar_url(message.email)
        else:
            message.avatar = safe_url(message.avatar_url)
        source = message.source or {}
        message.channel = source.get("type") or ""
        message.safe_media = safe_url(message.media_url)
        message.action_rows = [_action_row(a) for a in message.actions or [] if isinstance(a, dict)]
        message.item_rows = [
            {
                "title": item.get("title", ""),
                "description": item.get("description", ""),
                "safe_media": safe_url(item.get("mediaUrl")),
                "action_rows": [_action_row(a) for a in item.get("actions") or [] if isinstance(a, dict)],
            }
            for item in message.items or []
            if isinstance(item, dict)
        ]
        message.entry = "message"
        message.map_href = map_url(message.coordinates) if message.type == "location" else ""
        # A quick-reply choice: the user's message carries the button's payload.
        message.picked = message.role == "appUser" and bool(message.payload)
        message.delivery_rows = list(message.deliveries.all())
        message.any_failed = any(r.state == DeliveryState.FAILED for r in message.delivery_rows)
        for row in message.delivery_rows:
            row.icon = STATE_ICONS.get(row.state, "?")
            row.is_failed = row.state == DeliveryState.FAILED
            row.error_text = ""
            if row.error:
                row.error_text = str(row.error.get("message") or row.error.get("code") or row.error)
        message.decision_rows = [
            # A failover run early (rule 5) says why in `trigger`.
            {**d, "label": RULES.get(d.get("rule"), d.get("rule", "")), "reason": d.get("reason") or d.get("trigger")}
            for d in (message.decisions or [])
            if isinstance(d, dict)
        ]
    return messages


def _with_deliveries(queryset):
    return queryset.prefetch_related(
        Prefetch(
            "deliveries",
            queryset=Delivery.objects.select_related("client").order_by("created_at", "id"),
        )
    )


def _page(app_user, *, before=None, after=None):
    rows, has_older, has_newer = messages_page(app_user, before=before, after=after, limit=PAGE_SIZE)
    ids = [m.id for m in rows]
    by_id = {m.id: m for m in _with_deliveries(Message.objects.filter(id__in=ids))}
    messages = [by_id[i] for i in ids if i in by_id]
    return _decorate_messages(messages), has_older, has_newer


def decorate_note(note: Note) -> Note:
    note.entry = "note"
    note.received_ms = millis(note.created_at)
    return note


def decorate_postback(entry: LogEntry) -> LogEntry:
    """A postback as "picked: <the button's label>": the event keeps the
    label when the platform sent it; else it is the button's own, found by
    its `_id` among the user's recent business messages; the payload last."""
    action = (entry.detail or {}).get("action") or {}
    entry.entry = "postback"
    entry.received_ms = millis(entry.created_at)
    text = action.get("text")
    if not text and action.get("_id") and entry.app_user_id:
        message = postbacks.message_with_action(entry.app_user, str(action["_id"]))
        button = postbacks.action_of(message, str(action["_id"])) if message is not None else None
        text = (button or {}).get("text")
    entry.picked_text = str(text or action.get("payload") or "")
    return entry


def _thread(app_user, messages, has_older, has_newer, *, after=None, before=None):
    """The page's messages with the notes and postbacks of the same time
    span (from the first message shown, or from `after`; up to the next
    page's first message when there is one), oldest first."""
    if not messages and after is None and has_older:
        return messages
    start = messages[0].received if (has_older and messages) else None
    if after is not None:
        start = after
    end = before
    if has_newer and messages and before is None:
        end = messages[-1].received
    notes = inbox.notes_of(app_user)
    pressed = LogEntry.objects.filter(app_user=app_user, kind="postback").order_by("created_at", "id")
    if start is not None:
        notes, pressed = notes.filter(created_at__gt=start), pressed.filter(created_at__gt=start)
    if end is not None:
        notes, pressed = notes.filter(created_at__lte=end), pressed.filter(created_at__lte=end)
    extra = [decorate_note(n) for n in notes[:PAGE_SIZE * 2]] + [
        decorate_postback(p) for p in pressed.select_related("app_user")[:PAGE_SIZE * 2]]
    return sorted([*messages, *extra], key=lambda e: e.received_ms)


def message_fragment(app, app_user, message_id: str) -> str:
    """The `message` partial of one message (for the dashboard socket), or ""."""
    message = _with_deliveries(Message.objects.filter(app_user=app_user)).filter(pk=message_id).first()
    if message is None:
        return ""
    _decorate_messages([message])
    return render_to_string(CONVERSATION + "#message", {"app": app, "app_user": app_user, "message": message})


def note_fragment(app, app_user, note_id) -> str:
    note = Note.objects.filter(app_user=app_user, pk=note_id).first()
    if note is None:
        return ""
    return render_to_string(CONVERSATION + "#note", {"app": app, "app_user": app_user,
                                                      "note": decorate_note(note)})


def postback_fragment(app, app_user, log_id) -> str:
    entry = LogEntry.objects.select_related("app_user").filter(app_user=app_user, kind="postback", pk=log_id).first()
    if entry is None:
        return ""
    return render_to_string(CONVERSATION + "#postback", {"app": app, "app_user": app_user,
                                                          "entry": decorate_postback(entry)})


def _conversation_context(request, app, app_user, *, form=None, sent=False, before=None, **extra):
    messages, has_older, has_newer = _page(app_user, before=before)
    messages = _thread(app_user, messages, has_older, has_newer, before=before)
    decorate(app_user)
    app_user.clients_list = [c for c in app_user.clients.all().order_by("-last_seen") if not c.pending]
    return _history_context(
        app, app_user, messages, has_older,
        form=form or ComposerForm(app_user=app_user, member=request.user), sent=sent,
        canned=templates_service.list_templates(app), **extra,
    )


def _history_context(app, app_user, messages, has_older, **extra):
    """The context of a page of the conversation's messages (oldest first)."""
    return app_context(
        app,
        "users",
        app_user=app_user,
        history=messages,
        has_older=has_older,
        oldest_ms=next((m.received_ms for m in messages if m.entry == "message"), None),
        **extra,
    )


@never_cache
@login_required
@require_GET
def conversation(request, app_id, user_id):
    app = access.app_for(request.user, app_id)
    app_user = app_user_for(app, user_id)
    mark_read_by_business(app_user)
    before = _from_millis(request.GET.get("before"))
    return render(request, CONVERSATION, _conversation_context(request, app, app_user, before=before))


@never_cache
@login_required
@require_GET
def message_list(request, app_id, user_id):
    """?before=<ms>: the older page (rows + a new "older" link);
    ?after=<ms>: messages newer than what the page shows (live);
    neither: the latest page (catch-up after a reconnect)."""
    app = access.app_for(request.user, app_id)
    app_user = app_user_for(app, user_id)
    before = _from_millis(request.GET.get("before"))
    after = _from_millis(request.GET.get("after"))
    if before is None and after is None:
        mark_read_by_business(app_user)
        context = _conversation_context(request, app, app_user)
        return render(request, CONVERSATION + "#message-list", context)
    messages, has_older, has_newer = _page(app_user, before=before, after=after)
    messages = _thread(app_user, messages, has_older, has_newer, after=after, before=before)
    if after is not None:
        mark_read_by_business(app_user)
        has_older = False
    context = _history_context(app, app_user, messages, has_older)
    return render(request, CONVERSATION + "#message-rows", context)


@never_cache
@login_required
@require_GET
def message_item(request, app_id, user_id, message_id):
    app = access.app_for(request.user, app_id)
    app_user = app_user_for(app, user_id)
    message = get_object_or_404(_with_deliveries(Message.objects.filter(app_user=app_user)), pk=message_id)
    _decorate_messages([message])
    context = app_context(app, "users", app_user=app_user, message=message)
    return render(request, CONVERSATION + "#message", context)


def _post_reply(request, app_user, membership, form):
    """Send the composer's message; an attached image is stored first (as
    POST /appusers/{id}/images does) and removed again if sending fails."""
    fields = dict(form.message_fields)
    upload = form.cleaned_data.get("image")
    name = None
    if upload is not None:
        ext = media.check_image(upload)
        name, content_type = media.store_image(upload, app_id=app_user.app_id, app_user_id=app_user.id, ext=ext)
        fields.update(media_url=media.public_url(name, base_url=public_base_url(request)),
                      media_type=content_type)
    try:
        return post_message(app_user, role="appMaker", fields=fields, source={"type": "dashboard"},
                            author=authors.for_member(membership))
    except Exception:
        if name:
            media.delete_stored(name)
        raise


def _composer_response(request, app, app_user, form, *, sent=None, status=200):
    context = app_context(app, "users", app_user=app_user, form=form, sent=sent,
                          canned=templates_service.list_templates(app))
    return render(request, CONVERSATION + "#composer", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def send(request, app_id, user_id):
    """The composer: validate like the API, then post_message (appMaker), or
    in Note mode add a private note (never sent anywhere). The response is
    the fresh composer only: the message or note itself arrives over the
    dashboard socket (or with the catch-up), like every other agent's."""
    app = access.app_for(request.user, app_id)
    app_user = app_user_for(app, user_id)
    if request.method == "GET":
        return redirect("live_conversation", app_id=app.id, user_id=app_user.id)
    form = ComposerForm(request.POST, request.FILES, app_user=app_user)
    sent = None
    if form.is_valid():
        try:
            if form.is_note:
                inbox.add_note(app_user, app.membership, form.cleaned_data["text"])
                sent = "note"
            else:
                _post_reply(request, app_user, app.membership, form)
                sent = "message"
        except ServiceError as error:
            form.add_error(None, for_people(error.description))
    if sent is None:
        if request.htmx:
            return _composer_response(request, app, app_user, form, status=INVALID)
        return render(
            request, CONVERSATION, _conversation_context(request, app, app_user, form=form), status=INVALID
        )
    if not request.htmx:
        return redirect("live_conversation", app_id=app.id, user_id=app_user.id)
    # A fresh composer keeping the sender, the channel choice and the mode.
    fresh = ComposerForm(
        app_user=app_user,
        initial={
            "name": form.cleaned_data.get("name"),
            "email": form.cleaned_data.get("email"),
            "destination": form.cleaned_data.get("destination"),
            "mode": form.cleaned_data.get("mode") or "reply",
        },
    )
    return _composer_response(request, app, app_user, fresh, sent=sent)


@login_required
@require_POST
def typing(request, app_id, user_id):
    """typing:start / typing:stop from the composer (static/dashboard/live.js)."""
    app = access.app_for(request.user, app_id)
    app_user = app_user_for(app, user_id)
    action = request.POST.get("action", "")
    name = (request.POST.get("name") or request.user.get_full_name())[:255]
    email = (request.POST.get("email") or request.user.email).strip()
    try:
        messages_service.typing(app_user, action, name=name, avatar_url=gravatar_url(email) if email else "")
    except ServiceError as error:
        return JsonResponse({"error": error.description}, status=400)
    return JsonResponse({"ok": True, "action": action})


@login_required
@require_GET
def avatar(request, app_id, user_id):
    """The Gravatar preview of the composer's sender email."""
    app = access.app_for(request.user, app_id)
    app_user_for(app, user_id)
    email = request.GET.get("email", "").strip()[:255]
    context = {"avatar_url": gravatar_url(email) if email else ""}
    return render(request, CONVERSATION + "#avatar-preview", context)


@login_required
@require_POST
def resend(request, app_id, user_id, delivery_id):
    app = access.app_for(request.user, app_id)
    app_user = app_user_for(app, user_id)
    try:
        row = messages_service.resend(app_user, delivery_id)
    except NotFound:
        raise Http404("No such delivery.")
    except Conflict as error:
        return HttpResponse(error.description, status=409, content_type="text/plain")
    message = _with_deliveries(Message.objects.filter(pk=row.message_id)).get()
    _decorate_messages([message])
    if not request.htmx:
        return redirect("live_conversation", app_id=app.id, user_id=app_user.id)
    context = app_context(app, "users", app_user=app_user, message=message)
    return render(request, CONVERSATION + "#message", context)

