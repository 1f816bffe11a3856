"""Persistent menus (Smooch v1 `menu`): one per app, and one per
integration that overrides the app's on that channel.

A menu is a name and 1 to 5 items, each `link` ({text, uri}) or `postback`
({text, payload}) with an `_id` of its own. The web widget shows the app's
menu; channels with a menu of their own (Messenger's persistent menu,
Telegram's bot commands) get the integration's menu, or the app's when the
integration has none (`effective_menu`). Changes go through
messaging.services.menus.
"""

from django.db import models
from django.utils import timezone

from messaging.ids import new_id
from messaging.models.apps import App, Integration


class Menu(models.Model):
    """An app's menu (`integration` None) or one integration's own."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="menus")
    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, null=True, blank=True,
                                       related_name="menu")
    name = models.CharField(max_length=100, blank=True)
    # [{"_id", "type": "link"|"postback", "text", "uri"|"payload"}], checked
    # by messaging.validators.validate_menu when stored.
    items = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One app-level menu per app (each integration's is one by its OneToOneField).
            models.UniqueConstraint(fields=["app"], condition=models.Q(integration__isnull=True),
                                    name="menu_one_per_app"),
        ]

    def __str__(self):
        return f"menu of {self.integration_id or self.app_id}"


def app_menu(app_id: str) -> Menu | None:
    return Menu.objects.filter(app_id=app_id, integration__isnull=True).first()


def effective_menu(integration) -> Menu | None:
    """The menu a channel shows: the integration's own, else its app's."""
    own = Menu.objects.filter(integration=integration).first()
    return own if own is not None else app_menu(integration.app_id)
