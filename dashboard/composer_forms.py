"""Forms of the live dashboard: the composer, manual user creation, log
retention and the Log tab's filters.

The composer turns its fields into a Smooch message body and validates it
with the API's own `validate_message`, so the dashboard and POST /messages
accept and refuse exactly the same messages and nothing is sent. The form
shows the refusal in words for people (`for_people`: "Add a web address
starting with https://"); the API keeps its own wording.

The composer only reads the fields of the chosen type (an image URL left
in a closed "Image" disclosure is not sent with a carousel), and its
"Note" mode stores a private note (services.inbox.add_note) instead.
"""
import re


from django import forms

from messaging.integrations.registry import integration_class
from messaging.models import NOTE_MAX_LENGTH, TEMPLATE_NAME_MAX_LENGTH
from messaging.services import templates as templates_service
from messaging.services.errors import ServiceError

from messaging.validators import (
    ValidationError,
    gravatar_url,
    validate_message,
    validate_profile,
    validate_user_id,
)

ACTION_ROWS = 3
ITEM_ROWS = 3

MESSAGE_TYPES = [
    ("text", "Text"),
    ("image", "Image (by URL)"),
    ("carousel", "Carousel"),
    ("list", "List"),
]
ACTION_TYPES = [
    ("", "(none)"),
    ("link", "Link"),
    ("postback", "Postback"),
    ("reply", "Quick reply"),
    ("locationRequest", "Location request"),
]
ITEM_ACTION_TYPES = [("postback", "Postback"), ("link", "Link")]


class NoColon:
    """Labels without Django's trailing colon (as dashboard/forms.py)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# The API's descriptions (messaging.validators) -> what a person is told.
# Matched in order against the description; the API's own text is shown
# when none matches.
FOR_PEOPLE = [
    (r"uri is required|must be an http or https URL|uri must", "Add a web address starting with https://."),
    (r"mediaUrl is required", "Add an image: upload one, paste one, or give its web address (https://…)."),
    (r"text is required for a text message", "Write a message first (or add a button)."),
    (r"items is required|must hold 1 to|needs at least 1 item", "Add at least one item with a title and a button."),
    (r"actions\[\d+\]\.text is required|\.text is required", "Give every button a label."),
    (r"payload is required", "Give the postback or quick-reply button a payload (what your bot receives)."),
    (r"email must be an email address", "The sender email doesn't look like an email address (name@example.com)."),
    (r"only be sent alone or together", "Quick replies and location requests can't be mixed with other kinds of button."),
    (r"list messages take", "A list can't carry quick replies or location requests."),
    (r"destination", "This person can't be reached on that channel: pick another one or Automatic."),
    (r"source is too large", "That image is too large to send: pick a smaller one."),
    (r"source is empty|source must be a JPEG", "That file isn't an image we can send: use a JPEG, PNG, GIF or WebP."),
]


def for_people(description: str) -> str:
    """An API error description in plain words for the dashboard's forms."""
    for pattern, words in FOR_PEOPLE:
        if re.search(pattern, description or ""):
            return words
    return description


def _text(label, **kwargs):
    return forms.CharField(label=label, required=False, strip=False, **kwargs)


def destination_label(platform: str) -> str:
    """A channel as the composer offers it, with what its platform limits
    (the channel's declared `limits`): "Twilio SMS (text over 1,600
    characters goes as several messages)"."""
    cls = integration_class(platform)
    label = cls.label or platform
    if cls.limits.text:
        label += f" (text over {cls.limits.text:,} characters goes as several messages)"
    return label


MODES = [("reply", "Reply"), ("note", "Note")]


class ComposerForm(NoColon, forms.Form):
    mode = forms.ChoiceField(label="Write", choices=MODES, initial="reply", widget=forms.RadioSelect, required=False)
    # Not required: a note (and a pasted image) leaves the type's fields out.
    type = forms.ChoiceField(label="Message type", choices=MESSAGE_TYPES, initial="text", required=False)
    text = _text("Message", widget=forms.Textarea(attrs={
        "rows": 3, "data-typing": "true",
        "placeholder": "Type a reply… Enter sends, Shift+Enter adds a line, / inserts a canned reply"}))
    image = forms.FileField(label="Attach an image", required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}))
    template = forms.CharField(required=False, widget=forms.HiddenInput())
    media_url = _text("Image URL", widget=forms.URLInput(attrs={"placeholder": "https://…"}))
    name = _text("Sender name", max_length=255)
    email = _text("Sender email", max_length=255, widget=forms.EmailInput())
    destination = forms.ChoiceField(label="Send only to", required=False)

    def __init__(self, *args, app_user, member=None, **kwargs):
        self.app_user = app_user
        if member is not None:
            kwargs.setdefault("initial", {})
            kwargs["initial"].setdefault("name", member.get_full_name())
            kwargs["initial"].setdefault("email", member.email)
        super().__init__(*args, **kwargs)
        platforms = sorted(
            set(
                app_user.clients.filter(active=True, pending=False).values_list("platform", flat=True)
            )
        )
        self.fields["destination"].choices = [("", "Automatic (preferred channel + copies)")] + [
            (p, destination_label(p)) for p in platforms
        ]
        # The counter's limit per choice: a channel's own, and for Automatic
        # the preferred channel's (the most recently seen one), which gets the text.
        self.limits = {p: integration_class(p).limits.text or 0 for p in platforms}
        preferred = (app_user.clients.filter(active=True, pending=False).order_by("-last_seen")
                     .values_list("platform", flat=True).first())
        self.limits[""] = self.limits.get(preferred, 0)
        self.limit_names = {p: integration_class(p).label or p for p in platforms}
        self.limit_names[""] = self.limit_names.get(preferred, "")
        for i in range(ACTION_ROWS):
            self.fields[f"action_{i}_type"] = forms.ChoiceField(
                label=f"Button {i + 1} type", choices=ACTION_TYPES, required=False
            )
            self.fields[f"action_{i}_text"] = _text(f"Button {i + 1} label")
            self.fields[f"action_{i}_value"] = _text(
                f"Button {i + 1} link or payload",
                help_text="A URL for a link; a payload for a postback or reply.",
            )
        for i in range(ITEM_ROWS):
            self.fields[f"item_{i}_title"] = _text(f"Item {i + 1} title")
            self.fields[f"item_{i}_description"] = _text(f"Item {i + 1} description")
            self.fields[f"item_{i}_media_url"] = _text(f"Item {i + 1} image URL")
            self.fields[f"item_{i}_action_type"] = forms.ChoiceField(
                label=f"Item {i + 1} button type", choices=ITEM_ACTION_TYPES, required=False
            )
            self.fields[f"item_{i}_action_text"] = _text(f"Item {i + 1} button label")
            self.fields[f"item_{i}_action_value"] = _text(f"Item {i + 1} button link or payload")
        self.message_fields = None

    # Groups for the template (a simple repeated-fields UI).
    def action_rows(self):
        return [
            [self[f"action_{i}_type"], self[f"action_{i}_text"], self[f"action_{i}_value"]]
            for i in range(ACTION_ROWS)
        ]

    def item_rows(self):
        names = ("title", "description", "media_url", "action_type", "action_text", "action_value")
        return [[self[f"item_{i}_{n}"] for n in names] for i in range(ITEM_ROWS)]

    def avatar_preview(self):
        email = (self["email"].value() or "").strip()
        return gravatar_url(email) if email else ""

    @staticmethod
    def _action(type_, text, value, *, item=False):
        action = {"type": type_}
        if text:
            action["text"] = text
        if type_ == "link":
            if value:
                action["uri"] = value
        elif type_ in ("postback", "reply"):
            if value:
                action["payload"] = value
        return action

    def message_body(self) -> dict:
        """The Smooch message body these fields describe (what an API client
        would POST)."""
        data = self.cleaned_data
        body = {"role": "appMaker", "type": data["type"]}
        if data.get("text", "").strip():
            body["text"] = data["text"]
        if data["type"] == "image" and data.get("media_url", "").strip():
            body["mediaUrl"] = data["media_url"].strip()
        actions = []
        template = self.template_used()
        if template is not None and template.message.get("actions") and data["type"] == "text":
            # A canned reply's buttons go with its (possibly edited) text.
            actions.extend(template.message["actions"])
        for i in range(ACTION_ROWS if data["type"] != "image" else 0):
            type_ = data.get(f"action_{i}_type")
            if type_:
                actions.append(
                    self._action(type_, data.get(f"action_{i}_text", ""), data.get(f"action_{i}_value", "").strip())
                )
        if actions:
            body["actions"] = actions
        if data["type"] in ("carousel", "list"):
            items = []
            for i in range(ITEM_ROWS):
                title = data.get(f"item_{i}_title", "")
                label = data.get(f"item_{i}_action_text", "")
                if not (title.strip() or label.strip()):
                    continue
                item = {"title": title}
                if data.get(f"item_{i}_description", "").strip():
                    item["description"] = data[f"item_{i}_description"]
                if data.get(f"item_{i}_media_url", "").strip():
                    item["mediaUrl"] = data[f"item_{i}_media_url"].strip()
                item["actions"] = [
                    self._action(
                        data.get(f"item_{i}_action_type") or "postback",
                        label,
                        data.get(f"item_{i}_action_value", "").strip(),
                        item=True,
                    )
                ]
                items.append(item)
            body["items"] = items
        if data.get("name", "").strip():
            body["name"] = data["name"].strip()
        if data.get("email", "").strip():
            body["email"] = data["email"].strip()
        if data.get("destination"):
            body["destination"] = {"integrationType": data["destination"]}
        return body

    def clean_text(self):
        # A textarea submits its lines with CRLF (HTML's form encoding); a
        # message's line break is "\n" as the API and the platforms take it.
        return (self.cleaned_data.get("text") or "").replace("\r\n", "\n")

    def clean_type(self):
        return self.cleaned_data.get("type") or "text"

    def template_used(self):
        """The canned reply inserted with `/` (its id rides in `template`), or None."""
        template_id = (self.cleaned_data.get("template") or "").strip()
        if not template_id:
            return None
        try:
            return templates_service.get_template(self.app_user.app, template_id)
        except ServiceError:
            return None

    @property
    def is_note(self) -> bool:
        return self.cleaned_data.get("mode") == "note"

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("mode") == "note":
            if not cleaned.get("text", "").strip():
                self.add_error(None, "Write the note first.")
            elif len(cleaned["text"].strip()) > NOTE_MAX_LENGTH:
                self.add_error(None, f"A note can be at most {NOTE_MAX_LENGTH:,} characters long.")
            return cleaned
        body = self.message_body()
        if cleaned.get("image") is not None:
            # An uploaded or pasted image: checked here with a stand-in URL,
            # stored by the view only once everything else passed.
            body["type"] = "image"
            body["mediaUrl"] = "https://parley.invalid/pending-upload"
            body.pop("actions", None)
            body.pop("items", None)
        try:
            self.message_fields = validate_message(body, role="appMaker", app_user=self.app_user)
        except ValidationError as error:
            self.add_error(None, for_people(error.description))
        return cleaned


class CannedReplyForm(NoColon, forms.Form):
    """A canned reply: a text message template of the app."""

    name = forms.CharField(label="Name", max_length=TEMPLATE_NAME_MAX_LENGTH,
                           help_text="What you type after / to find it, e.g. “opening hours”.")
    text = forms.CharField(label="Reply text", strip=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, app, **kwargs):
        self.app = app
        self.template = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.template = templates_service.create_template(
                self.app, name=cleaned["name"], message={"type": "text", "text": cleaned["text"]})
        except ServiceError as error:
            if error.status == 409:
                self.add_error("name", "You already have a canned reply with this name: pick another one.")
            else:
                self.add_error(None, for_people(error.description))
        return cleaned


class NewAppUserForm(NoColon, forms.Form):
    """POST /appusers's fields, checked by the API's own validators."""

    user_id = forms.CharField(label="userId", max_length=255, strip=False,
                              help_text="Your system's id for this person (required, unique in the app).")
    given_name = forms.CharField(label="Given name", max_length=255, required=False)
    surname = forms.CharField(label="Surname", max_length=255, required=False)
    email = forms.CharField(label="Email", max_length=255, required=False, widget=forms.EmailInput())

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        body = {"userId": cleaned["user_id"]}
        for key, field in (("givenName", "given_name"), ("surname", "surname"), ("email", "email")):
            if cleaned.get(field):
                body[key] = cleaned[field]
        try:
            self.user_id = validate_user_id(body, required=True)
            self.profile = validate_profile(body)
        except ValidationError as error:
            self.add_error(None, error.description)
        return cleaned


class RetentionForm(NoColon, forms.Form):
    days = forms.IntegerField(label="Keep log entries for (days)", min_value=1, max_value=3650)


class LogFilterForm(NoColon, forms.Form):
    kind = forms.ChoiceField(label="Kind", required=False)
    user = forms.CharField(label="User (_id or userId)", required=False, max_length=255)
    q = forms.CharField(label="Search by ID", required=False, max_length=255,
                        help_text="A user _id or userId, a log entry id or a message id.")
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput())
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput())

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "All kinds")] + list(kinds)
