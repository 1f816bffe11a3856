"""Who may see what: every dashboard view starts with one of these.

A page of another team's app, member or key answers 404, exactly like a page
that does not exist, so ids of other teams cannot be probed. A member who may
see a page but not change it (an agent) gets 403 on the change.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from messaging.client_address import address_of
from messaging.models import ApiKey, App, Invitation, KeyScope, Membership, ServiceAccount
from messaging.services import audit


def membership_for(user, team_id) -> Membership:
    """The user's membership in this team; 404 if they are not a member."""
    return get_object_or_404(Membership.objects.select_related("team"), user=user, team_id=team_id)


def require_manager(membership: Membership) -> Membership:
    """403 unless the member is an owner or admin."""
    if not membership.can_manage:
        raise PermissionDenied("Only owners and admins can do this.")
    return membership


def manager_membership_for(user, team_id) -> Membership:
    return require_manager(membership_for(user, team_id))


def app_for(user, app_id) -> App:
    """The app if the user is on its team (404 otherwise), with the user's
    `membership` in that team attached (`app.membership.can_manage`)."""
    app = get_object_or_404(App.objects.select_related("team"), pk=app_id)
    membership = Membership.objects.filter(user=user, team_id=app.team_id).first()
    if membership is None:
        raise Http404("No such app")
    membership.team = app.team
    app.membership = membership
    return app


def managed_app_for(user, app_id) -> App:
    app = app_for(user, app_id)
    require_manager(app.membership)
    return app


def member_of(membership: Membership, member_id) -> Membership:
    """Another membership of the same team (404 if it belongs elsewhere)."""
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=member_id, team_id=membership.team_id
    )


def invitation_of(membership: Membership, invitation_id) -> Invitation:
    return get_object_or_404(Invitation, pk=invitation_id, team_id=membership.team_id)


def app_key_for(app: App, key_id) -> ApiKey:
    return get_object_or_404(
        ApiKey, pk=key_id, app=app, scope=KeyScope.APP, team_id=app.team_id
    )


def account_key_for(membership: Membership, key_id) -> ApiKey:
    return get_object_or_404(
        ApiKey, pk=key_id, scope=KeyScope.ACCOUNT, team_id=membership.team_id
    )


def actor(request) -> audit.Actor:
    """The signed-in member as the audit trail records them, with their
    client address (messaging.client_address)."""
    return audit.Actor.member(request.user, address_of(request))
def service_account_for(membership: Membership, service_account_id) -> ServiceAccount:
    return get_object_or_404(ServiceAccount.objects.select_related("team"), pk=service_account_id,
                             team_id=membership.team_id)


def service_account_key_for(account: ServiceAccount, key_id) -> ApiKey:
    """An active key of the account (a revoked one is gone from the page)."""
    return get_object_or_404(ApiKey, pk=key_id, service_account=account, team_id=account.team_id,
                             revoked_at__isnull=True)
