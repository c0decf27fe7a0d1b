"""Per-trial load counters (joins read them instead of counting a study's assignments), the
'withdrawn' assignment state, and an index for the periodic expiry job."""
from django.db import migrations, models
from django.db.models import Count, Q


def count_loads(apps, schema_editor):
    """Fill the new counters from the assignments that hold a slot today."""
    Trial = apps.get_model("studies", "Trial")
    Assignment = apps.get_model("studies", "Assignment")
    live = (Assignment.objects.filter(counts_toward_target=True, state__in=["active", "answered"], trial__role="main")
            .values("trial_id").annotate(n=Count("id"), left=Count("id", filter=Q(positive_side="left"))))
    for row in live:
        Trial.objects.filter(pk=row["trial_id"]).update(load=row["n"], left_load=row["left"])


class Migration(migrations.Migration):

    dependencies = [
        ("studies", "0002_stimulus_sources"),
    ]

    operations = [
        migrations.AddField(
            model_name="trial",
            name="load",
            field=models.PositiveIntegerField(
                default=0, help_text="Live assignments of non-preview raters: answered, or active until the "
                                     "periodic job expires them. Never above the study's target votes per item."),
        ),
        migrations.AddField(
            model_name="trial",
            name="left_load",
            field=models.PositiveIntegerField(
                default=0, help_text="Of `load`, those showing the heard sound's picture on the left (correlation)."),
        ),
        migrations.RunPython(count_loads, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="trial",
            constraint=models.CheckConstraint(condition=models.Q(("left_load__lte", models.F("load"))),
                                              name="trial_left_load_within_load"),
        ),
        migrations.AlterField(
            model_name="assignment",
            name="state",
            field=models.CharField(choices=[
                ("active", "Waiting for an answer"), ("answered", "Answered"),
                ("expired", "Expired (back in the pool)"),
                ("withdrawn", "Expired and given to another rater (no longer in this rater's plan)")],
                default="active", max_length=9),
        ),
        migrations.RemoveConstraint(model_name="assignment", name="assignment_state_valid"),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.CheckConstraint(
                condition=models.Q(("state__in", ["active", "answered", "expired", "withdrawn"])),
                name="assignment_state_valid"),
        ),
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(condition=models.Q(("state", "active")), fields=["expires_at"],
                               name="assignment_active_expiry"),
        ),
    ]
