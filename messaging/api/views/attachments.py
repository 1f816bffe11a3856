"""Attachments (Smooch v1.1, smooch-core 8.11.4's `attachments.*`): upload a
file to use in messages later, and remove one, app scope or account scope
at /v1.1/apps/{appId}/attachments.

- `POST /attachments?access=public|private[&for=message&appUserId=...|
  userId=...|conversationId=...]`, multipart with the file as `source`:
  checked by content (messaging.services.media.check_attachment), stored
  through Django's storage; 201 `{"mediaUrl", "mediaType"}`. An attachment
  `for` a message is kept with that user's files (erased with the user).
- `POST /attachments/remove` `{"mediaUrl"}`: deletes the app's file (its
  URL answers 404 from then on); another app's URL is a 404 and stays.
"""

from django.http import JsonResponse

from messaging.api.auth import api_view, bad_request
from messaging.api.uploads import source_file
from messaging.client_address import public_base_url
from messaging.services import media
from messaging.validators import validate_attachment_removal

FOR_VALUES = ("message",)


def _owner(request):
    """The app user an attachment `for` a message belongs to (404 when not
    the app's), or None for an app-wide attachment."""
    purpose = request.GET.get("for")
    refs = {key: request.GET[key] for key in ("appUserId", "userId", "conversationId") if request.GET.get(key)}
    if purpose is None:
        if refs:
            raise bad_request(f"{next(iter(refs))} is only taken with for=message.")
        return None
    if purpose not in FOR_VALUES:
        raise bad_request("for must be message.")
    if len(refs) != 1:
        raise bad_request("for=message takes one of appUserId, userId or conversationId.")
    (key, ref), = refs.items()
    return media.attachment_owner(request.app, key, ref)


@api_view(scope="app")
def create(request):
    access = request.GET.get("access")
    if access not in media.ATTACHMENT_ACCESS:
        raise bad_request("access is required: public or private.")
    owner = _owner(request)
    upload = source_file(request, "the file")
    name, content_type = media.store_attachment(upload, app_id=request.app.id, access=access,
                                                app_user_id=owner.id if owner else None)
    url = media.attachment_url(name, base_url=public_base_url(request))
    return JsonResponse({"mediaUrl": url, "mediaType": content_type}, status=201)


@api_view(scope="app")
def remove(request):
    media.remove_attachment(validate_attachment_removal(request.data), app_id=request.app.id)
    return JsonResponse({})
