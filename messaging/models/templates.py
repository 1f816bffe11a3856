"""Message templates: an app's stored message bodies, by name.

Smooch v1.1's `templates` resource (`POST /v1.1/apps/{appId}/templates`):
an object with `_id`, `name` and `message`, the last being a message body
exactly as POST /messages takes it (type, text, actions, items, mediaUrl...,
without `role`, which the sender gives when the template is used). The
dashboard's canned replies are these rows (issue 15); the v1.1 routes will
serve them as they are (issue 16), so nothing here is the dashboard's own.
Changes go through messaging.services.templates.
"""

from django.db import models
from django.utils import timezone

from messaging.ids import new_id
from messaging.models.apps import App

# A template's name, at most (the API's names are short labels).
TEMPLATE_NAME_MAX_LENGTH = 128


class MessageTemplateQuerySet(models.QuerySet):
    def for_app(self, app):
        return self.filter(app=app)


class MessageTemplate(models.Model):
    """One named message body of an app (Smooch's template)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="message_templates")
    name = models.CharField(max_length=TEMPLATE_NAME_MAX_LENGTH)
    # The message body as the API takes it (no role), checked by
    # messaging.validators.validate_message when stored.
    message = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = MessageTemplateQuerySet.as_manager()

    class Meta:
        constraints = [
            # A name picks one template of the app (the composer's `/` search).
            models.UniqueConstraint(fields=["app", "name"], name="template_unique_name"),
        ]
        ordering = ["name", "id"]

    def __str__(self):
        return f"template {self.name!r} of {self.app_id}"
