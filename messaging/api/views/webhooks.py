"""Webhooks (app-scope JWT, or account scope at /v1/apps/{appId}/...):
Smooch's configuration calls, and Parley's extensions to inspect what was
sent (events with their attempts), send again, send a test event and
rotate the secrets."""

from django.http import JsonResponse

from messaging.api import query
from messaging.api.auth import actor, api_view, bad_request
from messaging.models import WebhookEventState
from messaging.services import webhook_config
from messaging.validators import validate_redelivery, validate_rotation, validate_webhook
from messaging.wire import webhook_event_json, webhook_json

EVENTS_PAGE = 25  # the default page of GET .../events
EVENTS_PAGE_MAX = 100
MAX_OFFSET = 2**31 - 1
EVENT_STATES = [state.value for state in WebhookEventState]


@api_view(scope="app")
def create(request):
    fields = validate_webhook(request.data, partial=False)
    webhook = webhook_config.create_webhook(request.app, actor=actor(request), **fields)
    return JsonResponse({"webhook": webhook_json(webhook)}, status=201)


@api_view(scope="app")
def list_(request):
    return JsonResponse({"webhooks": [webhook_json(w) for w in webhook_config.webhooks_of(request.app)]})


@api_view(scope="app")
def get(request, webhookId):
    return JsonResponse({"webhook": webhook_json(webhook_config.get_webhook(request.app, webhookId))})


@api_view(scope="app")
def update(request, webhookId):
    webhook = webhook_config.get_webhook(request.app, webhookId)
    fields = validate_webhook(request.data, partial=True)
    return JsonResponse({"webhook": webhook_json(webhook_config.update_webhook(webhook, fields, actor=actor(request)))})


@api_view(scope="app")
def delete(request, webhookId):
    webhook_config.delete_webhook(webhook_config.get_webhook(request.app, webhookId), actor=actor(request))
    return JsonResponse({})


def _event_json(event) -> dict:
    """The event with its attempts, oldest first (attempt numbers start
    again at 1 after a re-delivery, so they are ordered by time)."""
    return webhook_event_json(event, sorted(event.attempt_rows.all(), key=lambda a: (a.at, a.pk)))


def _state(request) -> str | None:
    state = request.GET.get("state")
    if state is not None and state not in EVENT_STATES:
        raise bad_request(f"state must be one of {', '.join(EVENT_STATES)}.")
    return state


@api_view(scope="app")
def list_events(request, webhookId):
    webhook = webhook_config.get_webhook(request.app, webhookId)
    state = _state(request)
    since = query.timestamp(request, "since")
    limit = query.number(request, "limit", EVENTS_PAGE, 1, EVENTS_PAGE_MAX)
    offset = query.number(request, "offset", 0, 0, MAX_OFFSET)
    rows = webhook_config.events_of(webhook, state=state, since=since).prefetch_related("attempt_rows")
    page = list(rows[offset:offset + limit + 1])
    return JsonResponse({"events": [_event_json(event) for event in page[:limit]], "hasMore": len(page) > limit})


@api_view(scope="app")
def redeliver_event(request, webhookId, eventId):
    event = webhook_config.get_event(webhook_config.get_webhook(request.app, webhookId), eventId)
    return JsonResponse({"event": _event_json(webhook_config.redeliver(event))}, status=202)


@api_view(scope="app")
def redeliver_failed(request, webhookId):
    webhook = webhook_config.get_webhook(request.app, webhookId)
    since = validate_redelivery(request.data)
    return JsonResponse({"count": webhook_config.redeliver_failed_since(webhook, since)}, status=202)


@api_view(scope="app")
def send_test(request, webhookId):
    event = webhook_config.send_test_event(webhook_config.get_webhook(request.app, webhookId))
    return JsonResponse({"event": _event_json(event)}, status=202)


ROTATIONS = {"signing": webhook_config.rotate_signing_secret, "apiKey": webhook_config.rotate_secret}


@api_view(scope="app")
def rotate(request, webhookId):
    webhook = webhook_config.get_webhook(request.app, webhookId)
    rotated = ROTATIONS[validate_rotation(request.data)](webhook, actor=actor(request))
    return JsonResponse({"webhook": webhook_json(rotated)})
