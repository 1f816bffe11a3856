"""Conversation messages: post, list (paged by time), delete, resend."""

from urllib.parse import urlencode

from django.http import JsonResponse

from messaging.api import query
from messaging.api.auth import api_view, author_of, bad_request, is_business, not_found, require_app_scope
from messaging.client_address import public_base_url
from messaging.wire import conversation_json, delivery_json, message_json
from messaging.validators import is_template_message, validate_message, validate_role, validate_template_message
from messaging.services import messages, templates

PAGE_SIZE = 100


@api_view(user=True)
def post(request):
    role = validate_role(request.data)
    if role == "appMaker":
        require_app_scope(request, "Posting a message with the appMaker role")
    body = request.data
    if is_template_message(body):
        template_id, sender = validate_template_message(body)
        body = templates.message_from(request.app, template_id, sender)
    fields = validate_message(body, role=role, app_user=request.app_user)
    message = messages.post_message(request.app_user, role=role, fields=fields, author=author_of(request))
    return JsonResponse(
        {"message": message_json(message),
         "conversation": conversation_json(request.app_user, inbox=is_business(request))},
        status=201,
    )


@api_view(user=True)
def list_messages(request):
    app_user = request.app_user
    before = query.timestamp(request, "before")
    after = query.timestamp(request, "after")
    if before is not None and after is not None:
        raise bad_request("before and after are mutually exclusive.")
    if not app_user.conversation_started:
        raise not_found(f"App user {app_user.id} has no conversation yet.")
    rows, has_older, has_newer = messages.messages_page(
        app_user, before=before, after=after, limit=PAGE_SIZE
    )
    data = {"conversation": conversation_json(app_user, inbox=is_business(request)),
            "messages": [message_json(m) for m in rows]}
    link = public_base_url(request) + request.path + "?"
    if rows and has_older:
        data["previous"] = link + urlencode({"before": _unix(rows[0].received)})
    if rows and has_newer:
        data["next"] = link + urlencode({"after": _unix(rows[-1].received)})
    return JsonResponse(data)


def _unix(value):
    return f"{value.timestamp():.3f}"


@api_view(scope="app", user=True)
def delete_all(request):
    messages.delete_all_messages(request.app_user)
    return JsonResponse({})


@api_view(scope="app", user=True)
def delete_one(request, messageId):
    messages.delete_message(request.app_user, messageId)
    return JsonResponse({})


@api_view(scope="app", user=True)
def resend(request, messageId, deliveryId):
    row = messages.resend(request.app_user, deliveryId, message_id=messageId)
    return JsonResponse({"delivery": delivery_json(row)})
