"""Sign-in, password reset and sign-up are rate limited per client address
(PARLEY_RATE_SIGN_IN, _PASSWORD_RESET, _SIGN_UP): past the limit a plain
429 page with Retry-After, and the form is not processed."""

import pytest

from messaging.models import User
from tests.support.cast import PASSWORD

SMALL = "3/1d"  # a day-long window cannot end in the middle of a test


def assert_plain_429(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many tries" in response.content.decode()


def test_sign_in_is_limited_per_address(client, settings, owner):
    settings.PARLEY_RATE_SIGN_IN = SMALL
    for _ in range(3):
        response = client.post("/login/", {"username": owner.email, "password": "wrong"}, REMOTE_ADDR="192.0.2.1")
        assert response.status_code != 429
    # Even the right password is not tried past the limit.
    response = client.post("/login/", {"username": owner.email, "password": PASSWORD}, REMOTE_ADDR="192.0.2.1")
    assert_plain_429(response)
    assert "_auth_user_id" not in client.session
    # The form itself (a GET) and another address are unaffected.
    assert client.get("/login/", REMOTE_ADDR="192.0.2.1").status_code == 200
    response = client.post("/login/", {"username": owner.email, "password": PASSWORD}, REMOTE_ADDR="192.0.2.2")
    assert response.status_code == 302


def test_password_reset_is_limited_per_address(client, settings, owner, mailoutbox):
    settings.PARLEY_RATE_PASSWORD_RESET = SMALL
    for _ in range(3):
        assert client.post("/password-reset/", {"email": owner.email}, REMOTE_ADDR="192.0.2.1").status_code == 302
    assert len(mailoutbox) == 3
    assert_plain_429(client.post("/password-reset/", {"email": owner.email}, REMOTE_ADDR="192.0.2.1"))
    assert len(mailoutbox) == 3


@pytest.mark.django_db
def test_sign_up_is_limited_per_address(client, settings):
    settings.PARLEY_RATE_SIGN_UP = SMALL

    def sign_up(n):
        return client.post("/signup/", {"email": f"new{n}@c.example", "team_name": f"Team {n}",
                                        "password1": "a-long-pass-phrase-9", "password2": "mismatch"},
                           REMOTE_ADDR="192.0.2.1")

    for n in range(3):
        assert sign_up(n).status_code != 429
    response = client.post("/signup/", {"email": "late@c.example", "team_name": "Late",
                                        "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
                           REMOTE_ADDR="192.0.2.1")
    assert_plain_429(response)
    assert not User.objects.filter(email="late@c.example").exists()
