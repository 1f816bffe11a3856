"""Images uploaded through the API (POST /appusers/{id}/images) and
attachments (v1.1 POST /attachments, POST /attachments/remove).

Stored with Django's default storage under MEDIA_ROOT as
`uploads/<appId>/<appUserId>/<random id>.<ext>` and served back by Parley at
MEDIA_URL (messaging.api.media). The type is decided by the file's first
bytes, never by its name or the client's content type: images take only the
four formats every channel renders; attachments also take the common
documents and media (PDF, Word, Excel and PowerPoint files, MP4, MP3, Ogg).

An attachment uploaded `for` a user's message lives in that user's folder
(erased with the user); the others in `uploads/<appId>/attachments/`. A
`private` one is under `private/` in its folder and served only with the
signature its URL carries (`?sig=`, Django's signing with SECRET_KEY); on
S3-compatible storage its URL is the bucket's, unguessable but unsigned.
"""

import io
import logging
import zipfile
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.crypto import constant_time_compare

from messaging.ids import new_id
from messaging.models import AppUser
from messaging.services.errors import NotFound, ServiceError

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


# The attachments' other formats (extension -> content type), sniffed by
# `sniff_document`.
DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
}
SERVED_TYPES = {**TYPES, **DOCUMENT_TYPES}
# An Office Open XML file is a zip holding its part of this name.
OOXML_PARTS = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
ATTACHMENT_ACCESS = ("public", "private")
ATTACHMENTS_FOLDER = "attachments"
PRIVATE_FOLDER = "private"
SIGNING_SALT = "parley.media.private"


def sniff_document(upload) -> str | None:
    """A document's or media file's format from its content, or None. A zip
    is an Office file only when it holds that format's main part."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(upload.read())) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        finally:
            upload.seek(0)
        return next((ext for part, ext in OOXML_PARTS.items() if part in names), None)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06):
        # An ID3 tag, or an MPEG audio frame's sync bits with a layer (JPEG's
        # FF D8 has neither: its second byte's top three bits are 110).
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    return None


def _check_size(upload) -> None:
    limit = settings.PARLEY_MAX_IMAGE_BYTES
    if upload.size > limit:
        raise ServiceError(
            f"source is too large: {upload.size} bytes, the limit is {limit} bytes.", status=413,
            code="payload_too_large",
        )
    if upload.size == 0:
        raise ServiceError("source is empty.")


def check_attachment(upload) -> str:
    """Raise unless `upload` is an image or one of DOCUMENT_TYPES (by
    content) within PARLEY_MAX_IMAGE_BYTES; returns its extension."""
    _check_size(upload)
    upload.seek(0)
    ext = sniff(upload.read(16)) or sniff_document(upload)
    upload.seek(0)
    if ext is None:
        raise ServiceError("source must be an image (JPEG, PNG, GIF, WebP), a PDF, a Word, Excel or PowerPoint "
                           "file, an MP4 video or MP3 / Ogg audio (checked by content).")
    return ext


def store_attachment(upload, *, app_id: str, access: str, app_user_id: str | None = None) -> tuple[str, str]:
    """Check and save an attachment of the app (in the user's folder when
    it is for one); returns (storage name, content type)."""
    if access not in ATTACHMENT_ACCESS:
        raise ServiceError("access must be public or private.")
    ext = check_attachment(upload)
    folder = f"uploads/{app_id}/{app_user_id or ATTACHMENTS_FOLDER}"
    if access == "private":
        folder += f"/{PRIVATE_FOLDER}"
    upload.seek(0)
    saved = default_storage.save(f"{folder}/{new_id()}.{ext}", ContentFile(upload.read()))
    return saved, SERVED_TYPES[ext]


def attachment_owner(app, key: str, ref: str):
    """The app user an attachment is for, named by `appUserId`, `userId`
    or `conversationId` (a conversation's _id is its app user's); NotFound
    when the app has none such (another app's user included)."""
    users = AppUser.objects.filter(app=app)
    found = (users.filter(user_id=ref) if key == "userId" else users.filter(id=ref)).first()
    if found is None:
        raise NotFound(f"No app user of this app has {key} {ref[:80]!r}.")
    return found


def is_private(name: str) -> bool:
    return f"/{PRIVATE_FOLDER}/" in name


def signature(name: str) -> str:
    return signing.Signer(salt=SIGNING_SALT).signature(name)


def signature_ok(name: str, given: str) -> bool:
    return bool(given) and constant_time_compare(given, signature(name))


def attachment_url(name: str, *, base_url: str) -> str:
    """The public URL; a private attachment's carries its signature."""
    url = public_url(name, base_url=base_url)
    return f"{url}?sig={signature(name)}" if is_private(name) else url


def _stored_name(media_url: str) -> str | None:
    """The storage name behind one of Parley's media URLs, or None when the
    URL is not one (another host's file, a path outside MEDIA_URL)."""
    if not isinstance(media_url, str):
        return None
    storage_base = default_storage.url("")
    parts = urlsplit(media_url)
    if storage_base.startswith(("http://", "https://")):
        if not media_url.startswith(storage_base):
            return None
        name = parts.path[len(urlsplit(storage_base).path):]
    else:
        if not parts.path.startswith(settings.MEDIA_URL):
            return None
        name = parts.path[len(settings.MEDIA_URL):]
    name = unquote(name)
    return name if name and ".." not in name.split("/") else None


def remove_attachment(media_url, *, app_id: str) -> None:
    """Delete a file the app uploaded (an attachment or an image), named by
    its media URL; NotFound when it is not the app's or is gone (another
    app's file is never touched, nor told apart from a missing one)."""
    if not isinstance(media_url, str) or not media_url:
        raise ServiceError("mediaUrl is required: the URL the upload answered.")
    name = _stored_name(media_url)
    missing = NotFound("No attachment of this app has that mediaUrl.")
    if name is None or not name.startswith(f"uploads/{app_id}/"):
        raise missing
    try:
        if not default_storage.exists(name):
            raise missing
    except (SuspiciousFileOperation, OSError, ValueError):
        # A name the storage refuses (a NUL byte, a path leaving MEDIA_ROOT)
        # names no file of the app's.
        raise missing
    default_storage.delete(name)


def check_image(upload) -> str:
    """Raise unless `upload` (an UploadedFile) is an accepted image within
    PARLEY_MAX_IMAGE_BYTES; returns its extension."""
    _check_size(upload)
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
    """Erase a deleted user's uploads, private attachments included
    (through the storage API, so it works on the file system and on
    S3-compatible storage alike)."""
    for folder in (f"uploads/{app_id}/{app_user_id}", f"uploads/{app_id}/{app_user_id}/{PRIVATE_FOLDER}"):
        try:
            _, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotImplementedError):
            continue
        for file_name in files:
            delete_stored(f"{folder}/{file_name}")


def delete_app_media(app_id: str) -> None:
    """Erase every file of a deleted app: its users' uploads and its
    attachments, private ones included (the storage API has no recursive
    delete: the folders are walked)."""
    folders = [f"uploads/{app_id}"]
    while folders:
        folder = folders.pop()
        try:
            subfolders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotImplementedError):
            continue
        folders += [f"{folder}/{sub}" for sub in subfolders]
        for file_name in files:
            delete_stored(f"{folder}/{file_name}")


def content_type_for(name: str) -> str | None:
    """The served content type of a stored file, from the extension Parley
    chose after sniffing it (None: not a file Parley serves)."""
    return SERVED_TYPES.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None


def is_image(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() in TYPES
