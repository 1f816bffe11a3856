"""App users: pre-create, get, update, delete (profile or all), events,
channels."""

from django.http import JsonResponse

from messaging.api.auth import api_view, bad_request, require_app_scope
from messaging.wire import app_user_json, client_json
from messaging.api.validators import (
    validate_device_update,
    validate_link,
    validate_profile,
    validate_user_id,
)
from messaging.services import appusers


def _app_user_response(app_user, status=200):
    return JsonResponse({"appUser": app_user_json(app_user)}, status=status)


@api_view(scope="app")
def create(request):
    data = request.data
    user_id = validate_user_id(data, required=True)
    profile = validate_profile(data)
    credential_required = data.get("credentialRequired", False)
    if not isinstance(credential_required, bool):
        raise bad_request("credentialRequired must be true or false.")
    app_user = appusers.create_app_user(
        request.app, user_id=user_id, profile=profile, credential_required=credential_required
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
    name = request.data.get("name")
    if name is None:
        raise bad_request("name is required.")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name must be a non-empty string.")
    if len(name) > 255:
        raise bad_request("name must be at most 255 characters.")
    # smooch-core sends `appUser`: profile changes applied before the event.
    props = request.data.get("appUser")
    if props is not None and not isinstance(props, dict):
        raise bad_request("appUser must be an object of profile fields.")
    profile = validate_profile(props or {})
    if profile:
        appusers.update_app_user(request.app_user, profile)
    updated = appusers.track_event(request.app_user, name)
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
        phone_number=link["phone_number"],
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
