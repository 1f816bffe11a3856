"""A WhatsApp integration's business side, through the WhatsApp Cloud API:
its message templates (on the WhatsApp Business Account) and its business
profile with its photo (on the phone number). One service for the
integrations API's `messageTemplates` and `profile` routes.

Only a WhatsApp integration of the app has them: another app's is not
found (404), another channel's is a 400 saying so. What the business sends
is checked before (messaging.validators, from Meta's own rules in
messaging/schemas.py: a template's name, category, language and
components; the profile's fields and their lengths), so a mistake is a 400
without a platform call. A platform refusal is a 400
`platform_refused` with Meta's reason (as when an integration is created),
a platform that cannot be reached or answers 5xx a 502
`platform_unavailable`; a refused token also puts the integration in error,
as a refused delivery does. Nothing is stored by Parley: the templates and
the profile are Meta's.
"""

import re

from messaging import schemas
from messaging.integrations.base import PlatformError
from messaging.integrations.whatsapp import WhatsApp
from messaging.models import App, Integration
from messaging.services import media
from messaging.services.errors import ServiceError
from messaging.services.integrations import get_integration, record_error, scrub

TEMPLATE_NAME = re.compile(schemas.WA_TEMPLATE_NAME)
PAGE_MAX = 100
PAGE_DEFAULT = 25  # Meta's own default page size
# The profile as the API shows it: Parley's key -> Meta's.
PROFILE_KEYS = {**{key: key for key in schemas.WA_PROFILE_KEYS}, "photoUrl": "profile_picture_url"}
# WhatsApp's profile pictures are JPEG or PNG.
PHOTO_TYPES = ("jpg", "png")


def whatsapp_integration(app: App, integration_id: str) -> Integration:
    """The app's integration of that id, which must be a WhatsApp one."""
    row = get_integration(app, integration_id)
    if row.type != WhatsApp.type:
        raise ServiceError(f"Integration {integration_id} is a {row.type} integration: message templates and "
                           "the business profile are WhatsApp's (type whatsapp).")
    return row


def _platform(row: Integration, call):
    """`call(channel)` on the integration's Cloud API, refusals as ServiceError."""
    try:
        return call(WhatsApp(row))
    except PlatformError as error:
        if error.code == "bad_credentials":
            record_error(row, error)
        message = scrub(WhatsApp, row.credentials, error.message)
        if "whatsapp" not in message.lower():
            message = f"WhatsApp refused: {message}"
        if error.permanent:
            raise ServiceError(message, code="platform_refused")
        raise ServiceError(message, code="platform_unavailable", status=502)


# Message templates.

def template_json(template: dict) -> dict:
    """Meta's template object as the API answers it (its own keys, the
    ones it gave)."""
    keys = ("id", "name", "language", "category", "status", "components", "rejected_reason")
    return {key: template[key] for key in keys if template.get(key) not in (None, "")}


def list_templates(row: Integration, *, limit: int = PAGE_DEFAULT, after: str = "") -> tuple[list[dict], str]:
    if not 1 <= limit <= PAGE_MAX:
        raise ServiceError(f"limit must be an integer from 1 to {PAGE_MAX}.")
    templates, following = _platform(row, lambda channel: channel.message_templates(limit=limit, after=after))
    return [template_json(t) for t in templates], following


def create_template(row: Integration, template: dict) -> dict:
    """Submit the template (checked by validators.validate_whatsapp_template)
    for Meta's review; the template as submitted, with Meta's id, status
    and category."""
    answer = _platform(row, lambda channel: channel.create_message_template(template))
    return template_json({**template, **{k: answer[k] for k in ("id", "status", "category") if k in answer}})


def delete_template(row: Integration, name: str) -> None:
    if not TEMPLATE_NAME.fullmatch(name or ""):
        raise ServiceError("The template name is lowercase letters, digits and underscores, at most 512.")
    _platform(row, lambda channel: channel.delete_message_template(name))


# The business profile.

def get_profile(row: Integration) -> dict:
    found = _platform(row, lambda channel: channel.business_profile())
    profile = {}
    for ours, theirs in PROFILE_KEYS.items():
        value = found.get(theirs)
        if ours == "websites":
            value = [str(site) for site in value if site] if isinstance(value, list) else None
        elif value is not None:
            value = str(value)
        if value:
            profile[ours] = value
    return profile


def update_profile(row: Integration, fields: dict) -> None:
    """Change the profile's `fields` (checked by
    validators.validate_whatsapp_profile); the others stay as they are."""
    _platform(row, lambda channel: channel.update_business_profile(fields))


def upload_photo(row: Integration, upload) -> None:
    """The profile's photo: a JPEG or PNG (by content) within the image
    limit, sent to Meta and set as the profile picture."""
    ext = media.check_image(upload)
    if ext not in PHOTO_TYPES:
        raise ServiceError("source must be a JPEG or PNG image: WhatsApp takes no other profile picture.")
    upload.seek(0)
    content = upload.read()
    _platform(row, lambda channel: channel.upload_profile_photo(
        content, content_type=media.TYPES[ext], file_name=f"profile.{ext}"))
