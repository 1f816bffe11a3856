"""Serving uploaded images and attachments back (MEDIA_URL, mounted in
dashboard/urls.py).

Only files of the accepted types are served, with headers that keep a
crafted file from ever running as a page: the content type from the
extension Parley chose itself (after sniffing the bytes), nosniff, inline
disposition for images (documents download), and a Content-Security-Policy
that allows nothing. A private attachment needs its URL's signature.
"""

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import re_path

from messaging.services.media import content_type_for, is_image, is_private, signature_ok

CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def serve(request, name):
    if request.method not in ("GET", "HEAD"):
        raise Http404
    content_type = content_type_for(name)
    if content_type is None or not name.startswith("uploads/") or ".." in name.split("/"):
        raise Http404
    if is_private(name) and not signature_ok(name, request.GET.get("sig", "")):
        raise Http404
    try:
        if not default_storage.exists(name):
            raise Http404
        handle = default_storage.open(name, "rb")
    except (SuspiciousFileOperation, OSError):
        raise Http404
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline" if is_image(name) else "attachment"
    response["Content-Security-Policy"] = CSP
    # Shown by widgets embedded on other origins.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    # Names are random and never reused; a private file stays out of shared caches.
    response["Cache-Control"] = ("private" if is_private(name) else "public") + ", max-age=31536000, immutable"
    return response


urlpatterns = [re_path(r"^(?P<name>.+)$", serve, name="parley-media")]
