"""Input that never breaks anything (issue 11, item 1), over HTTP: every
bad body, path, query and header is a 400 (413 for size) with Smooch's
error body and stores nothing; the API and the Log tab work afterwards."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import AppUser, Client, LogEntry, Message
from tests.api.conftest import error_of
from tests.api.test_images import png_bytes

DEVICE = {"id": "device-input-limits", "platform": "web"}


def counts():
    return (Message.objects.count(), AppUser.objects.count(), Client.objects.count())


def post_raw(api, path, raw: bytes, headers):
    return api.post(path, raw=raw, headers=headers)


@pytest.fixture
def messages_url(alice):
    return f"/v1/appusers/{alice.id}/messages"


def refused(response, status=400, code="bad_request", says=""):
    got_status, got_code, description = error_of(response)
    assert (got_status, got_code) == (status, code), description
    assert says in description, description
    return description


def still_works(api, owner_client, app, alice, app_jwt):
    """A good message is stored, and the Log tab renders, after a refusal."""
    response = api.post(f"/v1/appusers/{alice.id}/messages",
                        {"role": "appMaker", "type": "text", "text": "still here"}, headers=app_jwt)
    assert response.status_code == 201, response.content
    assert owner_client.get(f"/apps/{app.id}/log/").status_code == 200


# ------------------------------------------------------------- the cases


def test_a_1_5_mb_metadata_is_refused_and_nothing_is_stored(api, owner_client, app, alice, app_jwt,
                                                            messages_url):
    before = counts()
    body = {"role": "appMaker", "type": "text", "text": "hi", "metadata": {"k": "x" * 1_500_000}}
    refused(api.post(messages_url, body, headers=app_jwt), 413, "payload_too_large", "262144 bytes")
    assert counts() == before
    still_works(api, owner_client, app, alice, app_jwt)


def test_metadata_over_4_kb_is_refused(api, app, alice, app_jwt, messages_url):
    before = counts()
    body = {"role": "appMaker", "type": "text", "text": "hi", "metadata": {"k": "x" * 4100}}
    refused(api.post(messages_url, body, headers=app_jwt), says="metadata must be at most 4096 bytes")
    assert counts() == before
    ok = {"role": "appMaker", "type": "text", "text": "hi", "metadata": {"k": "x" * 4000}}
    assert api.post(messages_url, ok, headers=app_jwt).status_code == 201


BAD_JSON = [
    (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"k":"\\udfff"}}',
     "metadata.k contains an unpaired surrogate"),
    (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"\\ud800":"v"}}',
     "A key of metadata contains an unpaired surrogate"),
    (b'{"role":"appMaker","type":"text","text":"a\\u0000b"}', "text contains a NUL byte"),
    (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"n":1e400}}', "metadata.n is a number out of range"),
    (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"n":-1e400}}', "metadata.n is a number out of range"),
    (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"n":NaN}}', "NaN is not a JSON number"),
    (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"n":Infinity}}', "Infinity is not a JSON number"),
    (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"n":9223372036854775808}}',
     "metadata.n is an integer out of range"),
    (b'{"role":"appMaker","type":"text","text":"\xff\xfe"}', "not valid UTF-8"),
    (b'{"role":"appMaker","type":"text","text":"\xed\xb0\x80"}', "not valid UTF-8"),  # an encoded surrogate
    (b'{"role":"appMaker","type":"text","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "nested more than 32 levels deep"),
    (b'{"role":"appMaker","type":"text","x":' + b"[" * 32 + b"]" * 32 + b"}",
     "x" + "[0]" * 31 + " is nested more than 32 levels deep"),
]


@pytest.mark.parametrize("raw, says", BAD_JSON)
def test_bad_json_is_refused_where_it_is(api, app, alice, app_jwt, messages_url, raw, says):
    before = counts()
    refused(post_raw(api, messages_url, raw, app_jwt), says=says)
    assert counts() == before


@pytest.mark.smoke
def test_the_api_and_the_log_work_after_every_refusal(api, owner_client, app, alice, app_jwt, messages_url):
    for raw, _ in BAD_JSON:
        assert post_raw(api, messages_url, raw, app_jwt).status_code == 400
    assert Message.objects.count() == 0
    still_works(api, owner_client, app, alice, app_jwt)


def test_the_largest_integer_and_31_levels_are_fine(api, app, alice, app_jwt, messages_url):
    raw = (b'{"role":"appMaker","type":"text","text":"hi","metadata":{"n":9223372036854775807},'
           b'"x":' + b"[" * 31 + b"]" * 31 + b"}")
    response = post_raw(api, messages_url, raw, app_jwt)
    assert response.status_code == 201, response.content
    assert response.data["message"]["metadata"] == {"n": 9223372036854775807}


def test_a_nul_byte_in_device_id_is_refused(api, app):
    before = counts()
    response = api.post("/v1/init", {"device": {**DEVICE, "id": "dev\x00ice"}}, headers={"app-token": app.app_token})
    refused(response, says="device.id contains a NUL byte")
    assert counts() == before
    assert api.post("/v1/init", {"device": DEVICE}, headers={"app-token": app.app_token}).status_code == 200


def test_a_nul_byte_in_a_path_is_refused(api, app, alice, app_jwt):
    before = counts()
    refused(api.get("/v1/appusers/ali%00ce", headers=app_jwt), says="The URL path contains a NUL byte")
    refused(api.post("/v1/appusers/ali%00ce/messages", {"role": "appMaker", "type": "text", "text": "x"},
                     headers=app_jwt), says="URL path")
    refused(api.get(f"/v1/appusers/{alice.id}/messages?before=1%00", headers=app_jwt),
            says="The query parameter 'before'")
    assert counts() == before
    assert api.get(f"/v1/appusers/{alice.id}", headers=app_jwt).status_code == 200


def test_a_nul_byte_in_a_credential_header_is_refused(api, app, alice):
    refused(api.post("/v1/init", {"device": DEVICE}, headers={"app-token": app.app_token + "\x00"}),
            says="app-token header contains a NUL byte")
    refused(api.get(f"/v1/appusers/{alice.id}", headers={"Authorization": "Bearer a\x00b"}),
            says="authorization header contains a NUL byte")
    assert AppUser.objects.count() == 1


def test_the_dashboard_gets_a_plain_400_for_a_nul_byte(owner_client, app):
    response = owner_client.get(f"/apps/{app.id}/log/?q=a%00b")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"NUL byte" in response.content
    assert owner_client.get(f"/apps/{app.id}/log/?q=ab").status_code == 200


@pytest.mark.parametrize("signed_up_at", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
                                          "10000-01-01T00:00:00Z"])
def test_signed_up_at_out_of_range_is_a_400(api, app, app_jwt, signed_up_at):
    before = counts()
    response = api.post("/v1/appusers", {"userId": "edge", "signedUpAt": signed_up_at}, headers=app_jwt)
    refused(response, says="signedUpAt must be an ISO 8601 time")
    assert counts() == before


@pytest.mark.parametrize("signed_up_at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                          "9999-12-31T22:00:00-01:00"])
def test_signed_up_at_at_the_edges_is_stored(api, app, app_jwt, alice, signed_up_at):
    response = api.put(f"/v1/appusers/{alice.id}", {"signedUpAt": signed_up_at}, headers=app_jwt)
    assert response.status_code == 200, response.content
    assert api.get(f"/v1/appusers/{alice.id}", headers=app_jwt).status_code == 200


def test_signed_up_at_with_an_offset_past_postgresqls_is_stored_in_utc(api, app, app_jwt):
    """RFC 3339 takes offsets to 23:59; PostgreSQL only to 15:59 (a 500
    the fuzzer found): the time is kept in UTC."""
    response = api.post("/v1/appusers", {"userId": "far", "signedUpAt": "0733-08-08T11:16:26.088-16:42"},
                        headers=app_jwt)
    assert response.status_code == 201, response.content
    assert response.data["appUser"]["signedUpAt"] == "0733-08-09T03:58:26.088Z"


# ------------------------------------------------------------------- limits


def test_text_is_at_most_10000_characters(api, app, alice, app_jwt, messages_url):
    before = counts()
    body = {"role": "appMaker", "type": "text", "text": "x" * 10_001}
    refused(api.post(messages_url, body, headers=app_jwt), says="text must be at most 10000 characters")
    assert counts() == before
    body["text"] = "x" * 10_000
    assert api.post(messages_url, body, headers=app_jwt).status_code == 201


def test_a_body_over_256_kb_is_a_413(api, app, alice, app_jwt, messages_url):
    raw = json.dumps({"role": "appMaker", "type": "text", "text": "hi", "pad": "x" * 262_144}).encode()
    refused(post_raw(api, messages_url, raw, app_jwt), 413, "payload_too_large")
    assert Message.objects.count() == 0


def test_an_upload_over_the_json_limit_is_still_accepted(api, app, alice, as_alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = png_bytes() + b"\x00" * 300_000  # trailing bytes after IEND: still a PNG
    source = SimpleUploadedFile("big.png", image, content_type="image/png")
    response = api.post(f"/v1/appusers/{alice.id}/images", {"role": "appUser", "source": source},
                        headers=as_alice, content_type="multipart")
    assert response.status_code == 201, response.content


def test_a_nul_byte_in_an_upload_form_field_is_refused(api, app, alice, as_alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    source = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    response = api.post(f"/v1/appusers/{alice.id}/images", {"role": "appUser", "text": "a\x00b", "source": source},
                        headers=as_alice, content_type="multipart")
    refused(response, says="text contains a NUL byte")
    assert Message.objects.count() == 0 and not list(tmp_path.rglob("*.png"))


def test_message_actions_are_limited(api, app, alice, app_jwt, messages_url):
    action = {"type": "postback", "text": "b", "payload": "p"}
    body = {"role": "appMaker", "type": "text", "text": "hi", "actions": [action] * 21}
    refused(api.post(messages_url, body, headers=app_jwt), says="actions is limited to 20 actions (21 given)")
    item = {"title": "t", "actions": [action] * 4}
    carousel = {"role": "appMaker", "type": "carousel", "items": [item]}
    refused(api.post(messages_url, carousel, headers=app_jwt), says="must hold 1 to 3 actions (4 given)")
    carousel["items"] = [{"title": "t", "actions": [action]}] * 11
    refused(api.post(messages_url, carousel, headers=app_jwt), says="limited to 10 items (11 given)")
    assert Message.objects.count() == 0


def test_properties_are_flat_and_at_most_16_kb(api, app, alice, app_jwt):
    url = f"/v1/appusers/{alice.id}"
    refused(api.put(url, {"properties": {"k": "x" * 16_400}}, headers=app_jwt),
            says="properties must be at most 16384 bytes as JSON")
    refused(api.put(url, {"properties": {"k": {"nested": 1}}}, headers=app_jwt),
            says="properties must be a flat JSON object: properties.k is nested")
    alice.refresh_from_db()
    assert alice.properties in (None, {})
    assert api.put(url, {"properties": {"k": "x" * 16_000}}, headers=app_jwt).status_code == 200


@pytest.mark.parametrize("field, body, says", [
    ("link uri", {"type": "text", "text": "hi",
                  "actions": [{"type": "link", "text": "go", "uri": "javascript:alert(1)"}]},
     "actions[0].uri must be an http, https, tel: or mailto: URI"),
    ("link uri", {"type": "text", "text": "hi",
                  "actions": [{"type": "link", "text": "go", "uri": "data:text/html,<b>x</b>"}]},
     "actions[0].uri must be an http, https, tel: or mailto: URI"),
    ("mediaUrl", {"type": "image", "mediaUrl": "data:image/png;base64,AAAA"}, "mediaUrl must be an http or https URL"),
    ("avatarUrl", {"type": "text", "text": "hi", "avatarUrl": "javascript:alert(1)"},
     "avatarUrl must be an http or https URL"),
    ("item mediaUrl", {"type": "carousel", "items": [
        {"title": "t", "mediaUrl": "file:///etc/passwd", "actions": [{"type": "postback", "text": "b", "payload": "p"}]}]},
     "items[0].mediaUrl must be an http or https URL"),
    ("item link", {"type": "carousel", "items": [
        {"title": "t", "actions": [{"type": "link", "text": "b", "uri": "vbscript:x"}]}]},
     "items[0].actions[0].uri must be an http, https, tel: or mailto: URI"),
])
def test_only_safe_url_schemes_are_taken(api, app, alice, app_jwt, messages_url, field, body, says):
    refused(api.post(messages_url, {"role": "appMaker", **body}, headers=app_jwt), says=says)
    assert Message.objects.count() == 0


@pytest.mark.parametrize("uri", ["tel:+12125552368", "mailto:help@example.org", "HTTPS://example.org/x"])
def test_link_actions_take_tel_and_mailto(api, app, alice, app_jwt, messages_url, uri):
    body = {"role": "appMaker", "type": "text", "text": "hi", "actions": [{"type": "link", "text": "go", "uri": uri}]}
    response = api.post(messages_url, body, headers=app_jwt)
    assert response.status_code == 201, response.content
    assert response.data["message"]["actions"][0]["uri"] == uri


def test_refusals_write_nothing_to_the_log(api, app, alice, app_jwt, messages_url):
    before = LogEntry.objects.count()
    post_raw(api, messages_url, b'{"role":"appMaker","type":"text","text":"\\u0000"}', app_jwt)
    post_raw(api, messages_url, b'{"role":"appMaker","type":"text","text":"hi","metadata":{"n":1e400}}', app_jwt)
    assert LogEntry.objects.count() == before
