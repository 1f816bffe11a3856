"""The team's audit trail: who changed what of the team's members, keys,
apps, integrations and webhooks, when and from where."""

from django.db import models
from django.utils import timezone

from messaging.models.accounts import Team


class ActorKind(models.TextChoices):
    USER = "user", "Member"
    KEY = "key", "API key"
    # A management command (createapp, firstrun) or a direct service call.
    SYSTEM = "system", "System"


class AuditAction(models.TextChoices):
    MEMBER_INVITE = "member.invite", "Invited a member"
    MEMBER_INVITATION_CANCEL = "member.invitation_cancel", "Cancelled an invitation"
    MEMBER_ACCEPT = "member.accept", "Accepted an invitation"
    MEMBER_ROLE_CHANGE = "member.role_change", "Changed a member's role"
    MEMBER_REMOVE = "member.remove", "Removed a member"
    TEAM_RENAME = "team.rename", "Renamed the team"
    KEY_CREATE = "key.create", "Created an API key"
    KEY_REVOKE = "key.revoke", "Revoked an API key"
    APP_CREATE = "app.create", "Created an app"
    APP_UPDATE = "app.update", "Changed an app's settings"
    APP_DELETE = "app.delete", "Deleted an app"
    INTEGRATION_CREATE = "integration.create", "Connected a channel"
    INTEGRATION_UPDATE = "integration.update", "Changed a channel"
    INTEGRATION_DELETE = "integration.delete", "Removed a channel"
    WEBHOOK_CREATE = "webhook.create", "Created a webhook"
    WEBHOOK_UPDATE = "webhook.update", "Changed a webhook"
    WEBHOOK_DELETE = "webhook.delete", "Deleted a webhook"
    WEBHOOK_ROTATE_SECRET = "webhook.rotate_secret", "Rotated a webhook's secret"


class AuditEntry(models.Model):
    """One team-admin action. Who acted and what was acted on are copied
    as values (ids and labels), never foreign keys, so an entry outlives
    the member who left or was deleted, the key that was revoked and the
    app that was deleted. Only the team's own deletion takes it along."""

    id = models.BigAutoField(primary_key=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_entries")
    created_at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    # The user's pk or the key's key_id, and their email/name or key name
    # as they were at the time.
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=300, blank=True)
    # The client address as messaging.client_address resolved it.
    address = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    # The app concerned, if any (a plain value: the app may be deleted).
    app_id = models.CharField(max_length=64, blank=True)
    target_kind = models.CharField(max_length=20)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    # Small and free of secrets: names of changed fields, roles, types.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [
            # The Audit log page: a team's entries, newest first.
            models.Index(fields=["team", "-created_at", "-id"], name="audit_team_newest"),
        ]

    def __str__(self):
        return f"{self.actor_label} {self.action} {self.target_kind} {self.target_label}"
