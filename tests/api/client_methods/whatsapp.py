"""integrations.messageTemplates.* and integrations.profile.* (smooch-core
8) on a WhatsApp integration, against the fake Cloud API: what Meta
received and holds, and another app's key refused (404)."""

import tempfile
from pathlib import Path

from tests.api.client_methods import case
from tests.api.client_methods.appusers import _png
from tests.api.test_integrations_whatsapp import PROPS

TEMPLATE = {"name": "order_ready", "category": "UTILITY", "language": "en_US",
            "components": [{"type": "BODY", "text": "Hi {{1}}, your order is ready."}]}


def _number(t):
    answer = t.call("v8", "integrations.create", t.app.id, PROPS)
    assert answer.ok, answer
    return answer.body["integration"]["_id"]


@case("v8 integrations.messageTemplates.create")
def create_template(t, client):
    number = _number(t)
    answer = t.call(client, "integrations.messageTemplates.create", number, TEMPLATE)
    assert answer.ok and answer.body["messageTemplate"]["status"] == "PENDING", answer
    held = t.fakes["whatsapp"].templates
    assert [(x["name"], x["id"]) for x in held] == [("order_ready", answer.body["messageTemplate"]["id"])]
    refused = t.other().call(client, "integrations.messageTemplates.create", number, {**TEMPLATE, "name": "x"})
    assert refused.status == 404 and len(held) == 1, refused
    bad = t.call(client, "integrations.messageTemplates.create", number, {**TEMPLATE, "category": "NEWS"})
    assert bad.status == 400 and len(held) == 1, bad


@case("v8 integrations.messageTemplates.list")
def list_templates(t, client):
    number = _number(t)
    for name in ("first", "second"):
        assert t.call(client, "integrations.messageTemplates.create", number, {**TEMPLATE, "name": name}).ok
    answer = t.call(client, "integrations.messageTemplates.list", number, {"limit": 1})
    assert answer.ok and [x["name"] for x in answer.body["messageTemplates"]] == ["first"], answer
    rest = t.call(client, "integrations.messageTemplates.list", number, {"limit": 1, "after": answer.body["after"]})
    assert [x["name"] for x in rest.body["messageTemplates"]] == ["second"], rest
    refused = t.other().call(client, "integrations.messageTemplates.list", number)
    assert refused.status == 404, refused


@case("v8 integrations.messageTemplates.delete")
def delete_template(t, client):
    number = _number(t)
    assert t.call(client, "integrations.messageTemplates.create", number, TEMPLATE).ok
    refused = t.other().call(client, "integrations.messageTemplates.delete", number, "order_ready")
    assert refused.status == 404 and len(t.fakes["whatsapp"].templates) == 1, refused
    answer = t.call(client, "integrations.messageTemplates.delete", number, "order_ready")
    assert answer.ok and t.fakes["whatsapp"].templates == [], answer


@case("v8 integrations.profile.get")
def get_profile(t, client):
    number = _number(t)
    answer = t.call(client, "integrations.profile.get", number)
    assert answer.ok and answer.body["profile"]["about"] == t.fakes["whatsapp"].profile["about"], answer
    refused = t.other().call(client, "integrations.profile.get", number)
    assert refused.status == 404, refused


@case("v8 integrations.profile.update")
def update_profile(t, client):
    number = _number(t)
    answer = t.call(client, "integrations.profile.update", number, {"about": "Open late", "vertical": "RESTAURANT"})
    assert answer.ok and t.fakes["whatsapp"].profile["about"] == "Open late", answer
    refused = t.other().call(client, "integrations.profile.update", number, {"about": "Mine"})
    assert refused.status == 404 and t.fakes["whatsapp"].profile["about"] == "Open late", refused


@case("v8 integrations.profile.photo.upload")
def upload_photo(t, client):
    number = _number(t)
    with tempfile.TemporaryDirectory() as tmp:
        png = _png(Path(tmp))
        answer = t.call(client, "integrations.profile.photo.upload", number, {"$file": png})
        assert answer.ok, answer
        fake = t.fakes["whatsapp"]
        assert list(fake.uploads.values()) == [Path(png).read_bytes()]
        assert fake.profile["profile_picture_url"].startswith(fake.url)
        refused = t.other().call(client, "integrations.profile.photo.upload", number, {"$file": png})
        assert refused.status == 404 and len(fake.uploads) == 1, refused
