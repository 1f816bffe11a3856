"""Service accounts (Smooch v1.1 `serviceaccounts`): named API identities
of a team, each holding account-scope keys that reach every app of the
team, as the team's own account keys do.

The dashboard's team settings page and the REST API (account scope,
messaging.api.views.service_accounts) call these functions; who acts is a
dashboard member's Membership (owners and admins) or `TEAM_ITSELF` (an
account key of the team), as in messaging.services.apps, whose key
functions these reuse. A key records who created it (`created_by`, or
`created_by_key` through the API) and when it was last used
(services.credentials._touch, at most once a minute per process).
"""

import jwt
from django.db import transaction
from django.db.models import Prefetch

from messaging.models import ApiKey, KeyScope, Membership, ServiceAccount, Team
from messaging.services import apps as apps_service
from messaging.services import audit
from messaging.services.errors import NotFound, ServiceError

NAME_MAX = 100  # ServiceAccount.name


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError("The service account's name must not be empty.", code="bad_request")
    if len(name) > NAME_MAX:
        raise ServiceError(f"The service account's name is at most {NAME_MAX} characters.", code="bad_request")
    return name


def accounts_of(team_id: int):
    """The team's service accounts, oldest first (the API's list order)."""
    return ServiceAccount.objects.filter(team_id=team_id).order_by("created_at", "id")


def accounts_with_keys(team_id: int) -> list[ServiceAccount]:
    """The team's service accounts with their creators and, as
    `active_keys`, their active keys with theirs (the settings page)."""
    keys = ApiKey.objects.filter(revoked_at__isnull=True).select_related("created_by", "created_by_key")
    return list(
        accounts_of(team_id).select_related("created_by", "created_by_key").prefetch_related(
            Prefetch("keys", queryset=keys.order_by("created_at", "key_id"), to_attr="active_keys")
        )
    )


def service_account(team_id: int, service_account_id: str) -> ServiceAccount:
    """One of the team's service accounts, or NotFound (another team's too)."""
    found = accounts_of(team_id).select_related("team").filter(id=service_account_id).first()
    if found is None:
        raise NotFound(f"Service account {service_account_id} not found.")
    return found


def create_service_account(
    *, team: Team, name: str, membership: Membership | None, created_by_key: ApiKey | None = None
) -> ServiceAccount:
    apps_service.check_acting(membership, team.id)
    return ServiceAccount.objects.create(
        team=team, name=_name(name), created_by=membership.user if membership else None,
        created_by_key=created_by_key,
    )


def rename_service_account(*, account: ServiceAccount, name: str, membership: Membership | None) -> ServiceAccount:
    apps_service.check_acting(membership, account.team_id)
    account.name = _name(name)
    account.save(update_fields=["name"])
    return account


@transaction.atomic
def delete_service_account(*, account: ServiceAccount, membership: Membership | None,
                           actor: audit.Actor = audit.SYSTEM) -> None:
    """Revoke every key of the account, then delete it. Each key goes
    through apps.revoke_key: refused at once in this process and in every
    other within process_cache.CHECK_SECONDS. The revoked rows stay (with
    no account) for the record."""
    apps_service.check_acting(membership, account.team_id)
    for key in ApiKey.objects.select_for_update().filter(service_account=account, revoked_at__isnull=True):
        apps_service.revoke_key(key, membership=membership, actor=actor)
    account.delete()


def active_keys(account: ServiceAccount):
    """The account's active keys, oldest first."""
    return apps_service.active_keys(team=account.team, scope=KeyScope.ACCOUNT, service_account=account)


def create_key(
    *, account: ServiceAccount, name: str, membership: Membership | None, created_by_key: ApiKey | None = None,
    actor: audit.Actor = audit.SYSTEM,
):
    """A new account-scope key of the service account; returns (key, secret)."""
    return apps_service.create_key(
        team=account.team, scope=KeyScope.ACCOUNT, name=name, membership=membership,
        service_account=account, created_by_key=created_by_key, actor=actor,
    )


def key_of(account: ServiceAccount, key_id: str) -> ApiKey:
    """An active key of the account, or NotFound (a revoked key is gone for
    the API; its row stays for the record)."""
    key = active_keys(account).filter(key_id=key_id).first()
    if key is None:
        raise NotFound(f"Key {key_id} not found.")
    return key


def key_jwt(key: ApiKey) -> str:
    """An account-scope JWT signed with the key (HS256, `kid` = the key's
    id, no expiry: revoking the key ends it), as Smooch's .../jwt gives."""
    return jwt.encode({"scope": "account"}, key.secret, algorithm="HS256", headers={"kid": key.key_id})
