"""The Log tab: every event of the app, newest first, live, filterable by
kind and user, searchable by ID; keyset pages (?before=<id>); retention."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from dashboard.composer_forms import RetentionForm
from dashboard.log_forms import LogFilters
from dashboard.views import access
from dashboard.views.appusers import app_context
from dashboard.views.htmx import INVALID
from messaging.events import KINDS
from messaging.services import logs as logs_service
from messaging.services.errors import ServiceError

LOG = "dashboard/live/log.html"


def _rows(app, entries):
    for entry in entries:
        entry.label = KINDS.get(entry.kind, (entry.kind, None))[0]
        entry.detail_json = json.dumps(entry.detail, indent=2, sort_keys=True, ensure_ascii=False)
        entry.user_url = (
            reverse("live_conversation", args=[app.id, entry.app_user_id]) if entry.app_user_id else None
        )
    return entries


def _context(request, app, *, retention_form=None):
    form = LogFilters(request.GET or None, kinds=logs_service.kind_choices())
    if request.GET and not form.is_valid():
        raise Http404("Bad filter")
    data = form.cleaned_data if request.GET else {}
    user_filter = None
    user_ref = (data.get("user") or "").strip()
    if user_ref:
        user_filter = logs_service.find_app_user(app, user_ref)
    kind, exclude_kinds = form.kind_filter()
    page = logs_service.log_page(
        app,
        before=data.get("before"),
        after=data.get("after"),
        kind=kind,
        exclude_kinds=exclude_kinds,
        app_user=user_filter,
        query=data.get("q") or "",
    )
    if user_ref and user_filter is None:
        page.entries, page.has_older, page.older_cursor = [], False, None
    filters = {k: v for k, v in (("kind", data.get("kind")), ("user", user_ref), ("q", data.get("q"))) if v}
    older_url = None
    if page.older_cursor:
        older_url = "?" + urlencode({**filters, "before": page.older_cursor})
    return app_context(
        app,
        "log",
        form=form,
        entries=_rows(app, page.entries),
        older_url=older_url,
        filters_query=urlencode(filters),
        is_first_page=not data.get("before"),
        searched_user=page.app_user or user_filter,
        retention_days=logs_service.retention_days(app),
        retention_form=retention_form or RetentionForm(initial={"days": logs_service.retention_days(app)}),
    )


@never_cache
@login_required
@require_GET
def log_tab(request, app_id):
    app = access.app_for(request.user, app_id)
    context = _context(request, app)
    if request.htmx:
        # Live catch-up (?after=) and "older" pages swap rows only.
        part = "log-rows" if (request.GET.get("after") or request.GET.get("before")) else "log-list"
        return render(request, f"{LOG}#{part}", context)
    return render(request, LOG, context)


@login_required
@require_POST
def retention(request, app_id):
    """Owners and admins set how long the app's log is kept."""
    app = access.managed_app_for(request.user, app_id)
    form = RetentionForm(request.POST)
    if form.is_valid():
        try:
            logs_service.set_retention_days(app, form.cleaned_data["days"], actor=access.actor(request))
        except ServiceError as error:
            form.add_error("days", error.description)
    if form.errors:
        context = _context(request, app, retention_form=form)
        if request.htmx:
            return render(request, f"{LOG}#retention", context, status=INVALID)
        return render(request, LOG, context, status=INVALID)
    app.settings = {**(app.settings or {}), logs_service.RETENTION_KEY: form.cleaned_data["days"]}
    if request.htmx:
        context = _context(request, app)
        context["retention_saved"] = True
        return render(request, f"{LOG}#retention", context)
    messages.success(request, "Log retention saved.")
    return redirect("live_log", app_id=app.id)
