"""A user pressed a postback button (in the widget or on a platform)."""

from django.db import transaction
from django.utils import timezone

from messaging import events
from messaging.models import Client, Message
from messaging.services.appusers import SDK_PLATFORMS
from messaging.services.errors import NotFound, ServiceError
from messaging.wire import message_json

# How far back a button is looked for among the user's business messages.
RECENT = 50
PAYLOAD_MAX = 1000


def message_with_action(app_user, action_id: str):
    """The recent business message carrying the action `action_id` (the
    postback webhook names it), or None."""
    for message in _recent(app_user):
        if action_of(message, action_id) is not None:
            return message
    return None


def action_of(message, action_id: str) -> dict | None:
    """The action of `message` (or of one of its items) whose `_id` is `action_id`."""
    return next((a for a in _actions(message) if a.get("_id") == action_id), None)


def button_with_payload(app_user, payload: str) -> tuple:
    """The latest recent business message with a postback button carrying
    `payload`, and that button; (None, None) when there is none. For
    platforms that send back only a button's payload (Telegram's
    callback_data)."""
    for message in _recent(app_user):
        for action in _actions(message):
            if action.get("type") == "postback" and action.get("payload") == payload:
                return message, action
    return None, None


def _recent(app_user):
    return Message.objects.filter(app_user=app_user, role="appMaker").order_by("-received")[:RECENT]


def _actions(message):
    groups = [message.actions or []] + [item.get("actions") or [] for item in message.items or []]
    return [action for actions in groups for action in actions if isinstance(action, dict)]


def record_postback(app_user, client: Client, action: dict) -> dict:
    """Store nothing but the event: the log, the dashboard and the
    `postback` webhook, with the message that carried the button when it is
    found (by the action's `_id`, else by its payload). `action` holds
    `payload`, and `_id` and `text` when known. The client was just seen."""
    clean = {"type": "postback", "payload": str(action.get("payload", ""))[:PAYLOAD_MAX]}
    for key in ("_id", "text"):
        if isinstance(action.get(key), str):
            clean[key] = action[key][:PAYLOAD_MAX]
    if clean.get("_id"):
        message = message_with_action(app_user, clean["_id"])
    else:
        # The button's id, text and message are the postback webhook's.
        message, button = button_with_payload(app_user, clean["payload"])
        if button is not None:
            clean["_id"] = button["_id"]
            clean.setdefault("text", button.get("text", ""))
    postback = {"action": clean}
    if message is not None:
        postback["message"] = message_json(message)
    with transaction.atomic():
        Client.objects.filter(pk=client.pk).update(last_seen=timezone.now())
        events.emit(
            "postback",
            app=app_user.app,
            app_user=app_user,
            summary=f"Postback: {clean['payload'][:80]}",
            detail={"action": clean, "clientId": client.id},
            webhook={"postbacks": [postback],
                     "client": {"_id": client.id, "platform": client.platform, "id": client.external_id}},
        )
    return clean


def sdk_postback(app_user, action_id: str) -> dict:
    """POST .../conversation/postback: the user pressed the postback button
    `action_id` of a recent business message in an SDK (smooch-core
    `conversations.postPostback`). Recorded as a platform's postback is,
    from the user's most recently seen SDK client (else their most recent
    client). NotFound when no recent message has that postback action,
    ServiceError when the user has no client to have pressed it on."""
    message = message_with_action(app_user, action_id)
    action = action_of(message, action_id) if message is not None else None
    if action is None or action.get("type") != "postback":
        raise NotFound(f"No recent message of this user has the postback action {action_id}.")
    clients = Client.objects.filter(app_user=app_user, pending=False).order_by("-last_seen", "id")
    client = clients.filter(platform__in=SDK_PLATFORMS).first() or clients.first()
    if client is None:
        raise ServiceError("This user has no client: a postback is pressed on one.")
    return record_postback(app_user, client, {"_id": action["_id"], "payload": action.get("payload", ""),
                                              "text": action.get("text", "")})
