"""The inbox's controls: a conversation's status (resolve, reopen, snooze)
and its assignee. Each form turns what a person picked into the `changes`
messaging.services.inbox.update_conversation takes, with errors written for
people (the service's own wording is the API's).

Snooze presets are counted in the dashboard's time zone (settings.TIME_ZONE,
Django's current time zone), and so is a time typed into the datetime
input, which carries no zone of its own.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from messaging.models import ConversationStatus

SNOOZE_PRESETS = (
    ("1h", "1 hour"),
    ("tomorrow", "Tomorrow 9:00"),
    ("week", "Next week"),
    ("custom", "Until…"),
)
MORNING = time(9, 0)


def snooze_preset(preset: str, now: datetime) -> datetime:
    """When a preset snooze ends: in an hour, tomorrow at 9:00, or next
    Monday at 9:00 (local time)."""
    if preset == "1h":
        return now + timedelta(hours=1)
    local = timezone.localtime(now)
    days = 1 if preset == "tomorrow" else 7 - local.weekday()
    day = (local + timedelta(days=days)).date()
    return timezone.make_aware(datetime.combine(day, MORNING), timezone.get_current_timezone())


class StatusForm(forms.Form):
    """Resolve, reopen or snooze (a preset, or a time of one's own)."""

    status = forms.ChoiceField(choices=ConversationStatus.choices,
                               error_messages={"invalid_choice": "Pick open, snoozed or resolved.",
                                               "required": "Pick open, snoozed or resolved."})
    snooze = forms.ChoiceField(choices=SNOOZE_PRESETS, required=False,
                               error_messages={"invalid_choice": "Pick how long to snooze."})
    until = forms.DateTimeField(required=False, label="Snooze until",
                                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                error_messages={"invalid": "Enter a date and time, like 2030-01-31 09:00."})

    def clean(self):
        data = super().clean()
        if data.get("status") != ConversationStatus.SNOOZED or self.errors:
            return data
        preset = data.get("snooze") or ("custom" if data.get("until") else "")
        if not preset:
            raise forms.ValidationError("Pick how long to snooze.")
        now = timezone.now()
        until = data.get("until") if preset == "custom" else snooze_preset(preset, now)
        if until is None:
            raise forms.ValidationError("Pick the date and time to snooze until.")
        if until <= now:
            raise forms.ValidationError("Pick a time in the future to snooze until.")
        data["snoozed_until"] = until
        return data

    @property
    def changes(self) -> dict:
        status = self.cleaned_data["status"]
        return {"status": status, "snoozed_until": self.cleaned_data.get("snoozed_until")}


class AssignForm(forms.Form):
    """Assign to a member of the app's team, to oneself ("me"), or to nobody ("")."""

    assignee = forms.ChoiceField(required=False, label="Assign to",
                                 error_messages={"invalid_choice": "Pick a member of this team."})

    def __init__(self, *args, members, me, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(m.pk): m for m in members}
        self.me = me
        self.fields["assignee"].choices = [("", "Nobody"), ("me", "Me")] + [
            (str(m.pk), m.user.get_full_name() or m.user.email) for m in members]

    @property
    def changes(self) -> dict:
        picked = self.cleaned_data.get("assignee") or ""
        member = self.me if picked == "me" else self.members.get(picked)
        return {"assignee_email": member.user.email if member is not None else None}
