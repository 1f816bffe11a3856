"""POST /v1/init: an SDK (widget, iOS, Android) starts on a device."""

from django.http import JsonResponse

from messaging import ratelimits
from messaging.api.auth import ApiError, api_view
from messaging.wire import app_user_json, init_app_json
from messaging.validators import validate_auth_code, validate_device, validate_user_id
from messaging.services import appusers, credentials, menus
from messaging.services.apps import origin_allowed


@api_view(limit=ratelimits.INIT)
def init(request):
    app = request.app
    credential = request.credential
    token = request.headers.get("app-token", "")
    if token and credential.method == "jwt" and token != app.app_token:
        raise ApiError(401, "unauthorized", "The JWT and the app token belong to different apps.")
    origin = request.headers.get("Origin")
    # Native SDKs send no Origin; a web page always does.
    if origin is not None and not origin_allowed(app, origin):
        raise ApiError(403, "forbidden", f"Origin {origin} is not allowed to embed this app")
    device = validate_device(request.data)
    user_id = validate_user_id(request.data, required=False)
    code = validate_auth_code(request.data)
    if origin is None and device["platform"] == "web" and not origin_allowed(app, None):
        raise ApiError(403, "forbidden", "Origin null is not allowed to embed this app")
    # Redeemed last: a code is spent only by an init that goes ahead.
    granted = credentials.redeem_auth_code(app, code) if code is not None else None
    app_user, _client = appusers.init_device(app, device=device, user_id=user_id, credential=credential,
                                             granted=granted)
    menu = menus.menu_json(menus.get_app_menu(app))
    return JsonResponse({"app": init_app_json(app, menu), "appUser": app_user_json(app_user)})
