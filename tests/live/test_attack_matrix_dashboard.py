"""The attack matrix's dashboard half (issue 19): every page and htmx
endpoint a session reaches (tests/live/test_tenancy.py's "tenant" and
"own" routes, listed from the URL resolver) against no session and against
a forged cross-site POST.

Another team's session on these routes is tests/live/test_tenancy.py's
`test_team_a_gets_404_for_team_bs_objects_on_every_scoped_route`; sockets
(no session, a wrong Origin, another team's app) are its websocket tests.
"""

import pytest
from django.test import Client

from tests.live.test_tenancy import (  # noqa: F401 (team_b is a fixture)
    HX,
    POST_DATA,
    dashboard_routes,
    fill,
    secrets_of_b,
    state_of_b,
    team_b,
)

SESSION_ROUTES = dashboard_routes("tenant") + dashboard_routes("own")


def test_the_matrix_covers_the_session_routes():
    assert len(SESSION_ROUTES) > 50


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_no_session_reaches_nothing(team_b, htmx):  # noqa: F811 (the imported fixture)
    """Without a session every route sends the browser to sign in (or, for
    an htmx request, tells htmx to), shows nothing and changes nothing."""
    client = Client()
    headers = HX if htmx else {}
    before = state_of_b(team_b)
    wrong = []
    for route in SESSION_ROUTES:
        path = fill(route, team_b)
        for method in ("get", "post"):
            call = getattr(client, method)
            response = call(path, POST_DATA, **headers) if method == "post" else call(path, **headers)
            body = response.content.decode(errors="replace")
            leaked = [s for s in secrets_of_b(team_b) if s in body]
            to_login = response.status_code == 302 and response["Location"].startswith("/login/")
            if leaked or not (to_login or response.status_code == 405):
                wrong.append(f"{method.upper()} {path}: {response.status_code} {leaked}")
    assert not wrong, "\n".join(wrong)
    assert state_of_b(team_b) == before


@pytest.mark.django_db
@pytest.mark.parametrize("forgery", ["no token", "wrong origin"])
def test_a_cross_site_post_changes_nothing(team_b, stranger, forgery):  # noqa: F811
    """Team B's own owner, signed in, tricked by another site into posting:
    with no CSRF token, or with a token (say, leaked) from a page of
    another origin, every POST is refused with 403 and nothing changes."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(stranger)
    client.get("/")  # the CSRF cookie
    token = client.cookies["csrftoken"].value
    headers = {"HTTP_ORIGIN": "https://evil.example"} if forgery == "wrong origin" else {}
    data = {**POST_DATA, "csrfmiddlewaretoken": token} if forgery == "wrong origin" else POST_DATA
    before = state_of_b(team_b)
    wrong = []
    for route in SESSION_ROUTES:
        path = fill(route, team_b)
        response = client.post(path, data, **headers)
        if response.status_code not in (403, 405):
            wrong.append(f"POST {path}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert state_of_b(team_b) == before
    # The same session with a real token and its own origin gets through
    # (so the refusals above are the CSRF check's, not a broken client).
    renamed = client.post(f"/apps/{team_b['app_id']}/settings/name/", {"name": "Renamed", "csrfmiddlewaretoken": token},
                          HTTP_ORIGIN="http://testserver")
    assert renamed.status_code in (200, 302), renamed.status_code
