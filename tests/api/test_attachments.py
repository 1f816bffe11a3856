"""v1.1 attachments: POST /attachments (multipart `source`, `access`, `for`
with the user) checked by content and stored through Django's storage,
served back at /media/; POST /attachments/remove deletes only the app's
own file."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.services.apps import delete_app
from messaging.services.media import delete_user_media
from tests.api.conftest import bearer, error_of, make_jwt
from tests.api.test_images import png_bytes

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(api, headers, content, *, name="file.bin", content_type="application/octet-stream", query="access=public",
           prefix="/v1.1"):
    data = {} if content is None else {"source": SimpleUploadedFile(name, content, content_type=content_type)}
    return api.post(f"{prefix}/attachments?{query}", data, headers=headers, content_type="multipart")


def fetch(api, url):
    return api.client.get(url.replace("http://testserver", ""))


@pytest.mark.parametrize("content, media_type, ext", [
    (png_bytes(), "image/png", ".png"),
    (PDF, "application/pdf", ".pdf"),
    (docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4", ".mp4"),
])
def test_it_stores_a_file_by_its_content_and_serves_it(api, app_jwt, media_root, content, media_type, ext):
    # The name and the type the client gives count for nothing.
    response = upload(api, app_jwt, content, name="holiday.exe", content_type="text/html")
    assert response.status_code == 201, response.content
    assert response.data["mediaType"] == media_type
    url = response.data["mediaUrl"]
    assert url.startswith("http://testserver/media/uploads/") and url.endswith(ext)
    files = [f for f in media_root.rglob("*") if f.is_file()]
    assert len(files) == 1 and files[0].read_bytes() == content
    served = fetch(api, url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == content
    assert served["Content-Type"] == media_type and served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"] == ("inline" if media_type.startswith("image/") else "attachment")


@pytest.mark.parametrize("content", [b"<html><script>alert(1)</script></html>", plain_zip(), b"MZ\x90\x00\x03"])
def test_it_refuses_other_content_whatever_its_name(api, app_jwt, media_root, content):
    status, code, text = error_of(upload(api, app_jwt, content, name="report.pdf", content_type="application/pdf"))
    assert (status, code) == (400, "bad_request") and "checked by content" in text
    assert not any(f.is_file() for f in media_root.rglob("*"))


def test_an_empty_or_missing_file_or_a_bad_access_is_a_400(api, app_jwt, media_root):
    status, code, text = error_of(upload(api, app_jwt, b""))
    assert (status, code) == (400, "bad_request") and "empty" in text
    status, _, text = error_of(upload(api, app_jwt, None))
    assert status == 400 and "source is required" in text
    status, _, text = error_of(upload(api, app_jwt, PDF, query="access=everyone"))
    assert status == 400 and "access" in text
    status, _, text = error_of(upload(api, app_jwt, PDF, query=""))
    assert status == 400 and "access" in text
    status, _, text = error_of(api.post("/v1.1/attachments?access=public", {"source": "x"}, headers=app_jwt))
    assert status == 400 and "multipart" in text
    assert not any(f.is_file() for f in media_root.rglob("*"))


def test_the_size_limit_is_the_images_one(api, app_jwt, media_root, settings):
    settings.PARLEY_MAX_IMAGE_BYTES = len(PDF) - 1
    status, code, _ = error_of(upload(api, app_jwt, PDF))
    assert (status, code) == (413, "payload_too_large")
    assert not any(f.is_file() for f in media_root.rglob("*"))


def test_a_file_for_a_users_message_is_kept_and_erased_with_the_user(api, app_jwt, app, alice, media_root):
    response = upload(api, app_jwt, PDF, query="access=public&for=message&userId=alice")
    assert response.status_code == 201, response.content
    assert f"/media/uploads/{app.id}/{alice.id}/" in response.data["mediaUrl"]
    by_conversation = upload(api, app_jwt, PDF, query=f"access=public&for=message&conversationId={alice.id}")
    assert f"/uploads/{app.id}/{alice.id}/" in by_conversation.data["mediaUrl"]
    delete_user_media(app.id, alice.id)
    assert fetch(api, response.data["mediaUrl"]).status_code == 404
    assert not any(f.is_file() for f in media_root.rglob("*"))


def test_a_user_of_another_app_is_not_found(api, app_jwt, other_app, media_root):
    status, code, _ = error_of(upload(api, app_jwt, PDF, query=f"access=public&for=message&appUserId={other_app.user.id}"))
    assert (status, code) == (404, "not_found")
    status, _, text = error_of(upload(api, app_jwt, PDF, query="access=public&appUserId=x"))
    assert status == 400 and "for=message" in text
    assert not any(f.is_file() for f in media_root.rglob("*"))


def test_a_private_file_is_served_only_with_its_signature(api, app_jwt):
    response = upload(api, app_jwt, PDF, query="access=private")
    assert response.status_code == 201, response.content
    url = response.data["mediaUrl"]
    assert "/private/" in url and "?sig=" in url
    served = fetch(api, url)
    assert served.status_code == 200 and served["Cache-Control"].startswith("private")
    assert fetch(api, url.split("?")[0]).status_code == 404
    assert fetch(api, url + "x").status_code == 404


def test_remove_deletes_the_apps_file_only(api, app_jwt, app, other_app, media_root):
    mine = upload(api, app_jwt, PDF).data["mediaUrl"]
    theirs_jwt = bearer(make_jwt(other_app.test_key.key_id, other_app.test_secret, "app"))
    theirs = upload(api, theirs_jwt, png_bytes()).data["mediaUrl"]
    # Another app's key cannot remove it, nor tell it from a missing file.
    status, code, _ = error_of(api.post("/v1.1/attachments/remove", {"mediaUrl": mine}, headers=theirs_jwt))
    assert (status, code) == (404, "not_found") and fetch(api, mine).status_code == 200
    assert api.post("/v1.1/attachments/remove", {"mediaUrl": mine}, headers=app_jwt).status_code == 200
    assert fetch(api, mine).status_code == 404
    status, _, _ = error_of(api.post("/v1.1/attachments/remove", {"mediaUrl": mine}, headers=app_jwt))
    assert status == 404
    status, _, text = error_of(api.post("/v1.1/attachments/remove", {}, headers=app_jwt))
    assert status == 400 and "mediaUrl" in text
    for outside in ("https://elsewhere.example/media/x.pdf", "http://testserver/media/../secret.pdf",
                    f"http://testserver/media/uploads/{app.id}/%00.pdf",
                    f"http://testserver/media/uploads/{app.id}/%2e%2e/%2e%2e/x.pdf", "not a URL", "/media/"):
        status, _, _ = error_of(api.post("/v1.1/attachments/remove", {"mediaUrl": outside}, headers=app_jwt))
        assert status == 404
    assert fetch(api, theirs).status_code == 200


@pytest.mark.parametrize("body", [b"--nope\r\nContent-Disposition: form-data; name=\"source\"; filename=\"a\"",
                                  b"garbage"])
def test_a_broken_multipart_body_is_a_400(api, app_jwt, media_root, body):
    response = api.post("/v1.1/attachments?access=public", raw=body, content_type="multipart/form-data; boundary=x",
                        headers=app_jwt)
    status, code, _ = error_of(response)
    assert (status, code) == (400, "bad_request")
    assert not any(f.is_file() for f in media_root.rglob("*"))


def test_an_account_key_reaches_its_apps_attachments(api, account_jwt, app):
    response = upload(api, account_jwt, PDF, prefix=f"/v1.1/apps/{app.id}")
    assert response.status_code == 201 and f"/uploads/{app.id}/attachments/" in response.data["mediaUrl"]


def test_an_app_user_credential_is_refused(api, as_alice, alice, media_root):
    status, _, _ = error_of(upload(api, as_alice, PDF))
    assert status in (401, 403)
    assert not any(f.is_file() for f in media_root.rglob("*"))


def test_deleting_the_app_erases_its_files_and_no_others(api, app_jwt, app, alice, other_app, media_root):
    theirs_jwt = bearer(make_jwt(other_app.test_key.key_id, other_app.test_secret, "app"))
    theirs = upload(api, theirs_jwt, PDF).data["mediaUrl"]
    urls = [upload(api, app_jwt, PDF, query=query).data["mediaUrl"]
            for query in ("access=public", "access=private", "access=private&for=message&userId=alice")]
    delete_app(membership=app.team.memberships.get(role="owner"), app=app)
    assert all(fetch(api, url).status_code == 404 for url in urls)
    assert fetch(api, theirs).status_code == 200
    assert [f.name for f in media_root.rglob("*") if f.is_file()] == [theirs.rsplit("/", 1)[1]]
