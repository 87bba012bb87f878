from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .caching import connect_receivers

        # Cached page parts are forgotten when what they show is written.
        connect_receivers()
