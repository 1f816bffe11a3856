"""Rows written before the input checks (or imported) never take a page
down: a lone surrogate in JSON fields (what SQLite keeps, escaped, and gives
back as an unencodable string), and a 1.5 MB message. Written straight with
the ORM, as such rows were."""

import pytest
from django.db import DataError, connection, transaction

from messaging.models import AppUser, LogEntry, Message
from messaging.services.messages import post_message
from tests.api.conftest import bearer, make_jwt
from tests.support.ws import make_client, make_user

HX = {"HTTP_HX_REQUEST": "true"}
BAD = "bad \udfff here"


def pages(app, user):
    return [
        f"/apps/{app.id}/users/",
        f"/apps/{app.id}/users/{user.id}/",
        f"/apps/{app.id}/users/{user.id}/messages/",
        f"/apps/{app.id}/log/",
        f"/apps/{app.id}/log/?user={user.id}",
        f"/apps/{app.id}/overview/",
    ]


def assert_pages_render(owner_client, app, user):
    for path in pages(app, user):
        for headers in ({}, HX):
            response = owner_client.get(path, **headers)
            assert response.status_code == 200, (path, headers)


@pytest.fixture
def user_with_message(app):
    user = make_user(app, "bad-rows")
    make_client(user, "web")
    message = post_message(user, role="appUser", fields={"type": "text", "text": "hi"}, source={"type": "web"})
    return user, message


@pytest.mark.smoke
@pytest.mark.django_db
def test_a_lone_surrogate_in_stored_json_renders_on_every_page(owner_client, app, user_with_message):
    user, message = user_with_message
    if connection.vendor != "sqlite":
        # PostgreSQL's jsonb refuses it: there such a row cannot exist (the
        # API refuses the request with a 400 instead, tests/api/test_input_limits.py).
        with pytest.raises(DataError), transaction.atomic():
            LogEntry.objects.create(app=app, kind="message:appUser", summary="s", detail={"k": BAD})
        return
    Message.objects.filter(pk=message.pk).update(
        metadata={"k": BAD, BAD: 1},
        actions=[{"_id": "a1", "type": "link", "text": BAD, "uri": "https://example.org"}],
    )
    AppUser.objects.filter(pk=user.pk).update(properties={"k": BAD})
    LogEntry.objects.create(app=app, app_user=user, kind="message:appUser", summary="stored before",
                            detail={"message": {"_id": message.id, "metadata": {"k": BAD}}, BAD: BAD})
    assert_pages_render(owner_client, app, user)
    log = owner_client.get(f"/apps/{app.id}/log/").content.decode()
    assert "bad \ufffd here" in log
    # The API still answers with the row (JSON escapes the surrogate).
    headers = bearer(make_jwt(app.test_key.key_id, app.test_secret, "app"))
    response = owner_client.get(f"/v1/appusers/{user.id}/messages", headers=headers)
    assert response.status_code == 200
    assert "\\udfff" in response.content.decode()


@pytest.mark.django_db
def test_a_1_5_mb_message_renders_on_every_page(owner_client, app, user_with_message):
    user, message = user_with_message
    Message.objects.filter(pk=message.pk).update(metadata={"k": "m" * 1_500_000}, text="t" * 1_500_000)
    LogEntry.objects.create(app=app, app_user=user, kind="message:appUser", summary="big",
                            detail={"message": {"_id": message.id, "metadata": {"k": "m" * 1_500_000}}})
    for path, headers in ((f"/apps/{app.id}/users/{user.id}/", {}),
                          (f"/apps/{app.id}/users/{user.id}/messages/", HX), (f"/apps/{app.id}/log/", {})):
        assert owner_client.get(path, **headers).status_code == 200, (path, headers)
