"""An app's webhooks: the list, create, a webhook's page (its secrets, revealed
on a click and rotated; edit; a disabled one enabled again; a test event; its
recent events with their attempts and payloads, re-delivered one by one or
every failed one since a time) and deletion with confirmation.

Any member of the app's team sees the list, the page and the events with
their attempts (404 for other teams); only owners and admins see anything of
the secrets, open the forms and change anything (403), the rule of
messaging.services.webhook_config.check_acting, whose functions make every
write. A receiver's answer is shown with any of the webhook's secrets in it
masked (a receiver may echo the headers it got).
"""

import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.views import access
from dashboard.views.htmx import INVALID, redirect_anywhere, render_part
from messaging.crypto import mask_secrets
from dashboard.webhook_forms import RedeliverSinceForm, WebhookForm
from messaging.models import WebhookAttempt, WebhookEventState
from messaging.services import errors
from messaging.services import webhook_config as service

PAGE = "dashboard/webhooks/webhook.html"
NEW = "dashboard/webhooks/new.html"
RECENT_EVENTS = 25
# How much of a payload the page shows (a row stored before the size
# limits may be megabytes; the API gives it whole).
PAYLOAD_SHOWN = 20_000
STATES = [("", "All"), *WebhookEventState.choices]
# The events a "Re-deliver" button is offered for (a pending one is on its way).
REDELIVERABLE = {WebhookEventState.DELIVERED, WebhookEventState.FAILED}


def _managed_app(user, app_id):
    """The app, for an owner or admin of its team (403 for other members,
    404 for everyone else)."""
    app = access.app_for(user, app_id)
    try:
        service.check_acting(app.membership, app)
    except errors.PermissionDenied as denied:
        raise PermissionDenied(denied.description)
    return app


def _webhook(app, webhook_id):
    try:
        return service.get_webhook(app, webhook_id)
    except errors.NotFound:
        raise Http404("No such webhook")


def _seen(request, app_id, webhook_id):
    """(app, webhook) for any member of the app's team."""
    app = access.app_for(request.user, app_id)
    return app, _webhook(app, webhook_id)


def _managed(request, app_id, webhook_id):
    """(app, webhook) for an owner or admin of the app's team."""
    app = _managed_app(request.user, app_id)
    return app, _webhook(app, webhook_id)


def _event(webhook, event_id):
    try:
        return service.get_event(webhook, event_id)
    except errors.NotFound:
        raise Http404("No such event")


def _context(app, **extra):
    context = {"app": app, "team": app.team, "app_tab": "webhooks", "can_manage": app.membership.can_manage}
    context.update(extra)
    return context


def _page_url(webhook) -> str:
    return reverse("app_webhook", args=[webhook.app_id, webhook.id])


def _secrets(webhook) -> list[str]:
    return [webhook.secret, webhook.signing_secret, webhook.previous_signing_secret]


def _last_attempts(webhooks) -> dict:
    """Each webhook's latest recorded attempt, by webhook id (two queries;
    the newest id is the latest recorded: the primary key's index, no sort)."""
    latest = WebhookAttempt.objects.filter(event__webhook=OuterRef("pk")).order_by("-id").values("id")[:1]
    ids = dict(webhooks.annotate(last_attempt=Subquery(latest)).values_list("id", "last_attempt"))
    attempts = WebhookAttempt.objects.in_bulk([a for a in ids.values() if a])
    return {webhook_id: attempts.get(attempt_id) for webhook_id, attempt_id in ids.items()}


@never_cache
@login_required
@require_GET
def webhook_list(request, app_id):
    app = access.app_for(request.user, app_id)
    webhooks = service.webhooks_of(app)
    last = _last_attempts(webhooks)
    rows = []
    for webhook in webhooks:
        attempt = last.get(webhook.id)
        if attempt is not None:
            attempt.error = mask_secrets(attempt.error, _secrets(webhook))
        rows.append({"row": webhook, "url": _page_url(webhook), "last_attempt": attempt})
    return render(request, "dashboard/webhooks/list.html", _context(app, webhooks=rows))


@login_required
@require_http_methods(["GET", "POST"])
def create(request, app_id):
    app = _managed_app(request.user, app_id)
    form = WebhookForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        webhook = service.create_webhook(app, actor=access.actor(request), **form.webhook_fields)
        messages.success(request, f"Webhook to {webhook.target} created. Reveal its secrets below to "
                                  "check requests at your receiver.")
        return redirect_anywhere(request, _page_url(webhook))
    status = INVALID if request.method == "POST" else 200
    return render_part(request, NEW, "webhook-form", _context(app, form=form), status=status)


# The webhook's page and its parts.


def _events(webhook, state: str):
    rows = service.events_of(webhook, state=state or None).prefetch_related(
        Prefetch("attempt_rows", queryset=WebhookAttempt.objects.order_by("number", "id")))
    events = list(rows[:RECENT_EVENTS])
    secrets = _secrets(webhook)
    for event in events:
        text = json.dumps(event.payload, indent=2, ensure_ascii=False)
        event.payload_json = text[:PAYLOAD_SHOWN]
        event.payload_cut = max(0, len(text) - PAYLOAD_SHOWN)
        event.attempt_list = list(event.attempt_rows.all())
        for attempt in event.attempt_list:
            attempt.response = mask_secrets(attempt.response, secrets)
            attempt.error = mask_secrets(attempt.error, secrets)
        event.redeliverable = event.state in REDELIVERABLE
    return events


def _state_filter(request) -> str:
    state = request.GET.get("state", "")
    if state not in dict(STATES):
        raise Http404("No such state")
    return state


def _page_context(request, app, webhook, **extra):
    state = _state_filter(request) if request.method == "GET" else ""
    events_url = reverse("app_webhook_events", args=[app.id, webhook.id])
    context = _context(
        app,
        webhook=webhook,
        page_url=_page_url(webhook),
        events_url=events_url,
        events=_events(webhook, state),
        state=state,
        states=[(value, label, f"{events_url}?state={value}" if value else events_url) for value, label in STATES],
        recent=RECENT_EVENTS,
        overlap_hours=int(service.ROTATION_OVERLAP.total_seconds() // 3600),
        signing_overlap=webhook.previous_signing_secret and webhook.previous_signing_until
        and webhook.previous_signing_until > timezone.now(),
        revealed=False,
        rotated=None,
        edit_form=None,
        redeliver_form=None,
        notice=None,
    )
    if app.membership.can_manage:
        context["edit_form"] = WebhookForm(webhook=webhook)
        since = webhook.failing_since or timezone.now() - timedelta(days=1)
        context["redeliver_form"] = RedeliverSinceForm(initial={"since": since.replace(second=0, microsecond=0)})
    context.update(extra)
    return context


@never_cache
@login_required
@require_GET
def webhook_page(request, app_id, webhook_id):
    app, webhook = _seen(request, app_id, webhook_id)
    return render(request, PAGE, _page_context(request, app, webhook))


@never_cache
@login_required
@require_GET
def events(request, app_id, webhook_id):
    """The recent events part (htmx: refresh and the state filter); a plain
    request gets the whole page."""
    app, webhook = _seen(request, app_id, webhook_id)
    return render_part(request, PAGE, "webhook-events", _page_context(request, app, webhook))


@never_cache  # the answer holds the secrets: keep it out of every cache
@login_required
@require_POST
def reveal(request, app_id, webhook_id):
    """The secrets in clear, on an explicit click (a POST: no link, prefetch
    or history entry shows them)."""
    app, webhook = _managed(request, app_id, webhook_id)
    return render_part(request, PAGE, "webhook-secrets", _page_context(request, app, webhook, revealed=True))


def _rotate(request, app_id, webhook_id, which: str):
    app, webhook = _managed(request, app_id, webhook_id)
    if which == "signing":
        webhook = service.rotate_signing_secret(webhook, actor=access.actor(request))
    else:
        webhook = service.rotate_secret(webhook, actor=access.actor(request))
    context = _page_context(request, app, webhook, revealed=True, rotated=which)
    return render_part(request, PAGE, "webhook-secrets", context)


@never_cache
@login_required
@require_POST
def rotate_secret(request, app_id, webhook_id):
    """A new X-API-Key secret, at once; shown in clear right away."""
    return _rotate(request, app_id, webhook_id, "apiKey")


@never_cache
@login_required
@require_POST
def rotate_signing_secret(request, app_id, webhook_id):
    """A new signing secret (the old one signs too for 24 h); shown in clear."""
    return _rotate(request, app_id, webhook_id, "signing")


@login_required
@require_POST
def edit(request, app_id, webhook_id):
    app, webhook = _managed(request, app_id, webhook_id)
    form = WebhookForm(request.POST, webhook=webhook)
    if form.is_valid():
        changes = form.changes()
        if changes.get("enabled") is False:
            changes["disabled_reason"] = _disabled_by(request.user)
        service.update_webhook(webhook, changes, actor=access.actor(request))
        messages.success(request, "Saved.")
        return redirect_anywhere(request, _page_url(webhook))
    context = _page_context(request, app, webhook, edit_form=form)
    return render_part(request, PAGE, "webhook-edit", context, status=INVALID)


def _disabled_by(user) -> str:
    return f"disabled in the dashboard by {user.email} on {timezone.now():%Y-%m-%d %H:%M} UTC"


@login_required
@require_POST
def enable(request, app_id, webhook_id):
    """Enable a disabled webhook (a 410 or a member disabled it): its
    waiting events go out again."""
    app, webhook = _managed(request, app_id, webhook_id)
    if not webhook.enabled:
        service.update_webhook(webhook, {"enabled": True}, actor=access.actor(request))
    messages.success(request, "Webhook enabled: its waiting events are being sent.")
    return redirect_anywhere(request, _page_url(webhook))


def _events_done(request, app, webhook, notice: str):
    """After a change to the events: htmx gets the events part with the
    notice; a plain post goes back to the page, the notice flashed."""
    if not request.htmx:
        messages.success(request, notice)
        return redirect_anywhere(request, _page_url(webhook) + "#webhook-events")
    return render_part(request, PAGE, "webhook-events", _page_context(request, app, webhook, notice=notice))


@login_required
@require_POST
def send_test(request, app_id, webhook_id):
    app, webhook = _managed(request, app_id, webhook_id)
    event = service.send_test_event(webhook)
    notice = f"Test event {event.pk} queued: its attempt shows below once it is sent."
    return _events_done(request, app, webhook, notice + _while_disabled(webhook))


def _while_disabled(webhook) -> str:
    return "" if webhook.enabled else " The webhook is disabled: nothing goes out until it is enabled."


@login_required
@require_POST
def redeliver(request, app_id, webhook_id, event_id):
    app, webhook = _managed(request, app_id, webhook_id)
    event = service.redeliver(_event(webhook, event_id))
    notice = f"Event {event.pk} ({event.trigger}) is being sent again."
    return _events_done(request, app, webhook, notice + _while_disabled(webhook))


@login_required
@require_POST
def redeliver_since(request, app_id, webhook_id):
    app, webhook = _managed(request, app_id, webhook_id)
    form = RedeliverSinceForm(request.POST)
    if not form.is_valid():
        context = _page_context(request, app, webhook, redeliver_form=form)
        return render_part(request, PAGE, "webhook-events", context, status=INVALID)
    since = form.cleaned_data["since"]
    count = service.redeliver_failed_since(webhook, since)
    when = f"{since:%Y-%m-%d %H:%M} UTC"
    if count:
        notice = f"Sending {count} failed event{'s' if count != 1 else ''} since {when} again."
    else:
        notice = f"No failed events since {when}: nothing to send again."
    return _events_done(request, app, webhook, notice + _while_disabled(webhook))


@login_required
@require_http_methods(["GET", "POST"])
def delete(request, app_id, webhook_id):
    """GET asks for confirmation; POST deletes the webhook and its events."""
    app, webhook = _managed(request, app_id, webhook_id)
    if request.method == "POST":
        service.delete_webhook(webhook, actor=access.actor(request))
        messages.success(request, f"Webhook to {webhook.target} deleted.")
        return redirect_anywhere(request, reverse("app_webhooks", args=[app.id]))
    return render(request, "dashboard/webhooks/delete.html", _context(app, webhook=webhook, page_url=_page_url(webhook)))
