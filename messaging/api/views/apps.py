"""Apps and their API keys at account scope (an account-scope JWT of the
team), as the official clients call them: smooch-core 3.5.0's `apps.*` and
`apps.keys.*` at /v1/apps..., 8.11.4's (with `update` and `getSdkIds`) at
/v1.1/apps.... The same services as the dashboard (messaging.services.apps),
acting as the team itself (`TEAM_ITSELF`: see that module); an app-scope
JWT is refused with 403 (messaging.api.auth, scope "account"), and an app
or key of another team is a 404.

Decisions where Smooch's docs and the clients are silent or Parley differs:
- A key's `secret` is returned once, by POST .../keys. Smooch's docs show
  it on get and list too; Parley keeps secrets encrypted and shows them
  once, as the dashboard does, and GET .../keys/{keyId}/jwt gives a working
  credential for a key whose secret was not kept.
- The JWT of .../jwt is what Smooch's is: `{"scope": "app"}`, HS256, `kid`
  = the key's id, no expiry (deleting the key ends it).
- DELETE .../keys/{keyId} revokes the key (services.apps.revoke_key): this
  process refuses it at once, other processes within
  process_cache.CHECK_SECONDS, and SDK sockets it signed for close. The
  row stays for the dashboard's record; the API answers 404 for it.
- `serviceAccountId` on GET /apps (smooch-core 8's filter) lists the apps
  that service account's keys reach: its keys are account-scope keys, which
  reach every app of the team, so it is the team's whole list. A service
  account of another team, or none, is a 404 (not an empty list, which
  would read as "this account reaches nothing").
- `sdks` answers the app token for `web`, `ios` and `android`: Parley has no
  per-SDK integrations, and every SDK it serves starts from the app token.
"""

import jwt
from django.http import JsonResponse

from messaging.api import query
from messaging.api.auth import actor, api_view
from messaging.models import App, KeyScope, Team
from messaging.services import apps as apps_service
from messaging.services import service_accounts
from messaging.services.apps import TEAM_ITSELF
from messaging.validators import validate_app, validate_key

APPS_PAGE = 25  # the default page of GET /apps (Smooch's)
APPS_PAGE_MAX = 100
MAX_OFFSET = 2**31 - 1
SDK_PLATFORMS = ("android", "ios", "web")


def app_json(app: App) -> dict:
    return {
        "_id": app.id,
        "appToken": app.app_token,
        "name": app.name,
        "settings": apps_service.app_settings(app),
        "metadata": apps_service.app_metadata(app),
    }


def key_json(key, secret: str | None = None) -> dict:
    data = {"_id": key.key_id, "name": key.name}
    if secret is not None:
        data["secret"] = secret
    return data


# ------------------------------------------------------------------ apps


@api_view(scope="account")
def create(request):
    fields = validate_app(request.data, partial=False)
    team = Team.objects.get(pk=request.team_id)
    app = apps_service.create_configured_app(team=team, membership=TEAM_ITSELF, actor=actor(request),
                                             **fields)
    return JsonResponse({"app": app_json(app)}, status=201)


@api_view(scope="account")
def list_(request):
    if "serviceAccountId" in request.GET:
        # Raises NotFound for another team's account (see the docstring).
        service_accounts.service_account(request.team_id, request.GET["serviceAccountId"])
    limit = query.number(request, "limit", APPS_PAGE, 1, APPS_PAGE_MAX)
    offset = query.number(request, "offset", 0, 0, MAX_OFFSET)
    rows = list(apps_service.apps_of(request.team_id)[offset:offset + limit + 1])
    return JsonResponse({"apps": [app_json(app) for app in rows[:limit]], "hasMore": len(rows) > limit,
                         "offset": offset})


@api_view(scope="account")
def get(request):
    return JsonResponse({"app": app_json(request.app)})


@api_view(scope="account")
def update(request):
    fields = validate_app(request.data, partial=True)
    app = apps_service.configure_app(app=request.app, membership=TEAM_ITSELF, actor=actor(request), **fields)
    return JsonResponse({"app": app_json(app)})


@api_view(scope="account")
def delete(request):
    apps_service.delete_app(membership=TEAM_ITSELF, app=request.app, actor=actor(request))
    return JsonResponse({})


@api_view(scope="account")
def sdks(request):
    return JsonResponse({platform: request.app.app_token for platform in SDK_PLATFORMS})


# ------------------------------------------------------------------ keys


@api_view(scope="account")
def create_key(request):
    name = validate_key(request.data)
    key, secret = apps_service.create_key(
        team=request.app.team, scope=KeyScope.APP, app=request.app, name=name, membership=TEAM_ITSELF,
        actor=actor(request),
        created_by_key=request.credential.key,
    )
    response = JsonResponse({"key": key_json(key, secret)}, status=201)
    response["Cache-Control"] = "no-store"  # it holds a secret
    return response


@api_view(scope="account")
def list_keys(request):
    keys = apps_service.active_keys(team=request.app.team, scope=KeyScope.APP, app=request.app)
    return JsonResponse({"keys": [key_json(key) for key in keys]})


@api_view(scope="account")
def get_key(request, keyId):
    return JsonResponse({"key": key_json(apps_service.app_key(request.app, keyId))})


@api_view(scope="account")
def delete_key(request, keyId):
    apps_service.revoke_key(apps_service.app_key(request.app, keyId), membership=TEAM_ITSELF,
                            actor=actor(request))
    return JsonResponse({})


@api_view(scope="account")
def key_jwt(request, keyId):
    key = apps_service.app_key(request.app, keyId)
    token = jwt.encode({"scope": "app"}, key.secret, algorithm="HS256", headers={"kid": key.key_id})
    response = JsonResponse({"jwt": token})
    response["Cache-Control"] = "no-store"
    return response
