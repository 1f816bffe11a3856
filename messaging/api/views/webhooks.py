"""Webhook configuration (app-scope JWT)."""

from django.http import JsonResponse

from messaging.api.auth import api_view
from messaging.wire import webhook_json
from messaging.validators import validate_webhook
from messaging.services import webhook_config


@api_view(scope="app")
def create(request):
    fields = validate_webhook(request.data, partial=False)
    webhook = webhook_config.create_webhook(request.app, **fields)
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
    return JsonResponse({"webhook": webhook_json(webhook_config.update_webhook(webhook, fields))})


@api_view(scope="app")
def delete(request, webhookId):
    webhook_config.delete_webhook(webhook_config.get_webhook(request.app, webhookId))
    return JsonResponse({})
