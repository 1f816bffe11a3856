"""Sign up, log in, log out and password reset."""

import re

import pytest
from django.contrib.auth import SESSION_KEY

from messaging.models import Membership, Role, Team, User
from tests.support.cast import PASSWORD

SIGN_UP = {
    "email": "New@Example.com",
    "name": "Ada",
    "team_name": "Acme support",
    "password1": "a long enough passphrase",
    "password2": "a long enough passphrase",
}


@pytest.mark.smoke
@pytest.mark.django_db
def test_it_shows_the_login_page_with_labelled_inputs(client):
    page = client.get("/login/")
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<input[^>]+name="username"', html)
    assert re.search(r'<input[^>]+name="password"', html)
    assert re.search(r'<label for="id_username">', html)
    assert 'href="/password-reset/"' in html and 'href="/signup/"' in html


@pytest.mark.smoke
@pytest.mark.django_db
def test_it_signs_up_a_user_with_their_team_and_logs_them_in(client):
    response = client.post("/signup/", SIGN_UP, follow=True)
    assert response.redirect_chain[-1] == ("/", 302)
    user = User.objects.get()
    assert user.email == "new@example.com" and user.name == "Ada"
    assert user.check_password("a long enough passphrase")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.team.name == "Acme support"
    assert int(client.session[SESSION_KEY]) == user.pk
    assert "Acme support" in response.content.decode()


@pytest.mark.smoke
@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"password2": "something else entirely"}, "password2", "didn’t match"),
        # Strength errors sit under the password itself (issue 15).
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"team_name": "   "}, "team_name", "required"),
    ],
)
def test_it_shows_sign_up_errors_and_creates_nothing(client, change, field, message):
    response = client.post("/signup/", {**SIGN_UP, **change})
    assert response.status_code == 422
    assert message in str(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not User.objects.exists() and not Team.objects.exists()
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_it_refuses_a_second_account_for_the_same_email(client, owner):
    response = client.post("/signup/", {**SIGN_UP, "email": "OWNER@a.example"})
    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 1 and Team.objects.count() == 1


@pytest.mark.django_db
def test_it_logs_in_with_email_and_password_and_logs_out(client, owner):
    response = client.post("/login/", {"username": "Owner@A.example", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert int(client.session[SESSION_KEY]) == owner.pk
    assert client.get("/").status_code == 200

    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert SESSION_KEY not in client.session
    assert client.get("/")["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_it_rejects_a_wrong_password(client, owner):
    response = client.post("/login/", {"username": owner.email, "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct" in response.content.decode().lower()
    assert SESSION_KEY not in client.session


def sign_in(client, email, password, address="203.0.113.7"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


@pytest.mark.smoke
@pytest.mark.django_db
def test_it_locks_an_account_out_after_repeated_failures(client, owner, admin):
    for _ in range(5):
        assert "enter a correct" in sign_in(client, owner.email, "wrong").content.decode().lower()
    # Now even the right password is refused, and says why.
    response = sign_in(client, owner.email, PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert SESSION_KEY not in client.session
    # Another account from the same address, and this one from elsewhere, still sign in.
    assert sign_in(client, admin.email, PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, owner.email, PASSWORD, address="198.51.100.2").status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_count(client, owner):
    for _ in range(4):
        sign_in(client, owner.email, "wrong")
    assert sign_in(client, owner.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, owner.email, "wrong")
    assert sign_in(client, owner.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_submission_without_password_does_not_clear_the_count(client, owner):
    for _ in range(4):
        sign_in(client, owner.email, "wrong")
    sign_in(client, owner.email, "")  # a field error, not a sign-in
    sign_in(client, owner.email, "wrong")
    assert "Too many failed sign-ins" in sign_in(client, owner.email, PASSWORD).content.decode()


@pytest.mark.django_db
def test_it_limits_failures_from_one_address_across_accounts(client, owner):
    for number in range(50):
        sign_in(client, f"nobody{number}@example.com", "wrong")
    response = sign_in(client, owner.email, PASSWORD)
    assert "Too many failed sign-ins" in response.content.decode()
    assert sign_in(client, owner.email, PASSWORD, address="198.51.100.2").status_code == 302


@pytest.mark.django_db
def test_it_resets_a_forgotten_password_by_email(client, owner, mailoutbox):
    response = client.post("/password-reset/", {"email": "owner@a.example"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["owner@a.example"]
    assert mail.subject == "Reset your Parley password"
    link = re.search(r"http://testserver(/reset/\S+/)", mail.body).group(1)

    # The link redirects once to a token-less URL, then takes the new password.
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(
        set_url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/reset/done/"
    owner.refresh_from_db()
    assert owner.check_password("a brand new passphrase")
    # Used once: the same link no longer works.
    client.logout()
    again = client.get(link, follow=True)
    assert "This link does not work" in again.content.decode()


@pytest.mark.django_db
def test_it_sends_no_reset_email_for_an_unknown_address(client, owner, mailoutbox):
    response = client.post("/password-reset/", {"email": "nobody@a.example"})
    # Same answer as for a known address, so accounts cannot be probed.
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mailoutbox == []
