"""One user's conversation: history (paged), per-channel delivery states and
targeting decisions of business messages, the composer, typing, re-send.

Updatable parts are partials of one template (STYLE.md): `message-list`
(latest page), `message-rows` (older or newer messages), `message` (one
message, refetched when its deliveries change) and `composer`. The live
script refetches them on the app socket's events.
"""

from datetime import datetime, timezone as dt_timezone
from urllib.parse import urlparse

from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.composer_forms import ComposerForm
from dashboard.views import access
from dashboard.views.appusers import app_context, app_user_for, decorate
from dashboard.views.htmx import INVALID
from messaging.validators import gravatar_url
from messaging.models import Delivery, DeliveryState, Message
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
        message.delivery_rows = list(message.deliveries.all())
        for row in message.delivery_rows:
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


def _conversation_context(request, app, app_user, *, form=None, sent=False, before=None, **extra):
    messages, has_older, _ = _page(app_user, before=before)
    decorate(app_user)
    app_user.clients_list = [c for c in app_user.clients.all().order_by("-last_seen") if not c.pending]
    return _history_context(
        app, app_user, messages, has_older,
        form=form or ComposerForm(app_user=app_user, member=request.user), sent=sent, **extra,
    )


def _history_context(app, app_user, messages, has_older, **extra):
    """The context of a page of the conversation's messages (oldest first)."""
    return app_context(
        app,
        "users",
        app_user=app_user,
        history=messages,
        has_older=has_older,
        oldest_ms=messages[0].received_ms if messages else None,
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
    messages, has_older, _ = _page(app_user, before=before, after=after)
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


@login_required
@require_http_methods(["GET", "POST"])
def send(request, app_id, user_id):
    """The composer: validate like the API, then post_message (appMaker)."""
    app = access.app_for(request.user, app_id)
    app_user = app_user_for(app, user_id)
    if request.method == "GET":
        return redirect("live_conversation", app_id=app.id, user_id=app_user.id)
    form = ComposerForm(request.POST, app_user=app_user)
    sent = None
    if form.is_valid():
        try:
            sent = post_message(
                app_user, role="appMaker", fields=form.message_fields, source={"type": "dashboard"}
            )
        except ServiceError as error:
            form.add_error(None, error.description)
    if sent is None:
        if request.htmx:
            context = app_context(app, "users", app_user=app_user, form=form)
            return render(request, CONVERSATION + "#composer", context, status=INVALID)
        return render(
            request, CONVERSATION, _conversation_context(request, app, app_user, form=form), status=INVALID
        )
    if not request.htmx:
        return redirect("live_conversation", app_id=app.id, user_id=app_user.id)
    # A fresh composer keeping the sender and the channel choice.
    fresh = ComposerForm(
        app_user=app_user,
        initial={
            "name": form.cleaned_data.get("name"),
            "email": form.cleaned_data.get("email"),
            "destination": form.cleaned_data.get("destination"),
        },
    )
    context = app_context(app, "users", app_user=app_user, form=fresh, sent=True)
    return render(request, CONVERSATION + "#composer", context)


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

