"""Signing up and accepting an invitation (log in/out and password reset
are Django's own views, wired in urls.py), and the rate limit per client
address that sign-in, password reset and sign-up share."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from dashboard.forms import AcceptInvitationForm, SignUpForm
from dashboard.views.htmx import INVALID
from messaging import ratelimits
from messaging.client_address import address_of
from messaging.services import accounts as accounts_service
from messaging.services.errors import ServiceError

BACKEND = "django.contrib.auth.backends.ModelBackend"


def limited_per_address(limit: ratelimits.Limit):
    """Count each POST against `limit` for the client's address (GETs of
    the form are free); past it, a plain 429 page with Retry-After, and the
    form is not processed (no sign-in tried, no email sent)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                refusal = ratelimits.hit(limit, request, ratelimits.client_address(request))
                if refusal is not None:
                    response = render(request, "429.html", {"retry_after": refusal.retry_after}, status=429)
                    response["Retry-After"] = str(refusal.retry_after)
                    return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate




@limited_per_address(ratelimits.SIGN_UP)
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = accounts_service.sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                team_name=form.cleaned_data["team_name"],
                name=form.cleaned_data["name"],
            )
        except ServiceError as error:
            form.add_error(None, error.description)
        else:
            login(request, membership.user, backend=BACKEND)
            messages.success(request, f"Welcome to Parley! Your team “{membership.team.name}” is ready.")
            return redirect("home")
    status = INVALID if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def accept_invitation(request, token):
    """New address: choose a password (then logged in). Existing account:
    log in as that account, then confirm joining."""
    invitation = accounts_service.open_invitation(token)
    if invitation is None:
        raise Http404("This invitation link is not valid (used, cancelled or expired).")
    existing = accounts_service.invitee_exists(invitation)
    user = request.user if request.user.is_authenticated else None
    context = {"invitation": invitation, "team": invitation.team, "existing": existing}
    if existing:
        if user is None:
            return redirect_to_login(request.get_full_path())
        if accounts_service.normalize_email(user.email) != invitation.email:
            context["wrong_user"] = True
            return render(request, "registration/accept_invitation.html", context, status=403)
        if request.method == "POST":
            try:
                accounts_service.accept_invitation(invitation, user=user, address=address_of(request))
            except ServiceError as error:
                context["error"] = error.description
                return render(request, "registration/accept_invitation.html", context, status=INVALID)
            messages.success(request, f"You joined {invitation.team.name}.")
            return redirect("team", team_id=invitation.team_id)
        return render(request, "registration/accept_invitation.html", context)

    form = AcceptInvitationForm(request.POST or None, invitation=invitation)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts_service.accept_invitation(
                invitation, password=form.cleaned_data["password1"], name=form.cleaned_data["name"],
                address=address_of(request),
            )
        except ServiceError as error:
            form.add_error(None, error.description)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, f"Welcome! You joined {invitation.team.name}.")
            return redirect("home")
    status = INVALID if request.method == "POST" else 200
    return render(request, "registration/accept_invitation.html", context, status=status)
