"""App users: pre-create, get, update, delete (profile or all), events,
channels."""

from django.http import JsonResponse

from messaging.api.auth import api_view, require_app_scope
from messaging.wire import app_user_json, client_json
from messaging.validators import (
    validate_app_user,
    validate_device_update,
    validate_event,
    validate_link,
    validate_profile,
)
from messaging.services import appusers, integrations


def _app_user_response(app_user, status=200):
    return JsonResponse({"appUser": app_user_json(app_user)}, status=status)


@api_view(scope="app")
def create(request):
    body = validate_app_user(request.data)
    app_user = appusers.create_app_user(
        request.app, user_id=body["user_id"], profile=body["profile"],
        credential_required=body["credential_required"],
    )
    return _app_user_response(app_user, 201)


@api_view(user=True)
def get(request):
    return _app_user_response(request.app_user)


@api_view(user=True)
def update(request):
    profile = validate_profile(request.data)
    return _app_user_response(appusers.update_app_user(request.app_user, profile))


@api_view(scope="app", user=True)
def delete(request):
    appusers.delete_app_user(request.app_user)
    return JsonResponse({})


@api_view(scope="app", user=True)
def delete_profile(request):
    return _app_user_response(appusers.delete_profile(request.app_user))


@api_view(user=True)
def track_event(request):
    event = validate_event(request.data)
    # smooch-core sends `appUser`: profile changes applied before the event.
    if event["profile"]:
        appusers.update_app_user(request.app_user, event["profile"])
    updated = appusers.track_event(request.app_user, event["name"])
    return JsonResponse({"conversationUpdated": updated}, status=201)


@api_view(user=True)
def list_channels(request):
    return JsonResponse({"channels": appusers.channels(request.app_user)})


@api_view(user=True)
def link_channel(request):
    link = validate_link(request.data)
    if link["skip_confirmation"]:
        require_app_scope(request, "skipConfirmation")
    appusers.link_channel(
        request.app_user,
        type_=link["type"],
        address=link["address"],
        skip_confirmation=link["skip_confirmation"],
    )
    return _app_user_response(request.app_user)


@api_view(user=True)
def unlink_channel(request, channel):
    appusers.unlink_channel(request.app_user, channel)
    return JsonResponse({})


@api_view(user=True)
def update_device(request, deviceId):
    fields = validate_device_update(request.data)
    client = appusers.update_device(request.app_user, deviceId, fields)
    return JsonResponse({"device": client_json(client)})


@api_view(user=True)
def viber_qrcode(request):
    """GET .../appusers/{id}/integrations/viber/qrcode (smooch-core 8.x
    `appUsers.viber.getQRCode`): `url`, the Viber deep link that opens the
    bot linked to this user. Parley answers the link itself, not a PNG of
    its QR code: no maintained QR library is among Parley's dependencies,
    and any QR code generator (or the dashboard's page) draws one from it."""
    return JsonResponse({"url": integrations.viber_link(request.app_user)})
