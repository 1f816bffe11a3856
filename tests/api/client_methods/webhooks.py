"""webhooks.*: create, list, get, update, delete (both clients)."""

from messaging.models import Webhook
from tests.api.client_methods import case

BOTH = ("v3", "v8")


def _create(t, client, **props):
    answer = t.call(client, "webhooks.create", {"target": "https://hooks.example/in", **props})
    assert answer.ok, answer
    return answer.body["webhook"]


@case(*(f"{c} webhooks.create" for c in BOTH))
def create(t, client):
    made = _create(t, client, triggers=["message:appUser", "delivery:failure"])
    stored = Webhook.objects.get(app=t.app)
    assert made["_id"] == stored.id and made["secret"] == stored.secret
    assert stored.triggers == ["message:appUser", "delivery:failure"]
    refused = t.call(client, "webhooks.create", {"target": "https://hooks.example/in", "triggers": ["no:such"]})
    assert (refused.status, refused.code) == (400, "bad_request"), refused
    assert Webhook.objects.filter(app=t.app).count() == 1


@case(*(f"{c} webhooks.list" for c in BOTH))
def list_(t, client):
    made = _create(t, client)
    _create(t.other(), client)  # another team's webhook is never listed
    answer = t.call(client, "webhooks.list")
    assert answer.ok and [w["_id"] for w in answer.body["webhooks"]] == [made["_id"]], answer


@case(*(f"{c} webhooks.get" for c in BOTH))
def get(t, client):
    made = _create(t, client)
    answer = t.call(client, "webhooks.get", made["_id"])
    assert answer.ok and answer.body["webhook"] == made, answer
    theirs = _create(t.other(), client)
    refused = t.call(client, "webhooks.get", theirs["_id"])
    assert (refused.status, refused.code) == (404, "not_found"), refused


@case(*(f"{c} webhooks.update" for c in BOTH))
def update(t, client):
    made = _create(t, client)
    answer = t.call(client, "webhooks.update", made["_id"], {"triggers": ["conversation:read"]})
    assert answer.ok and answer.body["webhook"]["triggers"] == ["conversation:read"], answer
    assert Webhook.objects.get(id=made["_id"]).triggers == ["conversation:read"]


@case(*(f"{c} webhooks.delete" for c in BOTH))
def delete(t, client):
    made = _create(t, client)
    answer = t.call(client, "webhooks.delete", made["_id"])
    assert answer.ok, answer
    assert not Webhook.objects.filter(id=made["_id"]).exists()
