"""templates.* (smooch-core 8: the v1.1 templates, Parley's canned replies)."""

from messaging.models import MessageTemplate
from tests.api.client_methods import case

MESSAGE = {"type": "text", "text": "We open at 9."}


def _template(t, name="Opening hours"):
    answer = t.call("v8", "templates.create", {"name": name, "message": MESSAGE})
    assert answer.ok, answer
    return answer.body["template"]


@case("v8 templates.create")
def create(t, client):
    made = _template(t)
    stored = MessageTemplate.objects.get(id=made["_id"])
    assert (stored.app, stored.name, made["message"]["text"]) == (t.app, "Opening hours", "We open at 9.")
    duplicate = t.call(client, "templates.create", {"name": "Opening hours", "message": MESSAGE})
    assert duplicate.status in (400, 409) and MessageTemplate.objects.filter(app=t.app).count() == 1, duplicate


@case("v8 templates.list")
def list_(t, client):
    first, second = _template(t, "A"), _template(t, "B")
    listed = t.call(client, "templates.list")
    assert listed.ok and {x["_id"] for x in listed.body["templates"]} == {first["_id"], second["_id"]}, listed
    page = t.call(client, "templates.list", {"limit": 1})
    assert len(page.body["templates"]) == 1, page


@case("v8 templates.get")
def get(t, client):
    made = _template(t)
    answer = t.call(client, "templates.get", made["_id"])
    assert answer.ok and answer.body["template"] == made, answer
    refused = t.other().call(client, "templates.get", made["_id"])
    assert refused.status == 404, refused


@case("v8 templates.update")
def update(t, client):
    made = _template(t)
    answer = t.call(client, "templates.update", made["_id"], {"name": "Hours"})
    assert answer.ok and MessageTemplate.objects.get(id=made["_id"]).name == "Hours", answer


@case("v8 templates.delete")
def delete(t, client):
    made = _template(t)
    answer = t.call(client, "templates.delete", made["_id"])
    assert answer.ok and not MessageTemplate.objects.filter(id=made["_id"]).exists(), answer
