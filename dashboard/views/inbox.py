"""The inbox: a support agent's split view of an app's conversations.

Left, the views (Mine, Unassigned, All open, Snoozed, Resolved) with their
counts and the selected view's conversations (messaging.services.inbox);
middle, the selected conversation's thread, which is the conversation
page's own (dashboard/views/conversations.py) loaded by htmx from
`live_conversation` and cut to its `#message-list`, `#typing-indicator` and
`#composer` partials, so the thread and the composer are built in one
place; right, the contact panel. The pane's header holds the status and
assignment controls.

One template, three partials (STYLE.md's htmx section), chosen by the htmx
request's target: `inbox-list` (counts and rows: a search or a live
refresh), `inbox-pane` (another conversation picked) and `inbox-controls`
(after a change); any other htmx request (another view) gets
`inbox-body`, a plain request or a history restore the whole page. Every
link is a real href and every control a POST form, so it all works without
JavaScript.

Who may change a conversation: any member of the app's team, agents
included (access.app_for). Resolving and assigning is an agent's daily
work, not team administration (which is what access.require_manager
guards); the service checks the member's team again.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboard.inbox_forms import SNOOZE_PRESETS, AssignForm, StatusForm
from dashboard.views import access
from dashboard.views.appusers import app_context
from dashboard.views.htmx import INVALID
from messaging.models import AppUser, Client, LogEntry, Membership
from messaging.services import inbox
from messaging.services.business_reads import with_business_unread
from messaging.services.errors import ServiceError

INBOX = "dashboard/inbox/inbox.html"
DEFAULT_VIEW = "open"
VIEW_LABELS = {"mine": "Mine", "unassigned": "Unassigned", "open": "All open", "snoozed": "Snoozed",
               "resolved": "Resolved"}
LIST_SIZE = 100
RECENT_EVENTS = 8
PARTS = ("inbox-list", "inbox-pane", "inbox-controls")


# ------------------------------------------------------------------ reading


def _view(view: str) -> str:
    if view not in inbox.VIEWS:
        raise Http404("No such inbox view")
    return view


def _matching(rows, query: str):
    """Each word of the search in a name, the userId or the email."""
    for word in query.split()[:5]:
        rows = rows.filter(Q(given_name__icontains=word) | Q(surname__icontains=word)
                           | Q(user_id__icontains=word) | Q(email__icontains=word))
    return rows


def _rows(app, member, view: str, query: str) -> list:
    """The list rows: service order, with unread counts and channels."""
    rows = _matching(inbox.conversations(app, member, view), query)
    rows = with_business_unread(rows).prefetch_related(
        Prefetch("clients", queryset=Client.objects.filter(pending=False).order_by("-last_seen")))
    rows = list(rows[:LIST_SIZE])
    for row in rows:
        row.platforms = sorted({client.platform for client in row.clients.all()})
        row.preview = _preview(row.last_message)
    return rows


def _preview(last: dict | None) -> str:
    if not last:
        return ""
    text = (last.get("text") or "").strip()
    prefix = "You: " if last.get("role") == "appMaker" else ""
    return prefix + (text[:140] if text else f"[{last.get('type') or 'message'}]")


def _selected(app, user_id: str | None) -> AppUser | None:
    if user_id is None:
        return None
    return get_object_or_404(AppUser.objects.select_related("app", "assignee__user"), pk=user_id, app=app)


def _members(app) -> list:
    return list(Membership.objects.select_related("user")
                .filter(team_id=app.team_id, user__is_active=True).order_by("user__email"))


def _url(app, view: str, app_user=None, query: str = "") -> str:
    if app_user is None:
        url = reverse("live_inbox_view", args=[app.id, view])
    else:
        url = reverse("live_inbox_conversation", args=[app.id, view, app_user.id])
    return url + ("?" + urlencode({"q": query}) if query else "")


def _contact(app_user: AppUser) -> dict:
    """The contact panel: channels with their last-seen time, properties,
    the user's latest log entries (typing left out: it buries the rest)."""
    return {
        "clients": list(app_user.clients.filter(pending=False).order_by("-last_seen")),
        "properties": sorted((app_user.properties or {}).items()) if isinstance(app_user.properties, dict) else [],
        "recent_events": list(LogEntry.objects.filter(app_id=app_user.app_id, app_user=app_user)
                              .exclude(kind__startswith="typing:").order_by("-id")[:RECENT_EVENTS]),
    }


def _part(request) -> str | None:
    """The partial an htmx request asks for (module docstring); None for
    the whole page (a plain request, or htmx restoring its history)."""
    if not request.htmx or request.htmx.history_restore_request:
        return None
    wanted = request.GET.get("part") or request.htmx.target
    return wanted if wanted in PARTS else "inbox-body"


def _context(request, app, view: str, selected: AppUser | None, *, part: str | None = None, status_form=None,
             assign_form=None) -> dict:
    """What the template needs; the pane's parts skip the list's queries."""
    member = app.membership
    query = request.GET.get("q", "")[:255].strip()
    context = app_context(app, "inbox", view=view, view_label=VIEW_LABELS[view], query=query, selected=selected,
                          view_url=_url(app, view), here=_url(app, view, selected, query),
                          presets=SNOOZE_PRESETS[:-1])
    if part not in ("inbox-pane", "inbox-controls"):
        counts = inbox.counts(app, member)
        context["views"] = [{"name": name, "label": VIEW_LABELS[name], "count": counts[name],
                             "url": _url(app, name, query=query), "current": name == view} for name in inbox.VIEWS]
        context["rows"] = _rows(app, member, view, query)
    if selected is not None:
        members = _members(app)
        if part != "inbox-controls":
            context.update(_contact(selected))
        context.update(
            members=members, me=member,
            status_form=status_form or StatusForm(),
            assign_form=assign_form or AssignForm(members=members, me=member),
            status_url=reverse("live_inbox_status", args=[app.id, view, selected.id]),
            assign_url=reverse("live_inbox_assign", args=[app.id, view, selected.id]),
        )
    return context


def _render(request, context: dict, part: str | None, status: int = 200):
    return render(request, INBOX + (f"#{part}" if part else ""), context, status=status)


@never_cache
@login_required
@require_GET
def inbox_page(request, app_id, view=DEFAULT_VIEW, user_id=None):
    app = access.app_for(request.user, app_id)
    view, part = _view(view), _part(request)
    return _render(request, _context(request, app, view, _selected(app, user_id), part=part), part)


# ------------------------------------------------------------------ changes


def _change(request, app, view, app_user, form, field):
    """Apply a valid form's changes through the service; re-render the
    controls (htmx) or come back to the conversation (plain POST)."""
    if form.is_valid():
        try:
            inbox.update_conversation(app_user, form.changes, by=app.membership)
        except ServiceError as error:
            form.add_error(None, error.description)
    part = "inbox-controls" if request.htmx else None
    if form.errors:
        return _render(request, _context(request, app, view, app_user, part=part, **{field: form}), part, INVALID)
    if not request.htmx:
        return redirect(_url(app, view, app_user))
    return _render(request, _context(request, app, view, _selected(app, app_user.id), part=part), part)


@login_required
@require_POST
def change_status(request, app_id, view, user_id):
    app = access.app_for(request.user, app_id)
    view, app_user = _view(view), _selected(app, user_id)
    return _change(request, app, view, app_user, StatusForm(request.POST), "status_form")


@login_required
@require_POST
def assign(request, app_id, view, user_id):
    app = access.app_for(request.user, app_id)
    view, app_user = _view(view), _selected(app, user_id)
    form = AssignForm(request.POST, members=_members(app), me=app.membership)
    return _change(request, app, view, app_user, form, "assign_form")
