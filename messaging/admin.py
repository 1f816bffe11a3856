from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from messaging import models


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(models.Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(models.Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "team", "role", "created_at", "accepted_at"]
    exclude = ["token"]


@admin.register(models.App)
class AppAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "team", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id"]


@admin.register(models.ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["key_id", "scope", "team", "app", "created_at", "last_used_at", "revoked_at"]
    exclude = ["secret"]
    readonly_fields = ["key_id", "secret_last4"]


@admin.register(models.Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "app", "status", "created_at"]
    exclude = ["credentials", "webhook_secret"]


@admin.register(models.Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "target", "app", "created_at"]
    exclude = ["secret"]


class ClientInline(admin.TabularInline):
    model = models.Client
    extra = 0


@admin.register(models.AppUser)
class AppUserAdmin(admin.ModelAdmin):
    list_display = ["id", "user_id", "app", "given_name", "surname", "last_activity_at"]
    search_fields = ["id", "user_id", "email"]
    raw_id_fields = ["app"]
    inlines = [ClientInline]


@admin.register(models.Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "app_user", "role", "type", "received"]
    raw_id_fields = ["app", "app_user"]


@admin.register(models.Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "message", "client", "purpose", "state", "attempts", "updated_at"]
    list_filter = ["state", "purpose"]
    raw_id_fields = ["message", "client"]


@admin.register(models.LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "app", "kind", "summary", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["app", "app_user"]


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: a trail that staff could edit would prove nothing. (Deleting
    stays allowed so that deleting a team, which takes its trail along, is
    not blocked.)"""

    list_display = ["created_at", "team", "actor_label", "action", "target_kind", "target_label", "address"]
    list_filter = ["action"]
    search_fields = ["actor_label", "target_label", "target_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
