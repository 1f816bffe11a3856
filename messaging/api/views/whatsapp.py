"""A WhatsApp integration's message templates and business profile, as
smooch-core 8.11.4 calls them (`integrations.messageTemplates.*`,
`integrations.profile.*`, `integrations.profile.photo.upload`), app scope or
account scope at /v1.1/apps/{appId}/integrations/{integrationId}/...:

- `GET .../messageTemplates` (`limit`, `after`): `{"messageTemplates",
  "after"?}`, `after` the cursor of the next page when there is one;
- `POST .../messageTemplates` `{name, category, language, components}`:
  201 `{"messageTemplate"}`; `DELETE .../messageTemplates/{name}`: `{}`;
- `GET .../profile`: `{"profile"}`; `PUT .../profile` (the fields to change):
  `{}`; `PUT .../profile/photo` (multipart `source`, JPEG or PNG): `{}`.

Everything goes to the WhatsApp Cloud API (messaging.services.whatsapp_business).
"""

from django.conf import settings
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError

from messaging.api import query
from messaging.api.auth import ApiError, api_view, bad_request
from messaging.api.views.images import ENVELOPE_BYTES
from messaging.services import whatsapp_business as business
from messaging.validators import validate_whatsapp_profile, validate_whatsapp_template

MAX_CURSOR = 512


@api_view(scope="app")
def list_templates(request, integrationId):
    row = business.whatsapp_integration(request.app, integrationId)
    limit = query.number(request, "limit", business.PAGE_DEFAULT, 1, business.PAGE_MAX)
    after = request.GET.get("after", "")
    if len(after) > MAX_CURSOR:
        raise bad_request(f"after is a cursor of at most {MAX_CURSOR} characters.")
    templates, following = business.list_templates(row, limit=limit, after=after)
    body = {"messageTemplates": templates}
    if following:
        body["after"] = following
    return JsonResponse(body)


@api_view(scope="app")
def create_template(request, integrationId):
    row = business.whatsapp_integration(request.app, integrationId)
    template = validate_whatsapp_template(request.data)
    return JsonResponse({"messageTemplate": business.create_template(row, template)}, status=201)


@api_view(scope="app")
def delete_template(request, integrationId, templateName):
    business.delete_template(business.whatsapp_integration(request.app, integrationId), templateName)
    return JsonResponse({})


@api_view(scope="app")
def get_profile(request, integrationId):
    row = business.whatsapp_integration(request.app, integrationId)
    return JsonResponse({"profile": business.get_profile(row)})


@api_view(scope="app")
def update_profile(request, integrationId):
    row = business.whatsapp_integration(request.app, integrationId)
    business.update_profile(row, validate_whatsapp_profile(request.data))
    return JsonResponse({})


@api_view(scope="app")
def upload_photo(request, integrationId):
    row = business.whatsapp_integration(request.app, integrationId)
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise bad_request("Upload the photo as multipart/form-data with a source file field.")
    limit = settings.PARLEY_MAX_IMAGE_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + ENVELOPE_BYTES:
        raise ApiError(413, "payload_too_large", f"source is too large: the limit is {limit} bytes.")
    # Django parses multipart bodies of POST requests only; the client PUTs
    # this one, so its parser is called on the request's stream here.
    try:
        _, files = request.parse_file_upload(request.META, request)
    except MultiPartParserError as error:
        raise bad_request(f"The multipart body could not be read: {error}")
    upload = files.get("source")
    if upload is None:
        raise bad_request("source is required: the photo, as a multipart file field.")
    business.upload_photo(row, upload)
    return JsonResponse({})
