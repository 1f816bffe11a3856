"""The Web Messenger's pages: its settings in the dashboard (branding and
allowed origins) and the public demo page that embeds it for one app."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods

from dashboard.views import access
from dashboard.views.htmx import INVALID, render_part
from dashboard.widget_forms import WidgetSettingsForm
from messaging.client_address import public_base_url
from messaging.models import App
from messaging.services.apps import update_widget_settings

SETTINGS = "dashboard/widget_settings.html"

# The demo page is the widget's own page, and a business may show it in a
# frame on its site: the dashboard's policy (settings.SECURE_CSP) but for
# frame-ancestors, and no X-Frame-Options. Its scripts stay Parley's own
# files (static/parley/demo.js).
DEMO_POLICY = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


def _context(request, app, form, **extra):
    base = public_base_url(request)
    context = {
        "app": app,
        "team": app.team,
        "app_tab": "widget",
        "can_manage": app.membership.can_manage,
        "form": form,
        "script_url": base + static("parley/messenger.js"),
        "demo_url": base + reverse("widget_demo", args=[app.id]),
        "saved": False,
    }
    context.update(extra)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def widget_settings(request, app_id):
    """Any member of the app's team sees the settings (404 for others); only
    owners and admins may change them (403)."""
    if request.method == "GET":
        app = access.app_for(request.user, app_id)
        return render(request, SETTINGS, _context(request, app, WidgetSettingsForm.for_app(app)))
    app = access.managed_app_for(request.user, app_id)
    form = WidgetSettingsForm.for_app(app, request.POST)
    if not form.is_valid():
        return render_part(request, SETTINGS, "widget-form", _context(request, app, form), status=INVALID)
    update_widget_settings(
        membership=app.membership,
        app=app,
        widget=form.widget_settings(),
        allowed_origins=form.cleaned_data["allowed_origins"],
        actor=access.actor(request),
    )
    if not request.htmx:
        messages.success(request, "Web Messenger settings saved.")
        return redirect("app_widget", app_id=app.id)
    fresh = WidgetSettingsForm.for_app(app)
    return render_part(request, SETTINGS, "widget-form", _context(request, app, fresh, saved=True))


@require_GET
@xframe_options_exempt
@csp_override(DEMO_POLICY)
def demo(request, app_id):
    """A public page embedding the widget, so a business can try its app at
    once (the app token it shows is public by design: widgets carry it)."""
    app = get_object_or_404(App, pk=app_id)
    widget = (app.settings or {}).get("widget") or {}
    return render(
        request,
        "parley/demo.html",
        {
            "app": app,
            "title": widget.get("name") or app.name,
            "script_url": public_base_url(request) + static("parley/messenger.js"),
            "config": {"appToken": app.app_token},
        },
    )
