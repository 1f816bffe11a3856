"""POST /appusers/{id}/images (multipart `source`), type checked by content,
size-limited, posted as an image message; and /media/ serving it back with
safe headers."""

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Message
from tests.api.conftest import error_of


def png_bytes() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(api, user, headers, content=None, name="screenshot.jpg", **fields):
    data = {"role": "appUser", **fields}
    if content is not None:
        data["source"] = SimpleUploadedFile(name, content, content_type="image/jpeg")
    return api.post(f"/v1/appusers/{user.id}/images", data, headers=headers, content_type="multipart")


@pytest.mark.smoke
def test_it_uploads_an_image_and_posts_it(api, as_alice, alice, media_root):
    response = upload(api, alice, as_alice, png_bytes(), name="photo.jpg")
    assert response.status_code == 201, response.content
    message = response.data["message"]
    assert message["type"] == "image" and message["mediaType"] == "image/png"
    assert message["mediaUrl"].startswith("http://testserver/media/uploads/")
    assert message["mediaUrl"].endswith(".png")  # by content, not by the file's name
    assert message["text"] == message["mediaUrl"]
    stored = Message.objects.get(pk=message["_id"])
    assert stored.app_user == alice
    files = list(media_root.rglob("*.png"))
    assert len(files) == 1 and files[0].read_bytes() == png_bytes()

    served = api.client.get(message["mediaUrl"].replace("http://testserver", ""))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == png_bytes()
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"] == "inline"
    assert "default-src 'none'" in served["Content-Security-Policy"]


def test_it_posts_an_image_as_the_business(api, app_jwt, alice):
    response = upload(api, alice, app_jwt, b"GIF89a" + b"\x00" * 20, role="appMaker", text="Look")
    assert response.status_code == 201, response.content
    assert response.data["message"]["mediaType"] == "image/gif"
    assert response.data["message"]["text"] == "Look"


def test_it_rejects_content_that_is_not_an_image(api, as_alice, alice, media_root):
    response = upload(api, alice, as_alice, b"<html><script>alert(1)</script></html>", name="x.png")
    assert error_of(response) == (400, "bad_request",
                                  "source must be a JPEG, PNG, GIF or WebP image (checked by content).")
    assert not Message.objects.exists() and not list(media_root.rglob("*.*"))


def test_it_rejects_images_over_the_limit(api, as_alice, alice, settings, media_root):
    settings.PARLEY_MAX_IMAGE_BYTES = 100
    response = upload(api, alice, as_alice, png_bytes() + b"\x00" * 200)
    assert error_of(response)[:2] == (413, "payload_too_large")
    assert not Message.objects.exists() and not list(media_root.rglob("*.*"))


@pytest.mark.parametrize("fields,description", [
    ({"role": None}, "role is required."),
    ({"role": "robot"}, "role must be appUser or appMaker."),
    ({"avatarUrl": "javascript:x"}, "avatarUrl must be an http or https URL."),
])
def test_it_rejects_invalid_fields(api, as_alice, alice, fields, description, media_root):
    data = {k: v for k, v in fields.items() if v is not None}
    if fields.get("role", "x") is None:
        response = api.post(f"/v1/appusers/{alice.id}/images",
                            {"source": SimpleUploadedFile("a.png", png_bytes())}, headers=as_alice,
                            content_type="multipart")
    else:
        response = upload(api, alice, as_alice, png_bytes(), **data)
    assert error_of(response) == (400, "bad_request", description)
    assert not Message.objects.exists() and not list(media_root.rglob("*.*"))


def test_it_requires_the_source_file(api, as_alice, alice):
    response = upload(api, alice, as_alice, None)
    assert error_of(response) == (400, "bad_request", "source is required: the image file, as a multipart file field.")


def test_it_requires_app_scope_for_business_images(api, as_alice, alice):
    response = upload(api, alice, as_alice, png_bytes(), role="appMaker")
    assert error_of(response)[:2] == (403, "forbidden")


def test_it_serves_only_uploaded_images(api, media_root):
    (media_root / "uploads").mkdir()
    (media_root / "uploads" / "page.html").write_text("<script>alert(1)</script>")
    (media_root / "secret.png").write_bytes(png_bytes())
    for path in ("/media/uploads/page.html", "/media/secret.png", "/media/uploads/../secret.png",
                 "/media/uploads/missing.png"):
        assert api.client.get(path).status_code == 404, path


def test_it_erases_uploads_with_the_user(api, as_alice, app_jwt, alice, media_root):
    upload(api, alice, as_alice, png_bytes())
    assert list(media_root.rglob("*.png"))
    api.delete(f"/v1/appusers/{alice.id}", headers=app_jwt)
    assert not list(media_root.rglob("*.png"))


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_multipart_body_without_a_boundary_is_a_400(api, app_jwt, alice, content_type):
    """Django's parser refuses it (MultiPartParserError): a 400 with the
    API's error body, not a 500 (found by the fuzzer)."""
    for path in (f"/v1/appusers/{alice.id}/images", "/v1.1/attachments?access=public"):
        response = api.client.post(path, data=b"", content_type=content_type, headers=app_jwt)
        status, code, description = error_of(response)
        assert (status, code) == (400, "bad_request") and "multipart" in description, (path, description)
    assert not Message.objects.exists()
