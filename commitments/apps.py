from django.apps import AppConfig


class CommitmentsConfig(AppConfig):
    name = "commitments"
    verbose_name = "Commitments"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

        from . import receivers
        from .models import Commitment, Milestone, Paragraph

        # Commitment.first_paragraph_number follows its paragraphs (commitments.receivers).
        m2m_changed.connect(
            receivers.paragraph_links_changed,
            sender=Commitment.paragraphs.through,
            dispatch_uid="first_paragraph_links",
        )
        post_save.connect(
            receivers.paragraph_saved, sender=Paragraph, dispatch_uid="first_paragraph_renumber"
        )
        pre_delete.connect(
            receivers.paragraph_deleting, sender=Paragraph, dispatch_uid="first_paragraph_deleting"
        )
        post_delete.connect(
            receivers.paragraph_deleted, sender=Paragraph, dispatch_uid="first_paragraph_deleted"
        )
        # Commitment.undone_milestone_due_on follows its milestones (commitments.receivers).
        post_save.connect(
            receivers.milestone_saved, sender=Milestone, dispatch_uid="undone_milestone_saved"
        )
        post_delete.connect(
            receivers.milestone_deleted, sender=Milestone, dispatch_uid="undone_milestone_deleted"
        )
