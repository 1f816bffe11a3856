"""The integrations API (app-scope JWT, or account scope at
/v1/apps/{appId}/...), as the official clients call it: smooch-core 3.5.0
at /v1/apps/{appId}/integrations, 8.11.4 at /v1.1/apps/{appId}/integrations.
A platform that refuses the credentials is a 400 with its reason; secrets
are never returned (messaging.wire.integration_json)."""

from django.http import JsonResponse

from messaging.api import query
from messaging.api.auth import actor, api_view, bad_request
from messaging.api.views.refusals import refused_integration
from messaging.client_address import public_base_url
from messaging.integrations.registry import REGISTRY
from messaging.services import integrations
from messaging.validators import validate_integration
from messaging.wire import integration_json

LIST_LIMIT = 100  # the most one page holds, and the default (3.5.0 sends no limit)
MAX_OFFSET = 2**31 - 1


@api_view(scope="app")
def create(request):
    refusal = refused_integration(request.data)
    if refusal is not None:
        return refusal
    body = validate_integration(request.data)
    row = integrations.create_integration(request.app, body, base_url=public_base_url(request),
                                          actor=actor(request))
    return JsonResponse({"integration": integration_json(row)}, status=201)


def _types(request) -> list[str] | None:
    """`types`: a comma-separated list of channel types (8.x joins an
    array with commas), None when absent or empty."""
    raw = request.GET.get("types")
    if raw is None:
        return None
    types = [t.strip() for t in raw.split(",") if t.strip()]
    unknown = [t for t in types if t not in REGISTRY]
    if unknown:
        raise bad_request(f"types: unknown integration type {unknown[0][:40]!r} "
                          f"(one of {', '.join(sorted(REGISTRY))}).")
    return types or None


@api_view(scope="app")
def list_(request):
    types = _types(request)
    limit = query.number(request, "limit", LIST_LIMIT, 1, LIST_LIMIT)
    offset = query.number(request, "offset", 0, 0, MAX_OFFSET)
    rows = list(integrations.integrations_of(request.app, types)[offset:offset + limit + 1])
    return JsonResponse({"integrations": [integration_json(row) for row in rows[:limit]],
                         "hasMore": len(rows) > limit})


@api_view(scope="app")
def get(request, integrationId):
    return JsonResponse({"integration": integration_json(integrations.get_integration(request.app, integrationId))})


@api_view(scope="app")
def update(request, integrationId):
    row = integrations.get_integration(request.app, integrationId)
    body = validate_integration(request.data, type_=row.type)
    return JsonResponse({"integration": integration_json(integrations.update_integration(row, body, actor=actor(request)))})


@api_view(scope="app")
def delete(request, integrationId):
    integrations.delete_integration(integrations.get_integration(request.app, integrationId),
                                    actor=actor(request))
    return JsonResponse({})
