from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Tracker"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from commitments.changes import public_change

        from .events import commitment_saved
        from .notifications import public_change_received

        # Keeps each commitment's deadline event in step with its target date.
        post_save.connect(
            commitment_saved, sender="commitments.Commitment", dispatch_uid="deadline_event_sync"
        )
        # Each public change of the record becomes news for its followers.
        public_change.connect(public_change_received, dispatch_uid="public_change_news")
