"""The inbound endpoint of every integration, mounted in dashboard/urls.py:
`POST /integrations/<type>/<integrationId>/webhook`, where a platform posts
its events (the URL is registered with it when the integration is created),
and `GET` on the same URL for a platform that confirms it first (Meta's
hub.verify_token handshake, the channel's `handshake`).

No session, no CSRF token, no API key: the platform proves itself with its
signature or secret (the channel's `verify`). The answer comes as soon as
the events are stored (messaging.services.inbound): platforms retry a slow
webhook. A refusal is plain text with the status the platform expects.
"""

import logging

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from messaging import outages
from messaging.integrations.base import InboundRefused
from messaging.integrations.registry import integration_class
from messaging.models import Integration
from messaging.services import inbound

logger = logging.getLogger(__name__)


@csrf_exempt
def receive(request, type, integration_id):
    try:
        return _receive(request, type, integration_id)
    except outages.UNAVAILABLE:
        # The database or Redis down for a moment: nothing was stored, and
        # platforms send an event again after a 5xx.
        logger.warning("inbound %s webhook refused, a shared part is unavailable", type, exc_info=True)
        response = HttpResponse("Temporarily unavailable.\n", status=503, content_type="text/plain")
        response["Retry-After"] = str(outages.RETRY_AFTER_SECONDS)
        return response


def _receive(request, type, integration_id):
    cls = integration_class(type)
    allowed = ["GET", "POST"] if cls.verifies_url else ["POST"]
    if request.method not in allowed:
        response = HttpResponse(f"{request.method} is not allowed here.\n", status=405, content_type="text/plain")
        response["Allow"] = ", ".join(allowed)
        return response
    integration = Integration.objects.select_related("app").filter(id=integration_id, type=type).first()
    if integration is None:
        if request.method == "POST" and cls.answers_unstored(integration_id, request):
            return HttpResponse(cls.ack_body, content_type=cls.ack_content_type)
        return HttpResponse("No such integration.\n", status=404, content_type="text/plain")
    try:
        if request.method == "GET":
            # The platform confirming the URL (Meta's hub.challenge).
            return HttpResponse(cls(integration).handshake(request), content_type="text/plain")
        inbound.accept(integration, request)
    except InboundRefused as refused:
        return HttpResponse(f"{refused.message}\n", status=refused.status, content_type="text/plain")
    return HttpResponse(cls.ack_body, content_type=cls.ack_content_type)


urlpatterns = [
    path("<str:type>/<str:integration_id>/webhook", receive, name="platform_webhook"),
]
