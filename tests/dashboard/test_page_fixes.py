"""Fixes of issue 15 a user meets over HTTP: a password's strength errors
under the password field, the favicon, typing hidden in the Log by
default, and a manual user's email checked."""

import pytest

from messaging.events import emit
from messaging.models import AppUser
from tests.support.ws import make_user

pytestmark = pytest.mark.django_db


def test_a_too_common_password_is_reported_under_the_password_field(client):
    response = client.post("/signup/", {
        "email": "ada@example.com", "name": "Ada", "team_name": "Acme",
        "password1": "password", "password2": "password",
    })
    form = response.context["form"]
    assert "This password is too common." in form.errors["password1"]
    assert "password2" not in form.errors


def test_a_reset_password_too_common_is_reported_under_the_new_password(client, owner):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    token = default_token_generator.make_token(owner)
    form_url = client.get(f"/reset/{uid}/{token}/", follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "password", "new_password2": "password"})
    form = response.context["form"]
    assert "This password is too common." in form.errors["new_password1"]
    assert "new_password2" not in form.errors


def test_every_page_links_the_favicon_and_it_is_served(client):
    body = client.get("/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)


def test_the_log_hides_typing_unless_the_kind_filter_asks(owner_client, app):
    alice = make_user(app, "alice")
    emit("typing:appUser", app=app, app_user=alice, summary="Alice is typing", detail={"state": "start"})
    emit("conversation:start", app=app, app_user=alice, summary="Alice started", detail={})

    default = owner_client.get(f"/apps/{app.id}/log/").content.decode()
    assert "Alice started" in default and "Alice is typing" not in default
    assert '<option value="" selected>All but typing</option>' in default

    for kind in ("all", "typing:appUser"):
        shown = owner_client.get(f"/apps/{app.id}/log/?kind={kind}").content.decode()
        assert "Alice is typing" in shown, kind
    only_typing = owner_client.get(f"/apps/{app.id}/log/?kind=typing:appUser").content.decode()
    assert "Alice started" not in only_typing
    # The live catch-up (?after=) follows the same default.
    after = owner_client.get(f"/apps/{app.id}/log/?after=0", headers={"HX-Request": "true"}).content.decode()
    assert "Alice started" in after and "Alice is typing" not in after


def test_manual_user_creation_refuses_an_email_that_is_not_one(owner_client, app):
    response = owner_client.post(f"/apps/{app.id}/users/new/", {"user_id": "u-nope", "email": "nope"})
    assert response.status_code == 422
    assert "Enter an email address such as ada@example.com." in response.content.decode()
    assert not AppUser.objects.filter(app=app, user_id="u-nope").exists()
    ok = owner_client.post(f"/apps/{app.id}/users/new/", {"user_id": "u-ada", "email": "ada@example.com"})
    assert ok.status_code in (200, 302)
    assert AppUser.objects.get(app=app, user_id="u-ada").email == "ada@example.com"
