"""The home page: the member's teams, each with its apps."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboard.forms import TeamForm
from dashboard.views.htmx import INVALID
from messaging.models import App
from messaging.services import accounts as accounts_service


def _context(user, team_form=None):
    memberships = accounts_service.memberships_of(user)
    apps = App.objects.for_user(user).select_related("team").order_by("name", "id")
    by_team = {}
    for app in apps:
        by_team.setdefault(app.team_id, []).append(app)
    for membership in memberships:
        membership.apps = by_team.get(membership.team_id, [])
    return {
        "memberships": memberships,
        "apps": apps,
        "team_form": team_form or TeamForm(),
    }


@login_required
def home(request):
    return render(request, "dashboard/home.html", _context(request.user))


@login_required
@require_POST
def create_team(request):
    form = TeamForm(request.POST)
    if form.is_valid():
        membership = accounts_service.create_team(user=request.user, name=form.cleaned_data["name"])
        messages.success(request, f"Team “{membership.team.name}” created.")
        return redirect("home")
    return render(request, "dashboard/home.html", _context(request.user, team_form=form), status=INVALID)
