from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Tracker"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from .events import commitment_saved

        # Keeps each commitment's deadline event in step with its target date.
        post_save.connect(
            commitment_saved, sender="commitments.Commitment", dispatch_uid="deadline_event_sync"
        )
