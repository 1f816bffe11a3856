from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Parley messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here because Django requires it: messaging.tasks imports
        # the engine and the models, which the app registry must have loaded
        # first. Importing it registers the tasks with messaging.background
        # (and, through the engine, the timer kinds), in every process that
        # runs Django: web servers, workers and management commands alike.
        from messaging import tasks  # noqa: F401
        # Registers the receivers that close open sockets when a key, an
        # account or a member goes away by any path (the admin included).
        from messaging.services import accounts, sdk_access  # noqa: F401
