from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def undone_milestone_due_fill(apps, schema_editor):
    """Each commitment's earliest undone milestone due date, in one UPDATE, as
    services.undone_milestone_due computes it."""
    Commitment = apps.get_model("commitments", "Commitment")
    Milestone = apps.get_model("commitments", "Milestone")
    undone = Milestone.objects.filter(
        commitment=OuterRef("pk"), done_on__isnull=True, due_on__isnull=False
    )
    # Only commitments with milestones: the others keep null without a subquery each.
    with_milestones = Milestone.objects.values("commitment_id")
    Commitment.objects.filter(pk__in=with_milestones).update(
        undone_milestone_due_on=Subquery(undone.order_by("due_on").values("due_on")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ("commitments", "0018_milestone_undone_due_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="commitment",
            name="undone_milestone_due_on",
            field=models.DateField(editable=False, null=True),
        ),
        migrations.RunPython(undone_milestone_due_fill, migrations.RunPython.noop),
    ]
