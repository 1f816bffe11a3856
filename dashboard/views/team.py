"""A team's members, invitations, name, account-scope API keys and service
accounts (with their keys)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboard.forms import InviteForm, KeyForm, RoleForm, ServiceAccountForm, TeamForm, email_goes_to_console
from dashboard.views import access
from dashboard.views.htmx import INVALID, absolute_url, redirect_anywhere, render_part
from messaging.models import KeyScope, Role
from messaging.services import accounts as accounts_service
from messaging.services import apps as apps_service
from messaging.services import audit as audit_service
from messaging.services import service_accounts as service_accounts_service
from messaging.services.errors import ServiceError

TEAM = "dashboard/team.html"
SETTINGS = "dashboard/team_settings.html"
AUDIT = "dashboard/team_audit.html"
AUDIT_PAGE = 50


def _members_context(membership, **extra):
    team = membership.team
    members = list(team.memberships.select_related("user").order_by("user__email"))
    for member in members:
        # Admins manage admins and agents; only owners touch owners.
        member.manageable = membership.can_manage and (
            member.role != Role.OWNER or membership.role == Role.OWNER
        )
    context = {
        "team": team,
        "membership": membership,
        "can_manage": membership.can_manage,
        "members": members,
        "grantable_roles": [
            (value, label)
            for value, label in Role.choices
            if value in accounts_service.roles_grantable_by(membership)
        ],
        "invitations": accounts_service.open_invitations(team) if membership.can_manage else [],
        "invite_form": InviteForm(membership=membership) if membership.can_manage else None,
        "members_error": None,
        "invite_sent_to": None,
        "team_tab": "members",
    }
    context.update(extra)
    return context


@login_required
@require_GET
def team_members(request, team_id):
    membership = access.membership_for(request.user, team_id)
    return render_part(request, TEAM, "members", _members_context(membership))


def _accept_url(request, token):
    return absolute_url(request, reverse("accept_invitation", args=[token]))


@login_required
@require_POST
def invite(request, team_id):
    membership = access.manager_membership_for(request.user, team_id)
    form = InviteForm(request.POST, membership=membership)
    if form.is_valid():
        try:
            invitation = form.save(accept_url=lambda token: _accept_url(request, token),
                                   actor=access.actor(request))
        except ServiceError as error:
            form.add_error(None, error.description)
        else:
            # With the console email backend nobody receives the email: the
            # admin gets the link to pass on, on the page itself.
            invite_link = _accept_url(request, invitation.token) if email_goes_to_console() else None
            if not request.htmx and not invite_link:
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("team", team_id=team_id)
            return render_part(
                request, TEAM, "invitations",
                _members_context(membership, invite_sent_to=invitation.email, invite_link=invite_link),
            )
    return render_part(
        request, TEAM, "invitations", _members_context(membership, invite_form=form), status=INVALID
    )


@login_required
@require_POST
def cancel_invitation(request, team_id, invitation_id):
    membership = access.manager_membership_for(request.user, team_id)
    invitation = access.invitation_of(membership, invitation_id)
    accounts_service.cancel_invitation(membership=membership, invitation=invitation,
                                       actor=access.actor(request))
    if not request.htmx:
        messages.success(request, f"Invitation to {invitation.email} cancelled.")
        return redirect("team", team_id=team_id)
    return render_part(request, TEAM, "invitations", _members_context(membership))


@login_required
@require_POST
def change_role(request, team_id, member_id):
    membership = access.manager_membership_for(request.user, team_id)
    target = access.member_of(membership, member_id)
    form = RoleForm(request.POST)
    error = None
    if form.is_valid():
        try:
            accounts_service.change_role(membership=membership, target=target, role=form.cleaned_data["role"],
                                         actor=access.actor(request))
        except ServiceError as e:
            error = e.description
    else:
        error = "Choose one of the roles."
    if error is None and not request.htmx:
        messages.success(request, f"{target.user.email} is now {form.cleaned_data['role']}.")
        return redirect("team", team_id=team_id)
    # The acting member may just have changed their own role.
    membership = access.membership_for(request.user, team_id)
    return render_part(
        request, TEAM, "members", _members_context(membership, members_error=error),
        status=INVALID if error else 200,
    )


@login_required
@require_POST
def remove_member(request, team_id, member_id):
    membership = access.manager_membership_for(request.user, team_id)
    target = access.member_of(membership, member_id)
    try:
        accounts_service.remove_member(membership=membership, target=target, actor=access.actor(request))
    except ServiceError as e:
        return render_part(
            request, TEAM, "members", _members_context(membership, members_error=e.description),
            status=INVALID,
        )
    if target.user_id == request.user.id:
        messages.success(request, f"You left {membership.team.name}.")
        return redirect_anywhere(request, reverse("home"))
    if not request.htmx:
        messages.success(request, f"{target.user.email} was removed from the team.")
        return redirect("team", team_id=team_id)
    return render_part(request, TEAM, "members", _members_context(membership))


# Team settings: name and account-scope keys (owners and admins only).

def _settings_context(membership, **extra):
    team = membership.team
    keys = list(apps_service.active_keys(team=team, scope=KeyScope.ACCOUNT))
    for key in keys:
        key.revoke_url = reverse("team_key_revoke", args=[team.id, key.key_id])
    context = {
        "team": team,
        "membership": membership,
        "can_manage": True,
        "team_form": TeamForm(initial={"name": team.name}),
        "keys": keys,
        "key_form": KeyForm(),
        "key_create_url": reverse("team_key_create", args=[team.id]),
        "new_key": None,
        "new_secret": None,
        "team_tab": "settings",
        **_service_accounts_context(membership, extra.pop("service_accounts_part", {})),
    }
    context.update(extra)
    return context


def _creator(row) -> str:
    """Who created a service account or key, as the page names them."""
    if row.created_by is not None:
        return row.created_by.email
    if row.created_by_key is not None:
        return f"API key {row.created_by_key.key_id}"
    return "—"


def _service_accounts_context(membership, extra: dict) -> dict:
    """The "service-accounts" part. `extra` may hold the bound form that
    failed (`form`, or `key_form` with `key_form_for`, an account id), the
    key just created with its secret (`new_key`, `new_secret`) and a
    `notice`."""
    team_id = membership.team_id
    accounts = service_accounts_service.accounts_with_keys(team_id)
    failed_for = extra.get("key_form_for")
    for account in accounts:
        account.creator = _creator(account)
        account.delete_url = reverse("team_service_account_delete", args=[team_id, account.id])
        account.key_create_url = reverse("team_service_account_key_create", args=[team_id, account.id])
        # Ids unique on the page: one key form per account.
        account.key_form = extra["key_form"] if account.id == failed_for else KeyForm(
            auto_id=f"sa-{account.id}-key_%s")
        for key in account.active_keys:
            key.creator = _creator(key)
            key.revoke_url = reverse("team_service_account_key_revoke", args=[team_id, account.id, key.key_id])
    return {
        "service_accounts": accounts,
        "service_account_form": extra.get("form") or ServiceAccountForm(),
        "service_account_create_url": reverse("team_service_account_create", args=[team_id]),
        "service_account_new_key": extra.get("new_key"),
        "service_account_new_secret": extra.get("new_secret"),
        "service_account_notice": extra.get("notice"),
    }


def _service_accounts_part(request, membership, status=200, **extra):
    return render_part(request, SETTINGS, "service-accounts",
                       _settings_context(membership, service_accounts_part=extra), status=status)


@login_required
@require_GET
def team_settings(request, team_id):
    membership = access.manager_membership_for(request.user, team_id)
    return render_part(request, SETTINGS, "account-keys", _settings_context(membership))


@login_required
@require_POST
def rename_team(request, team_id):
    membership = access.manager_membership_for(request.user, team_id)
    form = TeamForm(request.POST)
    if form.is_valid():
        accounts_service.rename_team(membership=membership, name=form.cleaned_data["name"],
                                     actor=access.actor(request))
        if not request.htmx:
            messages.success(request, "Team renamed.")
            return redirect("team_settings", team_id=team_id)
        return render_part(request, SETTINGS, "team-name", _settings_context(membership, renamed=True))
    return render_part(
        request, SETTINGS, "team-name", _settings_context(membership, team_form=form), status=INVALID
    )


@never_cache  # the response holds a secret: keep it out of every cache
@login_required
@require_POST
def create_account_key(request, team_id):
    membership = access.manager_membership_for(request.user, team_id)
    form = KeyForm(request.POST)
    if not form.is_valid():
        return render_part(
            request, SETTINGS, "account-keys", _settings_context(membership, key_form=form), status=INVALID
        )
    key, secret = apps_service.create_key(
        team=membership.team, scope=KeyScope.ACCOUNT, name=form.cleaned_data["name"], membership=membership,
        actor=access.actor(request),
    )
    # The secret is rendered in this response only (no redirect: it is not
    # stored anywhere it could be shown from again).
    return render_part(
        request, SETTINGS, "account-keys", _settings_context(membership, new_key=key, new_secret=secret)
    )


@login_required
@require_POST
def revoke_account_key(request, team_id, key_id):
    membership = access.manager_membership_for(request.user, team_id)
    key = access.account_key_for(membership, key_id)
    apps_service.revoke_key(key, membership=membership, actor=access.actor(request))
    if not request.htmx:
        messages.success(request, f"Key {key.key_id} revoked.")
        return redirect("team_settings", team_id=team_id)
    return render_part(request, SETTINGS, "account-keys", _settings_context(membership, revoked=key))


@login_required
@require_GET
def audit_log(request, team_id):
    """The team's audit trail, newest first, for owners and admins (403 for
    an agent, 404 for anyone outside the team)."""
    membership = access.manager_membership_for(request.user, team_id)
    page = Paginator(audit_service.entries_for(membership), AUDIT_PAGE).get_page(request.GET.get("page"))
    return render(request, AUDIT, {"team": membership.team, "membership": membership, "page_obj": page,
                                   "team_tab": "audit"})
# Service accounts and their keys (owners and admins only, as the page).


@login_required
@require_POST
def create_service_account(request, team_id):
    membership = access.manager_membership_for(request.user, team_id)
    form = ServiceAccountForm(request.POST)
    if not form.is_valid():
        return _service_accounts_part(request, membership, status=INVALID, form=form)
    account = service_accounts_service.create_service_account(
        team=membership.team, name=form.cleaned_data["name"], membership=membership
    )
    if not request.htmx:
        messages.success(request, f"Service account “{account.name}” created.")
        return redirect("team_settings", team_id=team_id)
    return _service_accounts_part(request, membership, notice=f"Service account “{account.name}” created.")


@login_required
@require_POST
def delete_service_account(request, team_id, service_account_id):
    membership = access.manager_membership_for(request.user, team_id)
    account = access.service_account_for(membership, service_account_id)
    service_accounts_service.delete_service_account(account=account, membership=membership,
                                                    actor=access.actor(request))
    notice = f"Service account “{account.name}” deleted; its keys are revoked."
    if not request.htmx:
        messages.success(request, notice)
        return redirect("team_settings", team_id=team_id)
    return _service_accounts_part(request, membership, notice=notice)


@never_cache  # the response holds a secret: keep it out of every cache
@login_required
@require_POST
def create_service_account_key(request, team_id, service_account_id):
    membership = access.manager_membership_for(request.user, team_id)
    account = access.service_account_for(membership, service_account_id)
    form = KeyForm(request.POST, auto_id=f"sa-{account.id}-key_%s")
    if not form.is_valid():
        return _service_accounts_part(request, membership, status=INVALID, key_form=form,
                                      key_form_for=account.id)
    key, secret = service_accounts_service.create_key(
        account=account, name=form.cleaned_data["name"], membership=membership, actor=access.actor(request)
    )
    # The secret is rendered in this response only (no redirect), as for
    # the team's own account keys.
    return _service_accounts_part(request, membership, new_key=key, new_secret=secret)


@login_required
@require_POST
def revoke_service_account_key(request, team_id, service_account_id, key_id):
    membership = access.manager_membership_for(request.user, team_id)
    account = access.service_account_for(membership, service_account_id)
    key = access.service_account_key_for(account, key_id)
    apps_service.revoke_key(key, membership=membership, actor=access.actor(request))
    notice = f"Key {key.key_id} revoked."
    if not request.htmx:
        messages.success(request, notice)
        return redirect("team_settings", team_id=team_id)
    return _service_accounts_part(request, membership, notice=notice)
