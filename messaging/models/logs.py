"""The app's event log (the dashboard's Log tab)."""

from django.db import models
from django.utils import timezone

from messaging.models.appusers import AppUser
from messaging.models.apps import App


class LogEntry(models.Model):
    # A growing integer id: keyset pagination walks it (newest first).
    id = models.BigAutoField(primary_key=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="log_entries")
    kind = models.CharField(max_length=40)
    # Erased with the user (right to be forgotten).
    app_user = models.ForeignKey(
        AppUser, null=True, blank=True, on_delete=models.CASCADE, related_name="log_entries"
    )
    summary = models.CharField(max_length=500)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "log entries"
        indexes = [
            # Log tab: newest first, keyset on id; by kind; by user.
            models.Index(fields=["app", "-id"], name="log_app_newest"),
            models.Index(fields=["app", "kind", "-id"], name="log_app_kind"),
            models.Index(fields=["app_user", "-id"], name="log_app_user"),
            # prunelogs deletes by age.
            models.Index(fields=["created_at"], name="log_age"),
        ]

    def __str__(self):
        return f"{self.kind}: {self.summary}"
