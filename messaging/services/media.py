"""Images uploaded through the API (POST /appusers/{id}/images).

Stored with Django's default storage under MEDIA_ROOT as
`uploads/<appId>/<appUserId>/<random id>.<ext>` and served back by Parley at
MEDIA_URL (messaging.api.media). The type is decided by the file's first
bytes, never by its name or the client's content type, and only the four
image formats every channel renders are accepted.
"""

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from messaging.ids import new_id
from messaging.services.errors import ServiceError

logger = logging.getLogger(__name__)

# extension -> content type, for the formats accepted (and served).
TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}


def sniff(head: bytes) -> str | None:
    """The image format from its magic bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def check_image(upload) -> str:
    """Raise unless `upload` (an UploadedFile) is an accepted image within
    PARLEY_MAX_IMAGE_BYTES; returns its extension."""
    limit = settings.PARLEY_MAX_IMAGE_BYTES
    if upload.size > limit:
        raise ServiceError(
            f"source is too large: {upload.size} bytes, the limit is {limit} bytes.", status=413,
            code="payload_too_large",
        )
    if upload.size == 0:
        raise ServiceError("source is empty.")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    ext = sniff(head)
    if ext is None:
        raise ServiceError("source must be a JPEG, PNG, GIF or WebP image (checked by content).")
    return ext


def store_image(upload, *, app_id: str, app_user_id: str, ext: str) -> tuple[str, str]:
    """Save the image; returns (storage name, content type)."""
    name = f"uploads/{app_id}/{app_user_id}/{new_id()}.{ext}"
    upload.seek(0)
    saved = default_storage.save(name, ContentFile(upload.read()))
    return saved, TYPES[ext]


def delete_stored(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:
        logger.exception("could not delete %s", name)


def public_url(name: str, *, base_url: str) -> str:
    """Where browsers and platforms fetch a stored image: the storage's own
    URL (S3-compatible storage) or, for local files, Parley's /media/ route
    on its public base URL."""
    url = default_storage.url(name)
    return url if url.startswith(("http://", "https://")) else base_url + url


def delete_user_media(app_id: str, app_user_id: str) -> None:
    """Erase a deleted user's uploads (through the storage API, so it works
    on the file system and on S3-compatible storage alike)."""
    folder = f"uploads/{app_id}/{app_user_id}"
    try:
        _, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for file_name in files:
        delete_stored(f"{folder}/{file_name}")


def content_type_for(name: str) -> str | None:
    return TYPES.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
