"""HTML and script in message text, names and metadata are shown as text
everywhere in the live dashboard, and never become clickable script URLs."""

import pytest

from messaging.validators import validate_message
from messaging.services.messages import post_message
from tests.support.ws import make_client, make_user

EVIL = [
    '<script>alert("name")</script>',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(2)>",
    "<b>uid</b>",
    '<script>alert("meta")</script>',
    "<iframe src=//evil.example>",
]


@pytest.fixture
def evil_user(app):
    user = make_user(app, "<b>uid</b>", given_name='<script>alert("name")</script>', email="e@example.org")
    make_client(user, "web")
    post_message(user, role="appUser", fields={
        "type": "text", "text": "<img src=x onerror=alert(1)>", "metadata": {"k": '<script>alert("meta")</script>'},
    }, source={"type": "web"})
    fields = validate_message({
        "type": "text", "text": "<iframe src=//evil.example>", "name": "<svg onload=alert(2)>",
        "actions": [{"type": "link", "text": "<b>click</b>", "uri": "https://example.org"}],
    }, role="appMaker", app_user=user)
    # The API refuses javascript: now; a row stored before must still render inert.
    fields["actions"][0]["uri"] = "javascript:alert(3)"
    post_message(user, role="appMaker", fields=fields)
    return user


@pytest.mark.smoke
@pytest.mark.django_db
def test_every_live_page_escapes_user_content(owner_client, app, evil_user):
    pages = [
        f"/apps/{app.id}/users/",
        f"/apps/{app.id}/users/?q=uid",
        f"/apps/{app.id}/users/{evil_user.id}/",
        f"/apps/{app.id}/users/{evil_user.id}/messages/",
        f"/apps/{app.id}/log/",
        f"/apps/{app.id}/log/?user={evil_user.id}",
        f"/apps/{app.id}/log/?q=%3Cb%3Euid%3C%2Fb%3E",
        f"/apps/{app.id}/overview/",
    ]
    for path in pages:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = owner_client.get(path, **headers)
            assert response.status_code == 200, path
            body = response.content.decode()
            for raw in EVIL:
                assert raw not in body, (path, raw)
            # Shown as text (JSON, code) at most; never a link or a source.
            assert 'href="javascript' not in body and 'src="javascript' not in body, path
    conversation = owner_client.get(f"/apps/{app.id}/users/{evil_user.id}/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in conversation
    assert "&lt;svg onload=alert(2)&gt;" in conversation
    log = owner_client.get(f"/apps/{app.id}/log/").content.decode()
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in log
