from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.api.conftest import add_client


def test_probe(api, app_jwt, alice):
    add_client(alice, "web", external_id="second")
    api.post(f"/v1/appusers/{alice.id}/messages", {"type": "text", "text": "warm", "role": "appMaker"}, headers=app_jwt)
    with CaptureQueriesContext(connection) as q:
        r = api.post(f"/v1/appusers/{alice.id}/messages", {"type": "text", "text": "x", "role": "appMaker"}, headers=app_jwt)
    assert r.status_code == 201
    for i, query in enumerate(q.captured_queries):
        print(i, query["sql"][:300])
