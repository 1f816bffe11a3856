"""An app's pages: creation, settings (name, id, token, app-scope keys), deletion."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.forms import AppForm, KeyForm, UserJwtForm
from dashboard.views import access
from dashboard.views.htmx import INVALID, render_part
from messaging.models import KeyScope
from messaging.services import apps as apps_service

SETTINGS = "dashboard/app_settings.html"


@login_required
@require_http_methods(["GET", "POST"])
def new_app(request, team_id):
    membership = access.manager_membership_for(request.user, team_id)
    form = AppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        app = apps_service.create_app(
            team=membership.team, name=form.cleaned_data["name"], membership=membership,
            actor=access.actor(request),
        )
        messages.success(request, f"App “{app.name}” created.")
        return redirect("app_settings", app_id=app.id)
    status = INVALID if request.method == "POST" else 200
    return render(
        request, "dashboard/app_new.html", {"team": membership.team, "form": form}, status=status
    )


def _settings_context(app, **extra):
    can_manage = app.membership.can_manage
    keys = list(apps_service.active_keys(team=app.team, scope=KeyScope.APP, app=app))
    for key in keys:
        key.revoke_url = reverse("app_key_revoke", args=[app.id, key.key_id])
    context = {
        "app": app,
        "team": app.team,
        "can_manage": can_manage,
        "app_tab": "settings",
        "name_form": AppForm(initial={"name": app.name}),
        "user_jwt_form": UserJwtForm(initial={"require_user_jwt": app.require_user_jwt}),
        "keys": keys,
        "key_form": KeyForm(),
        "key_create_url": reverse("app_key_create", args=[app.id]),
        "new_key": None,
        "new_secret": None,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def app_home(request, app_id):
    """/apps/<id>/: the app's first tab, the Overview."""
    app = access.app_for(request.user, app_id)
    return redirect("live_overview", app.id)


@login_required
@require_GET
def app_settings(request, app_id):
    app = access.app_for(request.user, app_id)
    return render(request, SETTINGS, _settings_context(app))


@login_required
@require_POST
def rename_app(request, app_id):
    app = access.managed_app_for(request.user, app_id)
    form = AppForm(request.POST)
    if form.is_valid():
        apps_service.rename_app(membership=app.membership, app=app, name=form.cleaned_data["name"],
                                actor=access.actor(request))
        if not request.htmx:
            messages.success(request, "App renamed.")
            return redirect("app_settings", app_id=app.id)
        return render_part(request, SETTINGS, "app-name", _settings_context(app, renamed=True))
    return render_part(
        request, SETTINGS, "app-name", _settings_context(app, name_form=form), status=INVALID
    )


@login_required
@require_POST
def set_require_user_jwt(request, app_id):
    """Admins and owners turn `requireUserJwt` on or off. An unchecked box
    sends nothing, so a missing field means off."""
    app = access.managed_app_for(request.user, app_id)
    form = UserJwtForm(request.POST)
    form.is_valid()  # a BooleanField that is not required is always valid
    apps_service.set_require_user_jwt(
        membership=app.membership, app=app, on=form.cleaned_data["require_user_jwt"],
        actor=access.actor(request),
    )
    if not request.htmx:
        messages.success(request, "Saved.")
        return redirect("app_settings", app_id=app.id)
    return render_part(request, SETTINGS, "user-jwt", _settings_context(app, user_jwt_saved=True))


@login_required
@require_http_methods(["GET", "POST"])
def delete_app(request, app_id):
    """GET asks for confirmation (type the app's name); POST deletes."""
    app = access.managed_app_for(request.user, app_id)
    error = None
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() == app.name:
            name = app.name
            apps_service.delete_app(membership=app.membership, app=app, actor=access.actor(request))
            messages.success(request, f"App “{name}” deleted.")
            return redirect("home")
        error = "Type the app's name exactly to confirm."
    return render(
        request,
        "dashboard/app_delete.html",
        {"app": app, "team": app.team, "error": error, "app_tab": "settings"},
        status=INVALID if error else 200,
    )


@never_cache  # the response holds a secret: keep it out of every cache
@login_required
@require_POST
def create_app_key(request, app_id):
    app = access.managed_app_for(request.user, app_id)
    form = KeyForm(request.POST)
    if not form.is_valid():
        return render_part(
            request, SETTINGS, "app-keys", _settings_context(app, key_form=form), status=INVALID
        )
    key, secret = apps_service.create_key(
        team=app.team, scope=KeyScope.APP, app=app, name=form.cleaned_data["name"],
        membership=app.membership, actor=access.actor(request),
    )
    # Shown in this response only; never stored in clear or in the session.
    return render_part(request, SETTINGS, "app-keys", _settings_context(app, new_key=key, new_secret=secret))


@login_required
@require_POST
def revoke_app_key(request, app_id, key_id):
    app = access.managed_app_for(request.user, app_id)
    key = access.app_key_for(app, key_id)
    apps_service.revoke_key(key, membership=app.membership, actor=access.actor(request))
    if not request.htmx:
        messages.success(request, f"Key {key.key_id} revoked.")
        return redirect("app_settings", app_id=app.id)
    return render_part(request, SETTINGS, "app-keys", _settings_context(app, revoked=key))
