"""Conversation state: get, read (reset unread count), typing activity,
an SDK's postback, and the inbox's status and assignee (Parley extension)."""

from django.http import JsonResponse

from messaging.api.auth import api_view, is_business, not_found, require_app_scope
from messaging.wire import conversation_json
from messaging.validators import validate_activity, validate_conversation_update, validate_postback
from messaging.services import inbox, messages, postbacks


@api_view(user=True)
def read(request):
    app_user = request.app_user
    if not app_user.conversation_started:
        raise not_found(f"App user {app_user.id} has no conversation yet.")
    messages.mark_read(app_user)
    return JsonResponse({})


@api_view(user=True)
def activity(request):
    activity = validate_activity(request.data)
    require_app_scope(request, "Typing activity for the appMaker role")
    messages.typing(
        request.app_user, activity["type"], name=activity["name"], avatar_url=activity["avatar_url"]
    )
    request.app_user.refresh_from_db(fields=["unread_count"])
    return JsonResponse({"conversation": conversation_json(request.app_user, inbox=is_business(request))})


@api_view(scope="app", user=True)
def update(request):
    """PATCH .../conversation (Parley extension): status, snoozedUntil,
    assigneeEmail; the business's keys only. Made "by" the API: no member
    is behind a key."""
    changes = validate_conversation_update(request.data)
    app_user = inbox.update_conversation(request.app_user, changes)
    return JsonResponse({"conversation": conversation_json(app_user, inbox=True)})


@api_view(user=True)
def get(request):
    """GET .../conversation: the user's conversation object."""
    return JsonResponse({"conversation": conversation_json(request.app_user, inbox=is_business(request))})


@api_view(user=True)
def postback(request):
    """POST .../conversation/postback {actionId}: the user pressed a
    postback button in an SDK; the `postback` webhook fires."""
    postbacks.sdk_postback(request.app_user, validate_postback(request.data))
    return JsonResponse({})
