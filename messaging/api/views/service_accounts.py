"""Service accounts and their keys at account scope, as smooch-core 8.11.4
calls them (`serviceAccounts.*`, `serviceAccounts.keys.*` at
/v1.1/serviceaccounts...; the same paths answer under /v1). An account-scope
JWT of the team only: an app-scope JWT is refused with 403
(messaging.api.auth, scope "account"), another team's account or key is a
404. The services are messaging.services.service_accounts, acting as the
team itself (`TEAM_ITSELF`) and recording the calling key as creator.

As for app keys (messaging.api.views.apps): a key's `secret` is in the
answer to POST .../keys only, and .../keys/{keyId}/jwt gives a working
credential, here an account-scope JWT (`{"scope": "account"}`, HS256,
`kid` = the key's id, no expiry). DELETE of a key or of the account
revokes: refused at once here, in other processes within
process_cache.CHECK_SECONDS.
"""

from django.http import JsonResponse

from messaging.api import query
from messaging.api.auth import actor, api_view
from messaging.api.views.apps import key_json
from messaging.models import ServiceAccount, Team
from messaging.services import apps as apps_service
from messaging.services import service_accounts as service
from messaging.services.apps import TEAM_ITSELF
from messaging.validators import validate_key, validate_service_account

PAGE = 25
PAGE_MAX = 100
MAX_OFFSET = 2**31 - 1


def account_json(account: ServiceAccount) -> dict:
    return {"_id": account.id, "name": account.name}


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"  # it holds a secret
    return response


@api_view(scope="account")
def create(request):
    name = validate_service_account(request.data)
    account = service.create_service_account(
        team=Team.objects.get(pk=request.team_id), name=name, membership=TEAM_ITSELF,
        created_by_key=request.credential.key,
    )
    return JsonResponse({"serviceAccount": account_json(account)}, status=201)


@api_view(scope="account")
def list_(request):
    limit = query.number(request, "limit", PAGE, 1, PAGE_MAX)
    offset = query.number(request, "offset", 0, 0, MAX_OFFSET)
    rows = list(service.accounts_of(request.team_id)[offset:offset + limit + 1])
    return JsonResponse({"serviceAccounts": [account_json(a) for a in rows[:limit]],
                         "hasMore": len(rows) > limit, "offset": offset})


@api_view(scope="account")
def get(request, serviceAccountId):
    return JsonResponse({"serviceAccount": account_json(service.service_account(request.team_id, serviceAccountId))})


@api_view(scope="account")
def update(request, serviceAccountId):
    account = service.service_account(request.team_id, serviceAccountId)
    name = validate_service_account(request.data)
    service.rename_service_account(account=account, name=name, membership=TEAM_ITSELF)
    return JsonResponse({"serviceAccount": account_json(account)})


@api_view(scope="account")
def delete(request, serviceAccountId):
    account = service.service_account(request.team_id, serviceAccountId)
    service.delete_service_account(account=account, membership=TEAM_ITSELF, actor=actor(request))
    return JsonResponse({})


@api_view(scope="account")
def create_key(request, serviceAccountId):
    account = service.service_account(request.team_id, serviceAccountId)
    name = validate_key(request.data)
    key, secret = service.create_key(account=account, name=name, membership=TEAM_ITSELF, actor=actor(request),
                                     created_by_key=request.credential.key)
    return _no_store(JsonResponse({"key": key_json(key, secret)}, status=201))


@api_view(scope="account")
def list_keys(request, serviceAccountId):
    account = service.service_account(request.team_id, serviceAccountId)
    return JsonResponse({"keys": [key_json(key) for key in service.active_keys(account)]})


@api_view(scope="account")
def get_key(request, serviceAccountId, keyId):
    account = service.service_account(request.team_id, serviceAccountId)
    return JsonResponse({"key": key_json(service.key_of(account, keyId))})


@api_view(scope="account")
def delete_key(request, serviceAccountId, keyId):
    account = service.service_account(request.team_id, serviceAccountId)
    apps_service.revoke_key(service.key_of(account, keyId), membership=TEAM_ITSELF, actor=actor(request))
    return JsonResponse({})


@api_view(scope="account")
def key_jwt(request, serviceAccountId, keyId):
    account = service.service_account(request.team_id, serviceAccountId)
    return _no_store(JsonResponse({"jwt": service.key_jwt(service.key_of(account, keyId))}))
