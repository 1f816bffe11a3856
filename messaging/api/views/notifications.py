"""The Notification API: POST /v1.1/apps/{appId}/notifications (and its /v1
twins), a first message by SMS to a phone number that never wrote in
(app-scope JWT, or account scope at /v1/apps/{appId}/...)."""

from django.http import JsonResponse

from messaging.api.auth import api_view, author_of
from messaging.services import notifications
from messaging.validators import validate_notification


@api_view(scope="app")
def post(request):
    message = notifications.post_notification(request.app, author=author_of(request),
                                             **validate_notification(request.data))
    return JsonResponse({"notification": {"_id": message.id}}, status=201)
