"""The v1.1 `templates` API (smooch-core 8.11.4's templates.*): an app's
message templates over HTTP, the same objects as the dashboard's canned
replies; every bad body is a 400 that changes nothing."""

import pytest

from messaging.models import MessageTemplate
from messaging.services import templates
from tests.api.conftest import error_of

MESSAGE = {"type": "text", "text": "We open at 9.", "actions": [{"type": "reply", "text": "Thanks",
                                                                  "payload": "THANKS"}]}


def url(app, template_id=None, *, account=False):
    base = f"/v1.1/apps/{app.id}/templates" if account else "/v1.1/templates"
    return base + (f"/{template_id}" if template_id else "")


def test_it_creates_lists_gets_updates_and_deletes_a_template(api, app_jwt, app):
    created = api.post(url(app), {"name": "Opening hours", "message": MESSAGE}, headers=app_jwt)
    assert created.status_code == 201, created.content
    template = created.data["template"]
    assert (template["name"], template["message"]) == ("Opening hours", MESSAGE)
    assert set(template) == {"_id", "name", "message", "createdAt", "updatedAt"}
    # The dashboard's canned replies are these very objects.
    assert [t.id for t in templates.list_templates(app)] == [template["_id"]]

    listed = api.get(url(app), headers=app_jwt)
    assert listed.data == {"templates": [template], "hasMore": False}
    assert api.get(url(app, template["_id"]), headers=app_jwt).data == {"template": template}

    updated = api.put(url(app, template["_id"]), {"name": "Hours"}, headers=app_jwt)
    assert updated.status_code == 200 and updated.data["template"]["name"] == "Hours"
    assert updated.data["template"]["message"] == MESSAGE
    assert api.delete(url(app, template["_id"]), headers=app_jwt).data == {}
    assert not MessageTemplate.objects.filter(app=app).exists()
    assert error_of(api.get(url(app, template["_id"]), headers=app_jwt))[:2] == (404, "not_found")


def test_it_pages_by_name(api, app_jwt, app):
    for name in ("c", "a", "b"):
        templates.create_template(app, name=name, message={"type": "text", "text": name})
    first = api.get(url(app) + "?limit=2", headers=app_jwt).data
    second = api.get(url(app) + "?limit=2&offset=2", headers=app_jwt).data
    assert ([t["name"] for t in first["templates"]], first["hasMore"]) == (["a", "b"], True)
    assert ([t["name"] for t in second["templates"]], second["hasMore"]) == (["c"], False)


def test_an_account_key_reaches_its_apps_templates(api, account_jwt, app):
    created = api.post(url(app, account=True), {"name": "Hi", "message": {"type": "text", "text": "Hi"}},
                       headers=account_jwt)
    assert created.status_code == 201, created.content
    assert api.get(url(app, account=True), headers=account_jwt).data["templates"][0]["name"] == "Hi"


@pytest.mark.parametrize("body,description", [
    ({}, "name is required."),
    ({"name": "x"}, "message is required."),
    ({"name": "", "message": MESSAGE}, "name must be a non-empty string."),
    ({"name": "x", "message": "hello"}, "message must be a message object (type, text, actions...)."),
    ({"name": "x", "message": MESSAGE, "extra": 1}, "extra is not a property of a template (name, message)."),
    ({"name": "x", "message": {"type": "text"}}, "message: text is required for a text message"),
    ({"name": "x" * 129, "message": MESSAGE}, "name must be at most 128 characters."),
])
def test_a_bad_template_is_refused_and_nothing_is_stored(api, app_jwt, app, body, description):
    status, code, text = error_of(api.post(url(app), body, headers=app_jwt))
    assert (status, code) == (400, "bad_request"), text
    assert description in text, text
    assert not MessageTemplate.objects.filter(app=app).exists()


def test_names_are_unique_per_app_and_an_update_needs_something(api, app_jwt, app):
    template = templates.create_template(app, name="Hours", message={"type": "text", "text": "9"})
    assert error_of(api.post(url(app), {"name": "Hours", "message": MESSAGE}, headers=app_jwt))[:2] == (
        409, "conflict")
    status, code, text = error_of(api.put(url(app, template.id), {}, headers=app_jwt))
    assert (status, text) == (400, "Give name or message to update.")


def test_another_apps_template_is_a_404(api, app_jwt, app, other_app):
    theirs = templates.create_template(other_app, name="B only", message={"type": "text", "text": "secret B"})
    for call in (api.get, api.delete):
        assert error_of(call(url(app, theirs.id), headers=app_jwt))[:2] == (404, "not_found")
    assert error_of(api.put(url(app, theirs.id), {"name": "mine"}, headers=app_jwt))[:2] == (404, "not_found")
    assert "secret B" not in str(api.get(url(app), headers=app_jwt).content)
    assert MessageTemplate.objects.get(pk=theirs.pk).name == "B only"
