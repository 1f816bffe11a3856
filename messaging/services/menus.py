"""Persistent menus (Smooch v1 `menu` and `integrations/{id}/menu`): get,
set and remove an app's menu or one integration's own, and push the menu
a channel shows to its platform.

A channel with a menu of its own (the Integration class's `shows_menu`:
Messenger, Telegram) shows its integration's menu, else the app's. Every
change enqueues, once the transaction commits, the task `push_menu` for
each integration whose shown menu it changes; the task reads the menu as it
is then, so a late or repeated push sends the current menu, never an old
one. The items are checked by messaging.validators.validate_menu.
"""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging import background, events
from messaging.integrations.base import PlatformError
from messaging.integrations.registry import integration_class
from messaging.models import Integration, Menu
from messaging.models.menus import app_menu, effective_menu
from messaging.services.errors import Conflict, NotFound
from messaging.services.integrations import get_integration, record_error, scrub

logger = logging.getLogger(__name__)

# A push the platform could not take now (network, 5xx, rate limit) is
# tried again this much later, each time twice as late, this many times.
PUSH_RETRY = timedelta(seconds=30)
PUSH_ATTEMPTS = 5


def menu_json(menu: Menu | None) -> dict:
    """A menu as the API returns it: `{"name"?, "items"}`; no menu is
    `{"items": []}`, as the reference's DELETE answers."""
    if menu is None:
        return {"items": []}
    shown = {"items": [dict(item) for item in menu.items]}
    if menu.name:
        shown = {"name": menu.name, **shown}
    return shown


def get_app_menu(app) -> Menu | None:
    return app_menu(app.id)


def set_app_menu(app, *, name: str, items: list) -> Menu:
    """Replace the app's menu (created when it has none)."""
    with transaction.atomic():
        menu = Menu.objects.select_for_update().filter(app=app, integration__isnull=True).first()
        if menu is None:
            menu = Menu(app=app)
        menu.name, menu.items, menu.updated_at = name, items, timezone.now()
        try:
            with transaction.atomic():
                menu.save()
        except IntegrityError:  # another request created it first: this one replaces it
            menu = Menu.objects.select_for_update().get(app=app, integration__isnull=True)
            menu.name, menu.items, menu.updated_at = name, items, timezone.now()
            menu.save()
        _push_app_menu(app)
    return menu


def delete_app_menu(app) -> None:
    with transaction.atomic():
        Menu.objects.filter(app=app, integration__isnull=True).delete()
        _push_app_menu(app)


def get_integration_menu(app, integration_id: str) -> Menu | None:
    """The integration's own menu (None when it shows the app's)."""
    integration = get_integration(app, integration_id)
    return Menu.objects.filter(integration=integration).first()


def create_integration_menu(app, integration_id: str, *, name: str, items: list) -> Menu:
    """The integration's own menu; 409 when it has one (PUT replaces it)."""
    integration = get_integration(app, integration_id)
    try:
        with transaction.atomic():
            menu = Menu.objects.create(app=app, integration=integration, name=name, items=items)
            _push(integration)
    except IntegrityError as error:
        raise Conflict(f"Integration {integration_id} has a menu: update it with PUT.") from error
    return menu


def update_integration_menu(app, integration_id: str, *, name: str, items: list) -> Menu:
    """Replace the integration's own menu (created when it has none)."""
    integration = get_integration(app, integration_id)
    with transaction.atomic():
        menu, _ = Menu.objects.select_for_update().get_or_create(
            integration=integration, defaults={"app": app, "name": name, "items": items})
        menu.name, menu.items, menu.updated_at = name, items, timezone.now()
        menu.save()
        _push(integration)
    return menu


def delete_integration_menu(app, integration_id: str) -> None:
    """The integration shows the app's menu again; 404 when it had none of its own."""
    integration = get_integration(app, integration_id)
    with transaction.atomic():
        deleted, _ = Menu.objects.filter(integration=integration).delete()
        if not deleted:
            raise NotFound(f"Integration {integration_id} has no menu of its own.")
        _push(integration)


def _shows_menu(integration: Integration) -> bool:
    return integration_class(integration.type).shows_menu


def _push(integration: Integration) -> None:
    if _shows_menu(integration):
        background.enqueue_on_commit("push_menu", integration.id)


def _push_app_menu(app) -> None:
    """The app's menu changed: push it where no integration menu overrides it."""
    for integration in Integration.objects.filter(app=app, menu__isnull=True):
        _push(integration)


def push(integration_id: str, attempt: int = 1) -> None:
    """Send the menu the integration shows now to its platform (the task
    `push_menu`); nothing when the integration is gone. A transient failure
    is tried again later (PUSH_ATTEMPTS in all); refused credentials put the
    integration in error; any other refusal is an `integration:error` log
    entry, the integration staying active (its messages still go)."""
    integration = Integration.objects.select_related("app").filter(pk=integration_id).first()
    if integration is None or not _shows_menu(integration):
        return
    menu = effective_menu(integration)
    try:
        integration_class(integration.type)(integration).push_menu(menu_json(menu) if menu else None)
    except PlatformError as error:
        if error.code == "bad_credentials":
            record_error(integration, error)
            return
        if not error.permanent and attempt < PUSH_ATTEMPTS:
            logger.info("integration %s: menu push failed (%s), trying again", integration.id, error.message)
            background.enqueue_on_commit("push_menu", integration.id, attempt + 1,
                                         run_after=timezone.now() + PUSH_RETRY * 2 ** (attempt - 1))
            return
        message = scrub(integration_class(integration.type), integration.credentials, error.message)[:1000]
        logger.warning("integration %s: menu push failed: %s", integration.id, message)
        with transaction.atomic():
            events.emit("integration:error", app=integration.app,
                        summary=f"{integration.type} menu not pushed: {message}"[:500],
                        detail={"integration": {"_id": integration.id, "type": integration.type},
                                "error": {**error.as_json(), "message": message}})
