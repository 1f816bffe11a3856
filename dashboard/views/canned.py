"""Canned replies: an app's message templates (messaging.services.templates)
as the team manages them. The page lists them and creates or deletes one;
the composer's `/` list shows them (dashboard/views/conversations.py).
Every member of the app's team may manage them: they are the team's
shared phrases, not a setting.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.composer_forms import CannedReplyForm
from dashboard.views import access
from dashboard.views.appusers import app_context
from dashboard.views.htmx import INVALID, render_part
from messaging.services import templates as templates_service
from messaging.services.errors import NotFound

CANNED = "dashboard/live/canned.html"


def _context(app, form, **extra):
    return app_context(app, "users", form=form, canned=templates_service.list_templates(app), **extra)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def canned_replies(request, app_id):
    app = access.app_for(request.user, app_id)
    if request.method == "GET":
        return render_part(request, CANNED, "canned", _context(app, CannedReplyForm(app=app)))
    form = CannedReplyForm(request.POST, app=app)
    if not form.is_valid():
        return render_part(request, CANNED, "canned", _context(app, form), status=INVALID)
    if not request.htmx:
        return redirect("live_canned", app_id=app.id)
    return render_part(request, CANNED, "canned",
                       _context(app, CannedReplyForm(app=app), created=form.template))


@login_required
@require_POST
def delete_canned_reply(request, app_id, template_id):
    app = access.app_for(request.user, app_id)
    try:
        templates_service.delete_template(app, template_id)
    except NotFound:
        raise Http404("No such canned reply.")
    if not request.htmx:
        return redirect("live_canned", app_id=app.id)
    return render_part(request, CANNED, "canned", _context(app, CannedReplyForm(app=app)))
