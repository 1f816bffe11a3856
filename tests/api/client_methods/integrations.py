"""integrations.* (create, list, get, update, delete) with Telegram's fake
Bot API: v8 with the app key, v3 with the account key (v3 has integrations
at account scope only). Both clients name the app first."""

from messaging.models import Integration
from tests.api.client_methods import case
from tests.support.fake_telegram import TOKEN

BOTH = ("v3", "v8")


def _call(t, client, method, *args):
    return t.call(client, method, t.app.id, *args, as_="account" if client == "v3" else "app")


def _telegram(t, client):
    answer = _call(t, client, "integrations.create", {"type": "telegram", "token": TOKEN})
    assert answer.ok, answer
    return answer.body["integration"]


# The properties the clients require of the types Parley does not connect.
NOT_DONE = {
    "apn": {"certificate": "MIIC..."},
    "fcm": {"serverKey": "AAAA...", "senderId": "1234"},
    "twitter": {"consumerKey": "k", "consumerSecret": "s", "accessTokenKey": "t", "accessTokenSecret": "u"},
    "messagebird": {"accessKey": "live_x", "originator": "+15145550100"},
}


@case(*(f"{c} integrations.create" for c in BOTH))
def create(t, client):
    made = _telegram(t, client)
    stored = Integration.objects.get(id=made["_id"])
    assert (stored.app, stored.type, made["type"]) == (t.app, "telegram", "telegram")
    assert "token" not in made  # a secret is never returned
    assert t.fakes["telegram"].webhook["url"].endswith(f"/integrations/telegram/{stored.id}/webhook")
    refused = _call(t, client, "integrations.create", {"type": "telegram", "token": "987654321:" + "W" * 35})
    assert refused.status == 400 and Integration.objects.filter(app=t.app).count() == 1, refused
    # What Parley deliberately does not connect: 501, naming the alternative.
    # (3.5.0 itself refuses twitter and messagebird, types it does not know.)
    for type_, alternative in (("apn", "Web Messenger"), ("fcm", "Web Messenger"), ("twitter", "messenger"),
                               ("messagebird", "twilio"))[:None if client == "v8" else 2]:
        not_done = _call(t, client, "integrations.create", {"type": type_, **NOT_DONE[type_]})
        assert (not_done.status, not_done.code) == (501, "not_implemented"), not_done
        assert alternative in not_done.body["error"]["description"], not_done
    assert Integration.objects.filter(app=t.app).count() == 1
    # Another team's key is refused before any of it.
    theirs = t.other().call(client, "integrations.create", t.app.id, {"type": "apn", **NOT_DONE["apn"]},
                            as_="account" if client == "v3" else "app")
    assert theirs.status in (401, 403, 404), theirs


@case(*(f"{c} integrations.list" for c in BOTH))
def list_(t, client):
    made = _telegram(t, client)
    listed = _call(t, client, "integrations.list")
    assert listed.ok and [i["_id"] for i in listed.body["integrations"]] == [made["_id"]], listed
    filtered = _call(t, client, "integrations.list", ["twilio"])
    assert filtered.ok and filtered.body["integrations"] == [], filtered


@case(*(f"{c} integrations.get" for c in BOTH))
def get(t, client):
    made = _telegram(t, client)
    answer = _call(t, client, "integrations.get", made["_id"])
    assert answer.ok and answer.body["integration"]["_id"] == made["_id"], answer
    refused = _call(t.other(), client, "integrations.get", made["_id"])
    assert refused.status == 404, refused


@case("v8 integrations.update")
def update(t, client):
    made = _telegram(t, client)
    answer = _call(t, client, "integrations.update", made["_id"], {"displayName": "Tacos bot"})
    assert answer.ok, answer
    assert Integration.objects.get(id=made["_id"]).display_name == "Tacos bot"


@case(*(f"{c} integrations.delete" for c in BOTH))
def delete(t, client):
    made = _telegram(t, client)
    answer = _call(t, client, "integrations.delete", made["_id"])
    assert answer.ok and not Integration.objects.filter(id=made["_id"]).exists(), answer
    assert t.fakes["telegram"].webhook is None  # unregistered at the platform
