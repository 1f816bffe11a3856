"""A WhatsApp integration's message templates and business profile through
the integrations API, against the fake Cloud API: what reaches Meta, what
Parley refuses before calling it, Meta's refusals as Smooch errors, and
tenancy (another app's integration is not found, another channel's is a 400)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from messaging.models import Integration, IntegrationStatus
from tests.api.conftest import bearer, error_of, make_jwt
from tests.api.test_images import png_bytes
from tests.api.test_integrations_whatsapp import PROPS
from tests.support.fake_whatsapp import WABA_ID

TEMPLATE = {"name": "order_ready", "category": "UTILITY", "language": "en_US",
            "components": [{"type": "HEADER", "format": "TEXT", "text": "Your order"},
                           {"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready."},
                           {"type": "FOOTER", "text": "Tacos Inc"}]}


@pytest.fixture
def number(api, app_jwt, whatsapp):
    response = api.post("/v1/integrations", PROPS, headers=app_jwt)
    assert response.status_code == 201, response.content
    whatsapp.requests.clear()
    return response.data["integration"]["_id"]


def base(integration_id):
    return f"/v1.1/integrations/{integration_id}"


def test_it_creates_lists_and_deletes_templates_on_the_waba(api, app_jwt, number, whatsapp):
    created = api.post(f"{base(number)}/messageTemplates", TEMPLATE, headers=app_jwt)
    assert created.status_code == 201, created.content
    template = created.data["messageTemplate"]
    assert (template["name"], template["status"], template["language"]) == ("order_ready", "PENDING", "en_US")
    posted = [r for r in whatsapp.requests if r["path"].endswith(f"/{WABA_ID}/message_templates")]
    assert posted[0]["method"] == "POST" and posted[0]["body"] == TEMPLATE
    assert whatsapp.templates[0]["id"] == template["id"]
    for n in range(2):
        assert api.post(f"{base(number)}/messageTemplates", {**TEMPLATE, "name": f"promo_{n}"},
                        headers=app_jwt).status_code == 201
    page = api.get(f"{base(number)}/messageTemplates?limit=2", headers=app_jwt)
    assert page.status_code == 200, page.content
    assert [t["name"] for t in page.data["messageTemplates"]] == ["order_ready", "promo_0"]
    rest = api.get(f"{base(number)}/messageTemplates?limit=2&after={page.data['after']}", headers=app_jwt)
    assert [t["name"] for t in rest.data["messageTemplates"]] == ["promo_1"] and "after" not in rest.data
    assert rest.data["messageTemplates"][0]["components"][0]["type"] == "HEADER"
    deleted = api.delete(f"{base(number)}/messageTemplates/promo_0", headers=app_jwt)
    assert deleted.status_code == 200 and [t["name"] for t in whatsapp.templates] == ["order_ready", "promo_1"]


@pytest.mark.parametrize("change, words", [
    ({"name": "Order Ready"}, "name"),
    ({"category": "TRANSACTIONAL"}, "category"),
    ({"language": "english"}, "language"),
    ({"components": []}, "components"),
    ({"components": [{"type": "HEADER", "text": "x"}]}, "BODY"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_template_is_refused_before_meta_is_called(api, app_jwt, number, whatsapp, change, words):
    status, code, text = error_of(api.post(f"{base(number)}/messageTemplates", {**TEMPLATE, **change},
                                           headers=app_jwt))
    assert (status, code) == (400, "bad_request") and words in text
    assert whatsapp.requests == [] and whatsapp.templates == []


def test_metas_refusals_are_platform_errors(api, app_jwt, number, whatsapp):
    assert api.post(f"{base(number)}/messageTemplates", TEMPLATE, headers=app_jwt).status_code == 201
    status, code, text = error_of(api.post(f"{base(number)}/messageTemplates", TEMPLATE, headers=app_jwt))
    assert (status, code) == (400, "platform_refused") and "already exists" in text
    status, code, text = error_of(api.delete(f"{base(number)}/messageTemplates/nope", headers=app_jwt))
    assert (status, code) == (400, "platform_refused") and "not found" in text
    whatsapp.fail_next(503)
    status, code, _ = error_of(api.get(f"{base(number)}/messageTemplates", headers=app_jwt))
    assert (status, code) == (502, "platform_unavailable")


def test_a_revoked_token_puts_the_integration_in_error(api, app_jwt, number, whatsapp):
    whatsapp.tokens.clear()
    status, code, text = error_of(api.get(f"{base(number)}/profile", headers=app_jwt))
    assert (status, code) == (400, "platform_refused") and "access token" in text
    assert Integration.objects.get(id=number).status == IntegrationStatus.ERROR


def test_it_reads_and_updates_the_business_profile(api, app_jwt, number, whatsapp):
    got = api.get(f"{base(number)}/profile", headers=app_jwt)
    assert got.status_code == 200, got.content
    assert got.data["profile"] == {"about": "Tacos every day", "address": "1 Main St", "description": "Tacos Inc",
                                   "email": "hola@tacos.example", "vertical": "RESTAURANT",
                                   "websites": ["https://tacos.example/"]}
    asked = whatsapp.requests[-1]["query"]["fields"][0].split(",")
    assert "profile_picture_url" in asked and "websites" in asked
    changed = api.put(f"{base(number)}/profile", {"about": "Open late", "websites": ["https://tacos.example/menu"]},
                      headers=app_jwt)
    assert changed.status_code == 200, changed.content
    assert whatsapp.requests[-1]["body"] == {"messaging_product": "whatsapp", "about": "Open late",
                                             "websites": ["https://tacos.example/menu"]}
    assert whatsapp.profile["about"] == "Open late" and whatsapp.profile["address"] == "1 Main St"


@pytest.mark.parametrize("body, words", [
    ({}, "fields"), ({"about": "x" * 140}, "139"), ({"vertical": "TACOS"}, "vertical"),
    ({"websites": ["a", "b", "c"]}, "websites"), ({"email": "nope"}, "email"), ({"photoUrl": "https://x/y"}, "photo"),
    ({"name": "Tacos"}, "name"),
])
def test_a_bad_profile_is_refused_before_meta_is_called(api, app_jwt, number, whatsapp, body, words):
    status, code, text = error_of(api.put(f"{base(number)}/profile", body, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and words in text
    assert whatsapp.requests == []


def multipart_put(api, path, content, headers):
    """A multipart PUT, as smooch-core sends the photo (Django's test
    client encodes multipart bodies for POST only)."""
    body = encode_multipart(BOUNDARY, {"source": SimpleUploadedFile("me.png", content)})
    return api.put(path, raw=body, content_type=MULTIPART_CONTENT, headers=headers)


def test_it_uploads_the_photo_with_the_resumable_upload_api(api, app_jwt, number, whatsapp):
    response = multipart_put(api, f"{base(number)}/profile/photo", png_bytes(), app_jwt)
    assert response.status_code == 200, response.content
    assert list(whatsapp.uploads.values()) == [png_bytes()]
    session = next(r for r in whatsapp.requests if r["path"].endswith("/uploads"))
    assert session["query"]["file_type"] == ["image/png"] and session["query"]["file_length"] == [str(len(png_bytes()))]
    assert whatsapp.requests[-1]["body"]["profile_picture_handle"] in whatsapp.uploads
    assert api.get(f"{base(number)}/profile", headers=app_jwt).data["profile"]["photoUrl"].startswith(whatsapp.url)


def test_a_photo_that_is_not_a_jpeg_or_png_is_refused(api, app_jwt, number, whatsapp):
    status, _, text = error_of(multipart_put(api, f"{base(number)}/profile/photo", b"GIF89a" + b"\x00" * 20, app_jwt))
    assert status == 400 and "JPEG or PNG" in text
    status, _, text = error_of(multipart_put(api, f"{base(number)}/profile/photo", b"%PDF-1.4", app_jwt))
    assert status == 400
    status, _, text = error_of(api.put(f"{base(number)}/profile/photo", {"about": "x"}, headers=app_jwt))
    assert status == 400 and "multipart" in text
    assert whatsapp.requests == [] and whatsapp.uploads == {}


def test_another_apps_integration_is_not_found_and_another_channel_is_a_400(api, app_jwt, number, whatsapp,
                                                                           other_app, app):
    theirs = bearer(make_jwt(other_app.test_key.key_id, other_app.test_secret, "app"))
    for method, path, body in (("get", "messageTemplates", None), ("post", "messageTemplates", TEMPLATE),
                               ("delete", "messageTemplates/order_ready", None), ("get", "profile", None),
                               ("put", "profile", {"about": "Mine now"})):
        status, code, _ = error_of(getattr(api, method)(f"{base(number)}/{path}", body, headers=theirs))
        assert (status, code) == (404, "not_found"), path
    status, _, _ = error_of(multipart_put(api, f"{base(number)}/profile/photo", png_bytes(), theirs))
    assert status == 404
    assert whatsapp.requests == []
    telegram = Integration.objects.create(app=app, type="telegram", credentials={"token": "1:x"})
    status, code, text = error_of(api.get(f"{base(telegram.id)}/profile", headers=app_jwt))
    assert (status, code) == (400, "bad_request") and "telegram integration" in text and "WhatsApp" in text
