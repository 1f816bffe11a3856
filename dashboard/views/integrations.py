"""An app's channels (integrations): the list, "Add a channel" (a type, then
its form), an integration's page (details, inbound URL, connection test,
edit) and deletion with confirmation.

Any member of the app's team sees the list and the pages' public parts
(404 for other teams); only owners and admins see the masked secrets and
the inbound URL, open the forms and change anything (403). Every write is
messaging.services.integrations'. A secret is never rendered: the forms
never send one back, stored ones show as their last four characters, and a
platform's refusal is shown with any secret it echoes masked.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.integration_forms import IntegrationForm
from dashboard.views import access
from dashboard.views.htmx import INVALID, redirect_anywhere, render_part
from messaging.client_address import public_base_url
from messaging.crypto import mask_secrets
from messaging.integrations.base import Integration as ChannelBase
from messaging.integrations.registry import integration_class
from messaging.services import integrations as service
from messaging.services.errors import NotFound, ServiceError

PAGE = "dashboard/integrations/integration.html"
NEW = "dashboard/integrations/new.html"


def _integration(app, integration_id):
    try:
        return service.get_integration(app, integration_id)
    except NotFound:
        raise Http404("No such integration")


def _channel(type_: str):
    """The class of a type the dashboard can connect; 404 for any other."""
    if type_ not in service.connectable_types():
        raise Http404("No such channel type")
    return integration_class(type_)


def _stored_secrets(row) -> list[str]:
    return [str(row.credentials.get(f.name, "")) for f in integration_class(row.type).fields if f.secret]


def _context(app, **extra):
    context = {"app": app, "team": app.team, "app_tab": "integrations", "can_manage": app.membership.can_manage}
    context.update(extra)
    return context


def _summary(row) -> dict:
    """What the list and the page show of a row: no secret in it."""
    cls = integration_class(row.type)
    return {
        "row": row,
        "label": cls.label or row.type,
        "url": reverse("app_integration", args=[row.app_id, row.id]),
        "error": mask_secrets(row.error, _stored_secrets(row)),
    }


@login_required
@require_GET
def integration_list(request, app_id):
    app = access.app_for(request.user, app_id)
    rows = [_summary(row) for row in service.integrations_of(app)]
    return render(request, "dashboard/integrations/list.html", _context(app, integrations=rows))


@login_required
@require_GET
def choose_type(request, app_id):
    app = access.managed_app_for(request.user, app_id)
    types = [{"type": t, "label": integration_class(t).label or t,
              "url": reverse("app_integration_create", args=[app.id, t])} for t in service.connectable_types()]
    return render(request, "dashboard/integrations/choose.html", _context(app, types=types))


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
def create(request, app_id, type_):
    app = access.managed_app_for(request.user, app_id)
    channel = _channel(type_)
    # Bound on any POST, an empty one too (it then shows what is required).
    form = IntegrationForm(request.POST if request.method == "POST" else None, channel=channel)
    if request.method == "POST" and form.is_valid():
        try:
            row = service.create_integration(app, {"type": type_, **form.props()}, base_url=public_base_url(request),
                                             membership=app.membership, actor=access.actor(request))
        except ServiceError as error:
            form.add_error(None, mask_secrets(error.description, form.secret_values()))
        else:
            messages.success(request, f"{channel.label} connected: {row.display_name}.")
            return redirect_anywhere(request, reverse("app_integration", args=[app.id, row.id]))
    status = INVALID if request.method == "POST" else 200
    context = _context(app, form=form, label=channel.label,
                       action=reverse("app_integration_create", args=[app.id, type_]))
    return render_part(request, NEW, "integration-form", context, status=status)


def _page_context(app, row, **extra):
    cls = integration_class(row.type)
    public = {f.name for f in cls.fields if not f.secret}
    context = _context(
        app,
        integration=_summary(row),
        properties=[(f.label, row.details[f.name]) for f in cls.fields if f.name in public and f.name in row.details],
        platform_details=sorted((k, v) for k, v in row.details.items() if k not in public),
        registers_webhook=cls.register_webhook is not ChannelBase.register_webhook,
        verifies_url=cls.verifies_url,
        secret_label=cls.secret_label,
        setup_hint=cls.setup_hint,
        edit_form=None,
        checked=None,
    )
    if app.membership.can_manage:
        secrets = service.masked_secrets(row)
        context["secrets"] = [(f.label, secrets[f.name]) for f in cls.fields if f.name in secrets]
        context["edit_form"] = IntegrationForm(channel=cls, integration=row)
    context.update(extra)
    return context


@login_required
@require_GET
def integration_page(request, app_id, integration_id):
    app = access.app_for(request.user, app_id)
    row = _integration(app, integration_id)
    return render(request, PAGE, _page_context(app, row))


@login_required
@require_POST
def check_connection(request, app_id, integration_id):
    """Ask the platform whether the stored credentials work; the status
    follows. htmx gets the connection part; a plain post the page again."""
    app = access.managed_app_for(request.user, app_id)
    row = _integration(app, integration_id)
    reason = mask_secrets(service.check_connection(row, membership=app.membership), _stored_secrets(row))
    if not request.htmx:
        if reason:
            messages.error(request, f"Connection test failed: {reason}")
        else:
            messages.success(request, "Connection OK.")
        return redirect("app_integration", app_id=app.id, integration_id=row.id)
    checked = {"ok": not reason, "reason": reason}
    return render_part(request, PAGE, "connection", _page_context(app, row, checked=checked))


@sensitive_post_parameters()
@login_required
@require_POST
def edit(request, app_id, integration_id):
    app = access.managed_app_for(request.user, app_id)
    row = _integration(app, integration_id)
    cls = integration_class(row.type)
    form = IntegrationForm(request.POST, channel=cls, integration=row)
    if form.is_valid():
        try:
            service.update_integration(row, form.props(), membership=app.membership,
                                       actor=access.actor(request))
        except ServiceError as error:
            form.add_error(None, mask_secrets(error.description, form.secret_values()))
        else:
            messages.success(request, "Saved.")
            return redirect_anywhere(request, reverse("app_integration", args=[app.id, row.id]))
    return render_part(request, PAGE, "integration-edit", _page_context(app, row, edit_form=form), status=INVALID)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request, app_id, integration_id):
    """GET asks for confirmation; POST unregisters and deletes."""
    app = access.managed_app_for(request.user, app_id)
    row = _integration(app, integration_id)
    summary = _summary(row)
    if request.method == "POST":
        service.delete_integration(row, membership=app.membership, actor=access.actor(request))
        messages.success(request, f"{summary['label']} “{row.display_name}” deleted.")
        return redirect_anywhere(request, reverse("app_integrations", args=[app.id]))
    return render(request, "dashboard/integrations/delete.html", _context(app, integration=summary))
