"""POST /appusers/{id}/images: upload an image and post it as a message."""

from django.http import JsonResponse

from messaging import jsonbody
from messaging.api.auth import api_view, author_of, bad_request, is_business, require_app_scope
from messaging.api.uploads import parse_multipart
from messaging.client_address import public_base_url
from messaging.schemas import IMAGE_FORM_FIELDS as FORM_FIELDS
from messaging.services import media, messages
from messaging.validators import validate_message, validate_role
from messaging.wire import conversation_json, message_json

PLACEHOLDER_URL = "https://media.invalid/upload.jpg"


@api_view(user=True)
def upload(request):
    form, files = parse_multipart(request, "the image")
    data = {key: form[key] for key in FORM_FIELDS if key in form}
    try:
        jsonbody.check(data)  # form fields pass the JSON bodies' checks (NUL, surrogates)
    except jsonbody.BodyError as error:
        raise bad_request(error.description)
    upload = files.get("source")
    if upload is None:
        raise bad_request("source is required: the image file, as a multipart file field.")
    role = validate_role(data)
    if role == "appMaker":
        require_app_scope(request, "Posting a message with the appMaker role")
    # Everything is checked before the file is stored.
    fields = validate_message(
        {**data, "type": "image", "mediaUrl": PLACEHOLDER_URL}, role=role, app_user=request.app_user
    )
    ext = media.check_image(upload)
    name, content_type = media.store_image(
        upload, app_id=request.app.id, app_user_id=request.app_user.id, ext=ext
    )
    url = media.public_url(name, base_url=public_base_url(request))
    fields.update(media_url=url, media_type=content_type)
    if not fields["text"]:
        fields["text"] = url
    try:
        message = messages.post_message(request.app_user, role=role, fields=fields, author=author_of(request))
    except Exception:
        media.delete_stored(name)
        raise
    return JsonResponse(
        {"message": message_json(message),
         "conversation": conversation_json(request.app_user, inbox=is_business(request))},
        status=201,
    )
