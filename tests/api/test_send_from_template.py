"""POST /messages with `{"role": "appMaker", "type": "template",
"templateId": ...}` (a Parley extension, in the OpenAPI document): the
app's stored template (v1.1 `templates`, the dashboard's canned replies)
is sent as any business message; a template the app does not have is a
404, a body that is not one is a 400, and nothing is stored."""

import pytest

from messaging.models import Delivery, Message
from messaging.services import authors, templates
from tests.api.conftest import add_client, error_of


def url(app_user):
    return f"/v1/appusers/{app_user.id}/messages"


@pytest.fixture
def menu(app):
    return templates.create_template(app, name="Menu", message={
        "type": "text", "text": "Pick one", "actions": [{"type": "reply", "text": "Tacos", "payload": "TACOS"}]})


def test_it_sends_the_templates_message_through_the_normal_path(api, app, app_jwt, alice, menu):
    response = api.post(url(alice), {"role": "appMaker", "type": "template", "templateId": menu.id,
                                     "name": "Ana", "metadata": {"ticket": "42"}}, headers=app_jwt)
    assert response.status_code == 201, response.content
    message = response.data["message"]
    assert (message["type"], message["text"], message["name"]) == ("text", "Pick one", "Ana")
    assert [(a["type"], a["text"], a["payload"]) for a in message["actions"]] == [("reply", "Tacos", "TACOS")]
    assert message["metadata"] == {"ticket": "42"} and message["role"] == "appMaker"
    assert message["authorId"] == authors.for_key(app.test_key).id
    stored = Message.objects.get(pk=message["_id"])
    assert stored.text == "Pick one" and Delivery.objects.filter(message=stored).exists()
    assert response.data["conversation"]["unreadCount"] == 1


def test_a_destination_given_with_it_is_honoured(api, app_jwt, alice, menu):
    add_client(alice, "telegram")
    response = api.post(url(alice), {"role": "appMaker", "type": "template", "templateId": menu.id,
                                     "destination": {"integrationType": "telegram"}}, headers=app_jwt)
    assert response.status_code == 201, response.content
    stored = Message.objects.get(pk=response.data["message"]["_id"])
    assert [(d.client.platform, d.purpose) for d in stored.deliveries.all()] == [("telegram", "destination")]
    refused = api.post(url(alice), {"role": "appMaker", "type": "template", "templateId": menu.id,
                                    "destination": {"integrationType": "line"}}, headers=app_jwt)
    assert error_of(refused)[:2] == (400, "bad_request")
    assert Message.objects.count() == 1


def test_an_unknown_or_another_apps_template_is_a_404_and_stores_nothing(api, app_jwt, alice, other_app):
    theirs = templates.create_template(other_app, name="Theirs", message={"type": "text", "text": "secret"})
    for template_id in (theirs.id, "5963c0d619a30a2e00de36b8"):
        response = api.post(url(alice), {"role": "appMaker", "type": "template", "templateId": template_id},
                            headers=app_jwt)
        status, code, text = error_of(response)
        assert (status, code) == (404, "not_found") and template_id in text
    assert not Message.objects.exists()


@pytest.mark.parametrize("body, description", [
    ({"role": "appMaker", "type": "template"}, "templateId is required."),
    ({"role": "appMaker", "type": "template", "templateId": " "}, "templateId must not be empty."),
    ({"role": "appMaker", "type": "template", "templateId": 5}, "templateId must be a string."),
    ({"role": "appMaker", "type": "template", "templateId": "x", "text": "mine"},
     "a template message takes role, type, templateId and name, email, avatarUrl, metadata, destination"),
    ({"role": "appMaker", "type": "template", "templateId": "x", "name": 5}, "name must be a string"),
])
def test_a_body_that_is_not_a_template_message_is_a_400(api, app_jwt, alice, menu, body, description):
    status, code, text = error_of(api.post(url(alice), body, headers=app_jwt))
    assert (status, code) == (400, "bad_request") and description in text, text
    assert not Message.objects.exists()


def test_only_the_business_sends_templates(api, alice, menu, as_alice):
    body = {"role": "appUser", "type": "template", "templateId": menu.id}
    status, _, text = error_of(api.post(url(alice), body, headers=as_alice))
    assert status == 400 and "appMaker role" in text
    status, _, _ = error_of(api.post(url(alice), {**body, "role": "appMaker"}, headers=as_alice))
    assert status == 403
    assert not Message.objects.exists()
