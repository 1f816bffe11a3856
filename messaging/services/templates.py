"""An app's message templates (Smooch v1.1 `templates`): create, list, get,
update, delete. The dashboard's canned replies use these, and the v1.1 API
routes (issue 16) will call the same functions, so the checks and the JSON
shape (`template_json`) are the API's: a template's `message` is validated
as POST /messages validates a body (appMaker role, no user), and the
descriptions are the API's wording. The dashboard translates them for people.
POST /messages sends one with `{"role": "appMaker", "type": "template",
"templateId": ...}` (`message_from`).
"""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from messaging.models import TEMPLATE_NAME_MAX_LENGTH, MessageTemplate
from messaging.services.errors import Conflict, NotFound, ServiceError
from messaging.validators import ValidationError, validate_message
from messaging.wire import iso

# A stored body never carries these: the sender gives the role, the
# conversation gives the destination when the template is used.
NOT_STORED = ("role", "destination")


def template_json(template: MessageTemplate) -> dict:
    """A template as Smooch's v1.1 API returns it."""
    return {"_id": template.id, "name": template.name, "message": template.message,
            "createdAt": iso(template.created_at), "updatedAt": iso(template.updated_at)}


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError("name is required: a non-empty string.")
    name = name.strip()
    if len(name) > TEMPLATE_NAME_MAX_LENGTH:
        raise ServiceError(f"name must be at most {TEMPLATE_NAME_MAX_LENGTH} characters.")
    return name


def _clean_message(message) -> dict:
    """The body as given (without role and destination), once the API's own
    message validation accepts it."""
    if not isinstance(message, dict):
        raise ServiceError("message is required: a message object (type, text, actions...).")
    body = {k: v for k, v in message.items() if k not in NOT_STORED}
    try:
        validate_message(body, role="appMaker", app_user=None)
    except ValidationError as error:
        raise ServiceError(f"message: {error.description}") from error
    return body


def _saved(template: MessageTemplate) -> MessageTemplate:
    """Save, turning the app's unique name into a 409 (a race included)."""
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as error:
        raise Conflict(f"A template named {template.name!r} already exists in this app.") from error
    return template


def create_template(app, *, name, message) -> MessageTemplate:
    template = MessageTemplate(app=app, name=_clean_name(name), message=_clean_message(message))
    if MessageTemplate.objects.for_app(app).filter(name=template.name).exists():
        raise Conflict(f"A template named {template.name!r} already exists in this app.")
    return _saved(template)


def list_templates(app, *, query: str = ""):
    """The app's templates by name; `query` keeps those whose name or text
    contains it (case-insensitive), for the composer's `/` search."""
    rows = MessageTemplate.objects.for_app(app)
    query = (query or "").strip()
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(message__text__icontains=query))
    return list(rows)


def get_template(app, template_id: str) -> MessageTemplate:
    template = MessageTemplate.objects.for_app(app).filter(pk=template_id).first()
    if template is None:
        raise NotFound(f"Template {template_id} not found.")
    return template


def update_template(app, template_id: str, *, name=None, message=None) -> MessageTemplate:
    """Change the name, the message or both (a field left None is kept)."""
    template = get_template(app, template_id)
    if name is not None:
        template.name = _clean_name(name)
    if message is not None:
        template.message = _clean_message(message)
    template.updated_at = timezone.now()
    return _saved(template)


def delete_template(app, template_id: str) -> None:
    deleted, _ = MessageTemplate.objects.for_app(app).filter(pk=template_id).delete()
    if not deleted:
        raise NotFound(f"Template {template_id} not found.")


def message_from(app, template_id: str, sender: dict) -> dict:
    """The body of a message sent from `app`'s template `template_id`: its
    stored message with the sender's fields laid over it (name, email,
    avatarUrl, metadata, destination: validators.validate_template_message),
    to be checked and sent as any message body. NotFound when the app has no
    such template (another app's included)."""
    return {**get_template(app, template_id).message, **sender}
