"""The Log tab's filter form as the tab uses it: typing entries (one pair
per burst of keystrokes) would crowd out everything else, so the default
"All but typing" hides them and "All kinds, with typing" or a typing kind
shows them. (A subclass of composer_forms.LogFilterForm, which another
change owns; the two can be folded together.)"""

from dashboard.composer_forms import LogFilterForm

TYPING_KINDS = ("typing:appUser", "typing:appMaker")
ALL_KINDS = "all"


class LogFilters(LogFilterForm):
    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, kinds=kinds, **kwargs)
        self.fields["kind"].choices = [("", "All but typing"), (ALL_KINDS, "All kinds, with typing")] + list(kinds)

    def kind_filter(self):
        """(kind, excluded kinds) for messaging.services.logs.log_page."""
        kind = self.cleaned_data.get("kind") if self.is_bound else ""
        if kind == ALL_KINDS:
            return None, ()
        if kind:
            return kind, ()
        return None, TYPING_KINDS
