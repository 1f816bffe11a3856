"""Manual user creation's form in the dashboard (Users > New user).

POST /appusers takes any string as an email (the Smooch API does), and the
dashboard keeps its API validators; but a person typing "nope" into the
Email field means a mistake, so the dashboard also asks for an address.
(A subclass here, not an edit of composer_forms.py, which another change
owns; the two can be folded together.)
"""

from django import forms

from dashboard.composer_forms import NewAppUserForm


class ManualUserForm(NewAppUserForm):
    email = forms.EmailField(
        label="Email", max_length=255, required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"invalid": "Enter an email address such as ada@example.com."},
    )
