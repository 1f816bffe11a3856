"""The multipart uploads of the REST API's file routes (images, attachments, a
WhatsApp profile photo): the body's type and size checked before Django
reads it, and its parser's refusals as Smooch errors (400, 413), never a
500. Django parses multipart bodies of POST requests only (request.FILES);
the official client PUTs the profile photo, so a PUT is parsed here with
Django's own parser."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParserError

from messaging.api.auth import ApiError, bad_request

# Room for the multipart envelope and the form fields around the file.
ENVELOPE_BYTES = 64 * 1024


def parse_multipart(request, what: str):
    """The (fields, files) of a multipart body of at most the upload limit
    and its envelope: the size told before Django reads the body, the
    parser's refusals (a missing boundary, too many fields) as 400 and 413
    (`what` names the file in the errors: "the image", "the file")."""
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise bad_request(f"Upload {what} as multipart/form-data with a source file field.")
    limit = settings.PARLEY_MAX_IMAGE_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + ENVELOPE_BYTES:
        raise ApiError(413, "payload_too_large", f"source is too large: the limit is {limit} bytes.")
    try:
        if request.method == "POST":
            return request.POST, request.FILES
        return request.parse_file_upload(request.META, request)
    except RequestDataTooBig:
        raise ApiError(413, "payload_too_large", "The form fields around the file are too large.")
    except (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent) as error:
        raise bad_request(f"The multipart body could not be read: {error}"[:300])


def source_file(request, what: str):
    """The uploaded `source` file of a multipart request (`what` names it
    in the errors: "the file", "the photo")."""
    _, files = parse_multipart(request, what)
    upload = files.get("source")
    if upload is None:
        raise bad_request(f"source is required: {what}, as a multipart file field.")
    return upload
