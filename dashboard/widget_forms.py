"""The Web Messenger settings form: branding and the origins allowed to embed.

Written by `messaging.services.apps.update_widget_settings` into
`App.settings["widget"]` = {"name", "iconUrl", "accentColor",
"greeting"} (empty values left out) and `App.settings["allowedOrigins"]` =
["https://shop.example", ...]; /v1/init returns the branding in "app";
/v1/init and the SDK socket refuse pages of other origins when the list is
not empty (messaging.services.apps.origin_allowed).
"""

import re
from urllib.parse import urlsplit

from django import forms
from django.core.validators import URLValidator

from dashboard.forms import Labels
from messaging.models import App

COLOR = re.compile(r"#[0-9a-fA-F]{6}")
HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
MAX_ORIGINS = 50
# Keys of settings["widget"] and the form field each comes from.
WIDGET_KEYS = {"name": "name", "iconUrl": "icon_url", "accentColor": "accent_color", "greeting": "greeting"}


def normalize_origin(value: str) -> str:
    """`scheme://host[:port]` (http or https), lower-cased, default port
    dropped: exactly what browsers send in the Origin header."""
    raw = value.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise forms.ValidationError(f"“{raw}” is not an origin: use scheme://host[:port].")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise forms.ValidationError(
            f"“{raw}” is not an origin: use http:// or https:// and a host, e.g. https://shop.example."
        )
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise forms.ValidationError(
            f"“{raw}” is not an origin: only scheme://host[:port], without a path, query or user."
        )
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        if not re.fullmatch(r"[0-9a-f:.]+", host):
            raise forms.ValidationError(f"“{raw}” has an invalid host.")
        host = f"[{host}]"
    elif not HOST.fullmatch(host):
        raise forms.ValidationError(f"“{raw}” has an invalid host name.")
    default_port = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port and port != default_port else "")


class WidgetSettingsForm(Labels, forms.Form):
    id_prefix = "widget"

    name = forms.CharField(
        label="Business name",
        max_length=100,
        required=False,
        help_text="Shown in the widget's header. Empty: the app's name.",
    )
    icon_url = forms.CharField(
        label="Icon URL",
        max_length=2000,
        required=False,
        help_text="An https:// (or http://) image, at least 200×200, for the header and the launcher.",
        widget=forms.URLInput(attrs={"spellcheck": "false", "placeholder": "https://"}),
    )
    accent_color = forms.CharField(
        label="Accent colour",
        max_length=7,
        required=False,
        help_text="#rrggbb, for the header, the launcher and the visitor's messages.",
        widget=forms.TextInput(attrs={"placeholder": "#1f4fb5", "spellcheck": "false", "size": 8}),
    )
    greeting = forms.CharField(
        label="Greeting",
        max_length=500,
        required=False,
        help_text="The first words a visitor sees above the conversation.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    allowed_origins = forms.CharField(
        label="Allowed origins",
        required=False,
        help_text=(
            "One per line, as scheme://host[:port] (e.g. https://shop.example). "
            "Only pages of these origins may embed the widget. Empty: any site."
        ),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    @classmethod
    def for_app(cls, app: App, data=None):
        settings = app.settings or {}
        widget = settings.get("widget") or {}
        initial = {field: widget.get(key, "") for key, field in WIDGET_KEYS.items()}
        initial["allowed_origins"] = "\n".join(settings.get("allowedOrigins") or [])
        return cls(data, initial=initial)

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_greeting(self):
        return self.cleaned_data["greeting"].strip()

    def clean_icon_url(self):
        value = self.cleaned_data["icon_url"].strip()
        if not value:
            return ""
        try:
            URLValidator(schemes=["http", "https"])(value)
        except forms.ValidationError:
            raise forms.ValidationError("Enter an http:// or https:// URL of an image.")
        return value

    def clean_accent_color(self):
        value = self.cleaned_data["accent_color"].strip()
        if not value:
            return ""
        if not COLOR.fullmatch(value):
            raise forms.ValidationError("Enter a colour as #rrggbb, e.g. #1f4fb5.")
        return value.lower()

    def clean_allowed_origins(self):
        lines = [line for line in re.split(r"[\s,]+", self.cleaned_data["allowed_origins"]) if line]
        origins, errors = [], []
        for line in lines:
            try:
                origin = normalize_origin(line)
            except forms.ValidationError as error:
                errors.extend(error.messages)
                continue
            if origin not in origins:
                origins.append(origin)
        if errors:
            raise forms.ValidationError(errors)
        if len(origins) > MAX_ORIGINS:
            raise forms.ValidationError(f"At most {MAX_ORIGINS} origins.")
        return origins

    def widget_settings(self) -> dict:
        """The cleaned branding as `App.settings["widget"]` keys (for
        messaging.services.apps.update_widget_settings)."""
        return {key: self.cleaned_data[field] for key, field in WIDGET_KEYS.items()}
