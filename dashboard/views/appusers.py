"""An app's users: the list by latest activity (search, unread markers,
channels) and manual creation (same rules as POST /appusers)."""

from datetime import datetime, timezone as dt_timezone

from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from dashboard.user_forms import ManualUserForm
from dashboard.views import access
from dashboard.views.htmx import INVALID
from messaging.validators import gravatar_url
from messaging.ids import is_id
from messaging.models import AppUser, Client
from messaging.services import appusers as appusers_service
from messaging.services.business_reads import with_business_unread
from messaging.services.errors import ServiceError

USERS = "dashboard/live/users.html"
NEW_USER = "dashboard/live/user_new.html"
PAGE_SIZE = 50


def app_context(app, tab: str, **extra) -> dict:
    """What every page of the app frame needs (templates/dashboard/app_base.html)."""
    context = {
        "app": app,
        "team": app.team,
        "app_tab": tab,
        "can_manage": app.membership.can_manage,
        "live_ws_path": f"/ws/dashboard/events/{app.id}/",
    }
    context.update(extra)
    return context


def app_user_for(app, user_id: str) -> AppUser:
    """An app user of this app by `_id` (404 for any other app's user)."""
    return get_object_or_404(AppUser.objects.select_related("app"), pk=user_id, app=app)


def decorate(app_user: AppUser) -> AppUser:
    clients = [c for c in app_user.clients.all() if not c.pending]
    app_user.channels = sorted({c.platform for c in clients if c.active})
    app_user.avatar = gravatar_url(app_user.email) if app_user.email else ""
    return app_user


def _cursor(value: str):
    """`<microseconds>_<id>` of the last user shown (keyset on activity)."""
    try:
        micros, user_id = value.split("_", 1)
        return datetime.fromtimestamp(int(micros) / 1_000_000, dt_timezone.utc), user_id
    except (ValueError, OverflowError, OSError):
        return None


def users_page(app, *, query: str = "", after: str = ""):
    users = AppUser.objects.filter(app=app)
    query = query.strip()
    if query:
        match = Q(user_id=query) | Q(user_id__istartswith=query) | Q(email__icontains=query)
        match |= Q(given_name__icontains=query) | Q(surname__icontains=query)
        if is_id(query):
            match |= Q(id=query)
        users = users.filter(match)
    cursor = _cursor(after) if after else None
    if cursor:
        at, last_id = cursor
        users = users.filter(Q(last_activity_at__lt=at) | Q(last_activity_at=at, id__lt=last_id))
    users = with_business_unread(users).prefetch_related(
        Prefetch("clients", queryset=Client.objects.order_by("-last_seen"))
    )
    rows = list(users.order_by("-last_activity_at", "-id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = [decorate(u) for u in rows[:PAGE_SIZE]]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = f"{int(last.last_activity_at.timestamp() * 1_000_000)}_{last.id}"
    return rows, next_cursor


@never_cache
@login_required
@require_GET
def user_list(request, app_id):
    app = access.app_for(request.user, app_id)
    query = request.GET.get("q", "")[:255]
    after = request.GET.get("after", "")[:80]
    users, next_cursor = users_page(app, query=query, after=after)
    context = app_context(app, "users", users=users, query=query, after=after, next_cursor=next_cursor)
    if request.htmx and after:
        return render(request, USERS + "#user-rows", context)
    return render(request, USERS + ("#user-list" if request.htmx else ""), context)


@login_required
@require_http_methods(["GET", "POST"])
def create_user(request, app_id):
    """Create a user by userId (what POST /appusers does), then show its
    `_id` with a copy button at once."""
    app = access.app_for(request.user, app_id)
    form = ManualUserForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = appusers_service.create_app_user(app, user_id=form.user_id, profile=form.profile)
            except ServiceError as error:
                form.add_error(None, error.description)
        if created is None:
            status = INVALID
        else:
            form = ManualUserForm()
    context = app_context(
        app,
        "users",
        form=form,
        created=created,
        created_url=reverse("live_conversation", args=[app.id, created.id]) if created else None,
    )
    return render(request, NEW_USER + ("#new-user" if request.htmx else ""), context, status=status)
