"""Dashboard forms: they validate input; the writes are messaging.services'."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm, SetPasswordMixin
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from messaging.models import Role, User
from messaging.services import accounts as accounts_service
from messaging.services import sign_in


class EmailInput(forms.EmailInput):
    def __init__(self, **attrs):
        super().__init__(attrs={"autocomplete": "email", "spellcheck": "false", **attrs})


class Labels:
    """Labels without Django's trailing colon (the layout sets them apart),
    and input ids unique on a page showing several forms (`id_prefix`)."""

    id_prefix = "id"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class LoginForm(Labels, AuthenticationForm):
    """Django's login form; the field stays named `username` (it carries
    the email, the user model's USERNAME_FIELD). Failed sign-ins are
    throttled (messaging.services.sign_in)."""

    username = forms.CharField(
        label="Email", max_length=254, widget=EmailInput(autofocus=True)
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": f"Too many failed sign-ins. Try again within {sign_in.LOCK_SECONDS // 60} minutes.",
    }

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if email and sign_in.is_locked(email, address):
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if email:
                sign_in.record_failure(email, address)
            raise
        if self.get_user() is not None:  # not when the password was missing
            sign_in.record_success(email, address)
        return cleaned


class SignUpForm(Labels, SetPasswordMixin, forms.Form):
    email = forms.EmailField(label="Email", max_length=254, widget=EmailInput(autofocus=True))
    name = forms.CharField(label="Your name", max_length=150, required=False)
    team_name = forms.CharField(label="Team name", max_length=100)
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean_email(self):
        email = accounts_service.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def clean(self):
        self.validate_passwords()
        # Validators such as "too similar to the email" need a user to compare to.
        self.validate_password_for_user(
            User(email=self.cleaned_data.get("email", ""), name=self.cleaned_data.get("name", "")),
            password_field_name="password1",
        )
        return self.cleaned_data


class AcceptInvitationForm(Labels, SetPasswordMixin, forms.Form):
    """A new user sets a name and password to accept an invitation."""

    name = forms.CharField(label="Your name", max_length=150, required=False)
    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, *args, invitation, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean(self):
        self.validate_passwords()
        self.validate_password_for_user(
            User(email=self.invitation.email, name=self.cleaned_data.get("name", "")),
            password_field_name="password1",
        )
        return self.cleaned_data


class NewPasswordForm(SetPasswordForm):
    """Django's reset form, but "This password is too common." and the
    other strength errors show under the password itself, not under its
    confirmation (where Django's SetPasswordMixin puts them): the
    confirmation only has to match."""

    def validate_password_for_user(self, user, password_field_name="new_password1"):
        super().validate_password_for_user(user, password_field_name="new_password1")


class TeamForm(Labels, forms.Form):
    id_prefix = "team"

    name = forms.CharField(label="Team name", max_length=100)

    def clean_name(self):
        return _not_blank(self.cleaned_data["name"])


class ServiceAccountForm(Labels, forms.Form):
    id_prefix = "service-account"

    name = forms.CharField(
        label="Service account name",
        max_length=100,
        help_text="Who calls the API with its keys, e.g. “CRM” or “billing”.",
    )

    def clean_name(self):
        return _not_blank(self.cleaned_data["name"])


class AppForm(Labels, forms.Form):
    id_prefix = "app"

    name = forms.CharField(label="App name", max_length=100)

    def clean_name(self):
        return _not_blank(self.cleaned_data["name"])


class UserJwtForm(Labels, forms.Form):
    """The app's `requireUserJwt` setting (messaging.services.apps)."""

    id_prefix = "userjwt"

    require_user_jwt = forms.BooleanField(
        label="A userId needs a signed JWT",
        required=False,
        help_text="Recommended. Turn off only while migrating code that cannot sign JWTs yet.",
    )


class KeyForm(Labels, forms.Form):
    id_prefix = "key"

    name = forms.CharField(
        label="Key name",
        max_length=100,
        help_text="What uses this key, e.g. “backend” or “CRM sync”.",
    )

    def clean_name(self):
        return _not_blank(self.cleaned_data["name"])


class InviteForm(Labels, forms.Form):
    id_prefix = "invite"

    email = forms.EmailField(label="Email", max_length=254, widget=EmailInput())
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.AGENT)

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        grantable = accounts_service.roles_grantable_by(membership)
        self.fields["role"].choices = [c for c in Role.choices if c[0] in grantable]

    def clean_email(self):
        email = accounts_service.normalize_email(self.cleaned_data["email"])
        if self.membership.team.memberships.filter(user__email__iexact=email).exists():
            raise forms.ValidationError("This person is already a member of the team.")
        return email

    def save(self, *, accept_url, actor):
        """Create the invitation (recorded as done by `actor`) and email its
        link; `accept_url(token)` builds the absolute link (it depends on
        where Parley is reached)."""
        invitation = accounts_service.invite(
            membership=self.membership,
            email=self.cleaned_data["email"],
            role=self.cleaned_data["role"],
            actor=actor,
        )
        send_invitation_email(invitation, accept_url(invitation.token))
        return invitation


class RoleForm(Labels, forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


def email_goes_to_console() -> bool:
    """True when Parley's mail goes to the console backend (the default
    with no EMAIL_BACKEND): nobody receives the invitation, so the admin is
    shown its link to pass on."""
    backend = (getattr(settings, "MAILERS", None) or {}).get("default", {}).get("BACKEND", "")
    return backend == "django.core.mail.backends.console.EmailBackend"


def send_invitation_email(invitation, url: str) -> None:
    context = {"invitation": invitation, "team": invitation.team, "url": url}
    subject = render_to_string("dashboard/emails/invitation_subject.txt", context)
    body = render_to_string("dashboard/emails/invitation.txt", context)
    EmailMessage(" ".join(subject.split()), body, to=[invitation.email]).send()


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise forms.ValidationError("This field is required.")
    return value
