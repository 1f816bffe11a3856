"""App users: pre-create, get, update, delete (profile or all), events,
channels, link requests, auth codes, merges, business systems, pings and
push tokens."""

from django.http import JsonResponse

from messaging.api.auth import api_view, author_of, is_business, require_app_scope
from messaging.wire import app_user_json, client_json, conversation_json, message_json
from messaging.validators import (
    validate_app_user,
    validate_device_update,
    validate_event,
    validate_link,
    validate_merge,
    validate_profile,
    validate_push_token,
)
from messaging.services import appusers, credentials, integrations, link_requests, merges, messages


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


@api_view(scope="app")
def merge(request):
    """POST .../appusers/merge (smooch-core 8.x `mergeUsers`): the
    discarded user into the surviving one, both of this app."""
    surviving, discarded = validate_merge(request.data)
    return _app_user_response(merges.merge_app_users(request.app, surviving, discarded))


@api_view(user=True)
def business_systems(request):
    """GET .../businesssystems: the business systems (CRMs, help desks)
    the user is known in. Parley connects none, so always empty."""
    return JsonResponse({"businessSystems": []})


@api_view(user=True)
def get_link_requests(request):
    """GET .../linkrequest?integrationIds=a,b (smooch-core 8.x)."""
    ids = [i.strip() for i in request.GET.get("integrationIds", "").split(",") if i.strip()]
    return JsonResponse({"linkRequests": link_requests.link_requests(request.app_user, ids)})


@api_view(user=True)
def transfer_request(request):
    """GET .../transferrequest?type=messenger (smooch-core 3.x)."""
    requests = link_requests.transfer_requests(request.app_user, request.GET.get("type", "").strip())
    return JsonResponse({"transferRequests": requests})


@api_view(scope="app", user=True)
def auth_code(request):
    """GET .../authcode (smooch-core 8.x `getAuthCode`): see
    credentials.issue_auth_code for what the code grants."""
    return JsonResponse({"authCode": credentials.issue_auth_code(request.app_user)})


@api_view(scope="app", user=True)
def ping_channel(request, channel):
    """POST .../integrations/{channel}/ping: a test message on that channel."""
    message = messages.ping_channel(request.app_user, channel, author=author_of(request))
    return JsonResponse({"message": message_json(message),
                         "conversation": conversation_json(request.app_user, inbox=is_business(request))})


@api_view(user=True)
def update_push_token(request):
    """POST .../pushToken {deviceId, token} (smooch-core 3.x): stored on the
    device as PUT .../devices/{deviceId} stores it."""
    device_id, token = validate_push_token(request.data)
    client = appusers.update_device(request.app_user, device_id, {"push_token": token})
    return JsonResponse({"device": client_json(client)})
