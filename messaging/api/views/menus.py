"""Persistent menus (smooch-core's `menu.*` and `integrations.menu.*`, both
clients): GET, PUT and DELETE /v1/menu for the app's menu, and GET, POST,
PUT and DELETE /v1/integrations/{integrationId}/menu for one integration's
own, which overrides the app's on that channel. A missing menu reads as
`{"menu": {"items": []}}`, as DELETE answers."""

from django.http import JsonResponse

from messaging.api.auth import api_view
from messaging.services import menus
from messaging.validators import validate_menu


def _answer(menu, status=200) -> JsonResponse:
    return JsonResponse({"menu": menus.menu_json(menu)}, status=status)


@api_view(scope="app")
def get(request):
    return _answer(menus.get_app_menu(request.app))


@api_view(scope="app")
def configure(request):
    body = validate_menu(request.data)
    return _answer(menus.set_app_menu(request.app, name=body["name"], items=body["items"]))


@api_view(scope="app")
def remove(request):
    menus.delete_app_menu(request.app)
    return _answer(None)


@api_view(scope="app")
def integration_get(request, integrationId):
    return _answer(menus.get_integration_menu(request.app, integrationId))


@api_view(scope="app")
def integration_create(request, integrationId):
    menus.get_integration_menu(request.app, integrationId)  # another app's: a 404 before the body's 400
    body = validate_menu(request.data)
    return _answer(menus.create_integration_menu(request.app, integrationId, name=body["name"],
                                                 items=body["items"]), status=201)


@api_view(scope="app")
def integration_update(request, integrationId):
    menus.get_integration_menu(request.app, integrationId)  # another app's: a 404 before the body's 400
    body = validate_menu(request.data)
    return _answer(menus.update_integration_menu(request.app, integrationId, name=body["name"],
                                                 items=body["items"]))


@api_view(scope="app")
def integration_delete(request, integrationId):
    menus.delete_integration_menu(request.app, integrationId)
    return _answer(None)
