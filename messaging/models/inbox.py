"""The team's inbox: a conversation's status and assignee, and private notes.

Smooch keeps one conversation per app user, and Parley stores that
conversation's state on the AppUser row itself (unread count, last
activity...). The inbox's status, snooze time and assignee live there too
(messaging.models.appusers), not in a one-to-one row of their own: the
inbox's lists filter on status and assignee and order by last activity,
which a composite index on one table serves (a join could not use one
index for both), a new user message reopens the conversation in the very
UPDATE that already moves its last activity (no extra query for the usual
open conversation), and a conversation never exists without its user.
This module holds what those fields mean (ConversationStatus) and the
model that is the inbox's own: Note.

A note is the team's private remark on a conversation. It is not a
message (not Smooch's `whisper` role, which fires message:appMaker
webhooks): it is never delivered, never listed by the API's message calls
and its event (note:created) reaches only the app's group and log
(messaging.events.TEAM_ONLY). Changes go through messaging.services.inbox.
"""

from django.db import models
from django.utils import timezone

from messaging.models.accounts import Membership
from messaging.models.apps import App

# A note's text, at most (the dashboard's composer and the service check it).
NOTE_MAX_LENGTH = 10_000


class ConversationStatus(models.TextChoices):
    OPEN = "open", "Open"
    # Until AppUser.snoozed_until: a timer reopens it then (or a user message, sooner).
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


class NoteQuerySet(models.QuerySet):
    def for_app(self, app):
        return self.filter(app=app)


class Note(models.Model):
    """A private note of the team on one app user's conversation."""

    id = models.BigAutoField(primary_key=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="notes")
    # Erased with the user (right to be forgotten), like their messages.
    app_user = models.ForeignKey("messaging.AppUser", on_delete=models.CASCADE, related_name="notes")
    # Who wrote it; None once they left the team (author_email still names them).
    author = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="notes")
    author_email = models.EmailField()
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = NoteQuerySet.as_manager()

    class Meta:
        indexes = [
            # notes_of(app_user): a conversation's notes, oldest first.
            models.Index(fields=["app_user", "created_at", "id"], name="note_thread"),
        ]

    def __str__(self):
        return f"note {self.pk} on {self.app_user_id} by {self.author_email}"
