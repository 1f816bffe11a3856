"""CORS: any origin may call the API with its headers (no cookies); the
dashboard gets no CORS headers."""

import pytest


@pytest.mark.smoke
def test_it_answers_a_preflight(api):
    response = api.options("/v1/appusers/x/messages", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, app-token"})
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "app-token"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response


def test_it_answers_preflights_on_v1_1_and_unknown_paths(api):
    for path in ("/v1.1/init", "/v1/whatever"):
        response = api.options(path, headers={"Origin": "https://a.example", "Access-Control-Request-Method": "PUT"})
        assert response.status_code == 204 and response["Access-Control-Allow-Origin"] == "*"


def test_it_adds_headers_to_responses_and_errors(api, app_token, alice):
    ok = api.get(f"/v1/appusers/{alice.id}", headers={**app_token, "Origin": "https://a.example"})
    denied = api.get(f"/v1/appusers/{alice.id}", headers={"Origin": "https://a.example"})
    for response in (ok, denied):
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "retry-after" in response["Access-Control-Expose-Headers"]
    assert denied.status_code == 401


def test_it_leaves_the_dashboard_same_origin(api):
    response = api.client.get("/login/", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in response
