"""The public demo page: /demo/<app_id>/."""

import json
import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_it_embeds_the_widget_for_the_app(client, app):
    response = client.get(f"/demo/{app.id}/")  # public: nobody logged in
    assert response.status_code == 200
    body = response.content.decode()
    assert '<script src="/static/parley/messenger.js"></script>' in body
    config = re.search(r'<script id="parley-demo-config" type="application/json">(.*?)</script>', body)
    assert json.loads(config.group(1)) == {"appToken": app.app_token}
    assert f"<h1>{app.name}</h1>" in body


@pytest.mark.smoke
def test_the_widget_script_is_served(client):
    response = client.get("/static/parley/messenger.js")
    assert response.status_code == 200
    script = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"window.Smooch = Parley" in script
    # Data only ever reaches the page through textContent and checked attributes.
    assert not re.search(rb"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|eval\(", script)


def test_it_is_404_for_an_unknown_app(client):
    assert client.get("/demo/nosuchapp/").status_code == 404


def test_it_shows_the_branded_name_escaped(client, app):
    app.settings = {"widget": {"name": "<b>Acme</b> & co"}}
    app.save()
    body = client.get(f"/demo/{app.id}/").content.decode()
    assert "<h1>&lt;b&gt;Acme&lt;/b&gt; &amp; co</h1>" in body
    assert "<b>Acme</b>" not in body
