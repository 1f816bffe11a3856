"""attachments.* (smooch-core 8: v1.1 attachments): a file uploaded through
the client is served back at its mediaUrl with the type its content says;
removed, its URL answers 404; another app's key can remove nothing."""

import tempfile
from pathlib import Path

import requests

from tests.api.client_methods import case

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _upload(t, props, content=PDF, name="menu.txt", **kwargs):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name  # the name says text: the content decides
        path.write_bytes(content)
        return t.call("v8", "attachments.create", props, {"$file": str(path)}, **kwargs)


@case("v8 attachments.create")
def create(t, client):
    answer = _upload(t, "public")
    assert answer.ok and answer.body["mediaType"] == "application/pdf", answer
    served = requests.get(answer.body["mediaUrl"], timeout=10)
    assert served.status_code == 200 and served.content == PDF
    user = t.user("ria")
    mine = _upload(t, {"access": "private", "for": "message", "appUserId": user.id})
    assert mine.ok and f"/uploads/{t.app.id}/{user.id}/private/" in mine.body["mediaUrl"], mine
    assert requests.get(mine.body["mediaUrl"], timeout=10).content == PDF
    assert requests.get(mine.body["mediaUrl"].split("?")[0], timeout=10).status_code == 404
    account = t.call(client, "attachments.create", t.app.id, "public", {"$file": __file__}, as_="account")
    assert account.status == 400 and account.code == "bad_request", account  # a .py file is no attachment
    other = t.other()
    theirs = _upload(other, {"access": "public", "for": "message", "appUserId": user.id})
    assert theirs.status == 404, theirs


@case("v8 attachments.delete")
def delete(t, client):
    url = _upload(t, "public").body["mediaUrl"]
    refused = t.other().call(client, "attachments.delete", url)
    assert refused.status == 404 and requests.get(url, timeout=10).status_code == 200, refused
    answer = t.call(client, "attachments.delete", url)
    assert answer.ok, answer
    assert requests.get(url, timeout=10).status_code == 404
