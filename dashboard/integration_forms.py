"""The form of one channel type's integration, built from the channel
class's declared `fields` (messaging.integrations.base.Field): one input per
property, named as the integrations API names it (`token`, `accountSid`...),
plus `displayName`.

Secret properties are password inputs that never render a value back, on
a re-render with errors too. Editing leaves a secret empty to keep the stored
one. The form only validates; messaging.services.integrations checks the
properties again and with the platform, and stores them.
"""

from django import forms

from dashboard.forms import Labels
from messaging.services.integrations import DISPLAY_NAME_MAX, PROPERTY_MAX

KEEP_SECRET_HELP = "Leave empty to keep the stored value."


class IntegrationForm(Labels, forms.Form):
    id_prefix = "integration"

    def __init__(self, *args, channel, integration=None, **kwargs):
        """`channel`: the Integration class of the type; `integration`: the
        stored row when editing (its public values are the initial ones)."""
        stored = integration.credentials if integration is not None else {}
        if integration is not None:
            kwargs.setdefault("initial", {
                **{f.name: stored.get(f.name, "") for f in channel.fields if not f.secret},
                "displayName": integration.display_name,
            })
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.integration = integration
        for spec in channel.fields:
            self.fields[spec.name] = self._field(spec, editing=integration is not None)
        self.fields["displayName"] = forms.CharField(
            label="Display name",
            max_length=DISPLAY_NAME_MAX,
            required=False,
            help_text=("How the dashboard names this channel." if integration is not None
                       else f"How the dashboard names this channel. Empty: the name {channel.label} gives."),
        )

    @staticmethod
    def _field(spec, *, editing: bool) -> forms.Field:
        if spec.choices:
            return forms.ChoiceField(label=spec.label, help_text=spec.help, required=False,
                                     choices=[(choice, choice) for choice in spec.choices])
        help_text = spec.help
        if spec.secret:
            # render_value=False: the value typed is never sent back in a page.
            widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password",
                                                                   "spellcheck": "false"})
            required = spec.required and not editing
            if editing:
                help_text = f"{help_text} {KEEP_SECRET_HELP}".strip()
        else:
            widget = forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
            required = spec.required
        return forms.CharField(label=spec.label, help_text=help_text, required=required,
                               max_length=PROPERTY_MAX, widget=widget)

    def props(self) -> dict:
        """The cleaned values as the service takes them: when creating,
        every property given; when editing, only what changed (an empty
        secret or an unchanged value is left out, so the platform is asked
        again only when a credential really changes)."""
        stored = self.integration.credentials if self.integration is not None else {}
        props = {}
        for spec in self.channel.fields:
            value = self.cleaned_data.get(spec.name, "")
            # A choice left at its default changes nothing.
            if value and value != stored.get(spec.name, spec.choices[0] if spec.choices else None):
                props[spec.name] = value
        display_name = self.cleaned_data.get("displayName", "")
        if self.integration is None:
            if display_name:
                props["displayName"] = display_name
        elif display_name and display_name != self.integration.display_name:
            props["displayName"] = display_name
        return props

    def secret_values(self) -> list[str]:
        """The secrets typed in (to keep them out of a refusal's text)."""
        return [self.data.get(f.name, "") for f in self.channel.fields if f.secret and self.data.get(f.name)]
