"""Conversation state: read (reset unread count) and typing activity."""

from django.http import JsonResponse

from messaging.api.auth import api_view, not_found, require_app_scope
from messaging.wire import conversation_json
from messaging.validators import validate_activity
from messaging.services import messages


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
    return JsonResponse({"conversation": conversation_json(request.app_user)})
