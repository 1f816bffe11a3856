"""Apps, their API keys, integrations and webhooks."""

import base64
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from messaging.crypto import EncryptedJSONField, EncryptedTextField
from messaging.ids import new_id, new_token
from messaging.models.accounts import Team


class AppQuerySet(models.QuerySet):
    def for_user(self, user):
        """Apps the dashboard user may see: those of their teams."""
        return self.filter(team__memberships__user=user)


class App(models.Model):
    """A business's messaging app: its users, channels, keys and webhooks."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="apps")
    name = models.CharField(max_length=100)
    app_token = models.CharField(max_length=64, unique=True, default=new_token)
    # Free-form settings: failover policy, widget branding, allowed origins,
    # log retention, and the API's `metadata` of the app (under "metadata":
    # no column, so no migration). Read through the helpers in
    # messaging.services.apps.
    settings = models.JSONField(default=dict, blank=True)
    # "A userId needs a signed JWT": while on, the app token alone reaches
    # only anonymous users (messaging.services.credentials). A column, not a
    # key of `settings`: it is a security rule read on every app-token call,
    # its default differs between existing apps (off, migration 0006) and
    # new ones (on), and a column cannot be lost by a settings JSON merge.
    require_user_jwt = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppQuerySet.as_manager()

    def __str__(self):
        return self.name


class KeyScope(models.TextChoices):
    APP = "app", "App"
    ACCOUNT = "account", "Account"


class ServiceAccount(models.Model):
    """A named API identity of a team (Smooch v1.1 `serviceaccounts`): it
    holds account-scope keys, which reach every app of the team. Deleting
    it revokes its keys (messaging.services.service_accounts)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.CharField(max_length=100)
    # Who created it: a dashboard member, or an account key through the API
    # (both empty for a management command).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        "ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The team's list, oldest first (API and settings page).
            models.Index(fields=["team", "created_at"], name="service_account_team_list"),
        ]

    def __str__(self):
        return self.name


class ApiKey(models.Model):
    """A key id + secret used to sign JWTs (HS256, `kid` = key_id)."""

    key_id = models.CharField(primary_key=True, max_length=40, editable=False)
    secret = EncryptedTextField()
    secret_last4 = models.CharField(max_length=4)
    name = models.CharField(max_length=100, blank=True)
    scope = models.CharField(max_length=10, choices=KeyScope.choices)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_keys")
    # Set for app-scope keys only.
    app = models.ForeignKey(
        App, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    # Set for the account-scope keys of a service account; a deleted
    # account's keys are revoked first and stay, revoked, for the record.
    service_account = models.ForeignKey(
        ServiceAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The account key that created this one through the API (created_by is
    # then empty).
    created_by_key = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Moved at most once a minute per process (services.credentials._touch).
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(scope="app", app__isnull=False))
                | (models.Q(scope="account", app__isnull=True)),
                name="app_key_has_app_account_key_has_none",
            ),
            models.CheckConstraint(
                condition=models.Q(service_account__isnull=True) | models.Q(scope="account"),
                name="service_account_key_is_account_scope",
            ),
        ]

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __str__(self):
        return self.key_id


class IntegrationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PENDING = "pending", "Pending"
    # The platform refused the credentials (a revoked token): nothing is
    # sent until they are updated or a connection test passes.
    ERROR = "error", "Error"
    INACTIVE = "inactive", "Inactive"


class Integration(models.Model):
    """A channel connected to an app (Telegram bot, Messenger page, Twilio number...)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="integrations")
    type = models.CharField(max_length=20)
    display_name = models.CharField(max_length=100, blank=True)
    # Every property the integration was created with, secret or not
    # (encrypted at rest); the API returns only `details`.
    credentials = EncryptedJSONField(blank=True, default=dict)
    # What the API shows: the non-secret properties and what the platform
    # told about itself (a bot's username, a phone number).
    details = models.JSONField(blank=True, default=dict)
    # Shared secret platforms echo back on inbound webhooks (Telegram secret_token...).
    webhook_secret = models.CharField(max_length=64, default=new_token)
    # The inbound URL registered with the platform (Twilio signs it).
    inbound_url = models.CharField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=IntegrationStatus.choices, default=IntegrationStatus.ACTIVE
    )
    # The platform's last refusal, in plain words ("" once a call succeeds).
    error = models.TextField(blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["app", "type"], name="integration_app_type")]

    def __str__(self):
        return f"{self.type} for {self.app}"


def new_signing_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Webhook(models.Model):
    """Where business software wants events posted (Smooch webhooks)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhooks")
    target = models.URLField(max_length=2000)
    triggers = models.JSONField(default=list)
    # Smooch's secret, sent as X-API-Key.
    secret = EncryptedTextField(default=new_token)
    # Standard Webhooks: the key of `webhook-signature`. While a rotation
    # runs, the previous one signs too, until `previous_signing_until`.
    signing_secret = EncryptedTextField(default=new_signing_secret)
    previous_signing_secret = EncryptedTextField(blank=True, default="")
    previous_signing_until = models.DateTimeField(null=True, blank=True)
    # A target that answered 410 Gone is disabled (nothing is sent) until
    # it is enabled again (PUT enabled: true, or the dashboard).
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Since when every attempt has failed (None after a success): the
    # dashboard flags a webhook that keeps failing.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.target
