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

from django.http import JsonResponse

from messaging.api import query
from messaging.api.auth import api_view, bad_request
from messaging.api.uploads import source_file
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
    upload = source_file(request, "the photo")
    business.upload_photo(row, upload)
    return JsonResponse({})
