"""A WhatsApp integration's business side, through the WhatsApp Cloud API:
its message templates (on the WhatsApp Business Account) and its business
profile with its photo (on the phone number). One service for the
integrations API's `messageTemplates` and `profile` routes.

Only a WhatsApp integration of the app has them: another app's is not
found (404), another channel's is a 400 saying so. What the business sends
is checked here first (Meta's own rules: a template's name, category,
language and components; the profile's fields and their lengths), so a
mistake is a 400 without a platform call. A platform refusal is a 400
`platform_refused` with Meta's reason (as when an integration is created),
a platform that cannot be reached or answers 5xx a 502
`platform_unavailable`; a refused token also puts the integration in error,
as a refused delivery does. Nothing is stored by Parley: the templates and
the profile are Meta's.
"""

import re

from messaging.integrations.base import PlatformError
from messaging.integrations.whatsapp import WhatsApp
from messaging.models import App, Integration
from messaging.services import media
from messaging.services.errors import ServiceError
from messaging.services.integrations import get_integration, record_error, scrub

TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
TEMPLATE_CATEGORIES = ("AUTHENTICATION", "MARKETING", "UTILITY")
LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")
COMPONENTS_MAX = 10
TEMPLATE_KEYS = ("name", "category", "language", "components", "allow_category_change")
PAGE_MAX = 100
PAGE_DEFAULT = 25  # Meta's own default page size

# The profile as the API shows it (Parley's key -> Meta's), with Meta's limits.
PROFILE_KEYS = {"about": "about", "address": "address", "description": "description", "email": "email",
                "vertical": "vertical", "websites": "websites", "photoUrl": "profile_picture_url"}
PROFILE_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
WEBSITES_MAX, WEBSITE_LENGTH = 2, 256
VERTICALS = ("UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE",
             "GROCERY", "GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL",
             "RESTAURANT", "NOT_A_BIZ")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
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


def _check_template(body) -> dict:
    if not isinstance(body, dict) or not body:
        raise ServiceError("The body must be a message template: name, category, language and components.")
    unknown = [key for key in body if key not in TEMPLATE_KEYS]
    if unknown:
        raise ServiceError(f"{unknown[0][:40]} is not a property of a message template "
                           f"(one of {', '.join(TEMPLATE_KEYS)}).")
    name = body.get("name")
    if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name):
        raise ServiceError("name is required: lowercase letters, digits and underscores, at most 512.")
    if body.get("category") not in TEMPLATE_CATEGORIES:
        raise ServiceError(f"category must be one of {', '.join(TEMPLATE_CATEGORIES)}.")
    language = body.get("language")
    if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
        raise ServiceError("language must be a language code such as en or en_US.")
    components = body.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= COMPONENTS_MAX:
        raise ServiceError(f"components must be a list of 1 to {COMPONENTS_MAX} components.")
    for number, component in enumerate(components):
        if not isinstance(component, dict) or component.get("type") not in COMPONENT_TYPES:
            raise ServiceError(f"components[{number}].type must be one of {', '.join(COMPONENT_TYPES)}.")
    if not any(component["type"] == "BODY" for component in components):
        raise ServiceError("components must hold a BODY component.")
    if "allow_category_change" in body and not isinstance(body["allow_category_change"], bool):
        raise ServiceError("allow_category_change must be true or false.")
    return body


def create_template(row: Integration, body) -> dict:
    """Submit the template for Meta's review; the template as submitted,
    with Meta's id, status and category."""
    template = _check_template(body)
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


def _check_profile(body) -> dict:
    if not isinstance(body, dict) or not body:
        raise ServiceError("The body must be the profile's fields to change: "
                           + ", ".join(k for k in PROFILE_KEYS if k != "photoUrl") + ".")
    fields = {}
    for key, value in body.items():
        if key == "photoUrl":
            raise ServiceError("photoUrl is read-only: upload the photo with PUT .../profile/photo.")
        if key not in PROFILE_KEYS:
            raise ServiceError(f"{key[:40]} is not a property of a WhatsApp business profile.")
        if key in PROFILE_LIMITS:
            if not isinstance(value, str) or len(value) > PROFILE_LIMITS[key]:
                raise ServiceError(f"{key} must be a string of at most {PROFILE_LIMITS[key]} characters.")
            if key == "email" and value and not EMAIL.fullmatch(value):
                raise ServiceError("email must be an email address.")
        elif key == "vertical" and value not in VERTICALS:
            raise ServiceError(f"vertical must be one of {', '.join(VERTICALS)}.")
        elif key == "websites":
            if not isinstance(value, list) or len(value) > WEBSITES_MAX or not all(
                    isinstance(site, str) and site.startswith(("http://", "https://"))
                    and len(site) <= WEBSITE_LENGTH for site in value):
                raise ServiceError(f"websites must be a list of at most {WEBSITES_MAX} http(s) URLs of at most "
                                   f"{WEBSITE_LENGTH} characters.")
        fields[PROFILE_KEYS[key]] = value
    return fields


def update_profile(row: Integration, body) -> None:
    fields = _check_profile(body)
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
