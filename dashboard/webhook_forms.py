"""The forms of the Webhooks pages: a webhook (target, triggers, enabled)
and "re-deliver failed events since".

The target and triggers are checked by messaging.validators.validate_webhook,
the API's own check, so the dashboard refuses exactly what POST/PUT
/v1/webhooks refuse, in the same words. The forms only validate; the writes
are messaging.services.webhook_config's.
"""

from django import forms

from dashboard.forms import Labels
from messaging.events import SUBSCRIBABLE_TRIGGERS
from messaging.services.errors import ServiceError
from messaging.validators import validate_webhook

# What a checkbox says beside the trigger's own name, where the name alone
# does not tell.
TRIGGER_NOTES = {
    "message": "both message:appUser and message:appMaker",
    "message:appUser": "a user's message",
    "message:appMaker": "a message from the business",
    "conversation:start": "a user starts a conversation",
    "conversation:read": "a user read the conversation",
    "postback": "a user pressed a postback button",
    "merge:appUser": "two users were merged",
    "delivery:success": "a platform accepted a message",
    "delivery:failure": "a message could not be delivered",
    "payment:success": "accepted for Smooch receivers, never sent: Parley takes no payments",
    "*": "every trigger",
}


def trigger_choices() -> list[tuple[str, str]]:
    return [(t, f"{t} ({TRIGGER_NOTES[t]})" if t in TRIGGER_NOTES else t) for t in SUBSCRIBABLE_TRIGGERS]


class WebhookForm(Labels, forms.Form):
    """A new webhook (no `enabled`: it starts enabled) or an edit of one."""

    id_prefix = "webhook"

    target = forms.CharField(
        label="Target URL",
        help_text="Where Parley POSTs the events: an http or https URL of your server.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "https://"}),
    )
    triggers = forms.MultipleChoiceField(
        label="Triggers",
        required=False,  # validate_webhook says, in the API's words, that one is needed
        widget=forms.CheckboxSelectMultiple,
        help_text="The events sent to this webhook. Triggers are case sensitive, as in Smooch.",
    )

    def __init__(self, *args, webhook=None, **kwargs):
        if webhook is not None:
            kwargs.setdefault("initial", {"target": webhook.target, "triggers": webhook.triggers,
                                          "enabled": webhook.enabled})
        else:
            kwargs.setdefault("initial", {"triggers": ["message"]})
        super().__init__(*args, **kwargs)
        self.webhook = webhook
        self.fields["triggers"].choices = trigger_choices()
        if webhook is not None:
            self.fields["enabled"] = forms.BooleanField(
                label="Enabled", required=False,
                help_text="While disabled, nothing is sent: its events wait and go out once it is enabled again.",
            )

    def _checked(self, name: str, data: dict) -> dict:
        """One field through validate_webhook; its refusal becomes that
        field's error."""
        try:
            return validate_webhook(data, partial=True)
        except ServiceError as error:
            self.add_error(name, error.description)
            return {}

    def clean(self):
        cleaned = super().clean()
        fields = {}
        if "target" in cleaned:
            fields.update(self._checked("target", {"target": cleaned["target"]}))
        if "triggers" in cleaned:
            fields.update(self._checked("triggers", {"triggers": list(cleaned["triggers"])}))
        self.webhook_fields = fields
        return cleaned

    def changes(self) -> dict:
        """What update_webhook takes: the target and triggers, and `enabled`
        when it changed (the view adds the reason to a disable)."""
        fields = dict(self.webhook_fields)
        if self.webhook is not None and self.cleaned_data["enabled"] != self.webhook.enabled:
            fields["enabled"] = self.cleaned_data["enabled"]
        return fields


class RedeliverSinceForm(Labels, forms.Form):
    """The time from which a webhook's failed events are sent again (UTC,
    the dashboard's time zone)."""

    id_prefix = "redeliver"

    since = forms.DateTimeField(
        label="Failed events since (UTC)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "Enter a date and time, such as 2026-01-31 14:00."},
    )
