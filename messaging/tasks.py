"""Background tasks (django.tasks on django-tasks-db), registered by name
with messaging.background, through which the engine enqueues them (the
engine never imports this module; this module imports the engine).
MessagingConfig.ready() imports it, so every Django process knows them.

Arguments are ids; each task reloads its rows and returns early when the
work is already done. The delivery and webhook-event rows are the source of
truth: a task only claims due rows and works them
(messaging.delivery.claims), so a lost or repeated task costs nothing but a
no-op. Retries are scheduled by the code (django-tasks-db never retries);
work due at a time is a timer row (messaging.delivery.timers), not a
delayed task. The paths (`messaging.tasks.send_deliveries`...) are what
stored task rows name: keep them.
"""

from django.tasks import task

from messaging import background
from messaging.delivery import sending, typing
from messaging.services import appusers, business_reads, inbound, menus
from messaging.webhooks import sender


@background.register
@task
def send_deliveries() -> int:
    """Send every due queued delivery (in claimed batches)."""
    return sending.run_due()


@background.register
@task
def send_platform_typing(client_id: str, state: str, name: str = "", avatar_url: str = "") -> None:
    typing.send_to_platform(client_id, state, name, avatar_url)


@background.register
@task
def send_webhooks() -> int:
    """POST every due webhook event (in claimed batches)."""
    return sender.run_due()


@background.register
@task
def process_inbound() -> int:
    """Work every due inbound platform event (in claimed batches)."""
    return inbound.run_due()


@background.register
@task
def send_link_confirmation(client_id: str) -> None:
    appusers.send_link_confirmation(client_id)


@background.register
@task
def send_platform_read(app_user_id: str) -> None:
    business_reads.send_to_platforms(app_user_id)


@background.register
@task
def push_menu(integration_id: str, attempt: int = 1) -> None:
    """Send the menu an integration shows to its platform."""
    menus.push(integration_id, attempt)
