# The Job model now lives in the jobs app (same table, gan_job). Only Django's state changes here:
# gan's foreign keys point at jobs.Job and gan forgets the model. Its content type is renamed too,
# so the permissions granted on jobs (gan.change_job -> jobs.change_job) and the admin's history
# follow it instead of being orphaned.

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="jobs", model="job").exists():
        ContentType.objects.using(db).filter(app_label="gan", model="job").update(app_label="jobs")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="gan", model="job").exists():
        ContentType.objects.using(db).filter(app_label="jobs", model="job").update(app_label="gan")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("gan", "0004_ingest"),
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='generatedimage', name='job',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='jobs.job'),
                ),
                migrations.AlterField(
                    model_name='trainingrun', name='job',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='training_run', to='jobs.job'),
                ),
                migrations.AlterField(
                    model_name='evaluation', name='job',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='evaluations', to='jobs.job'),
                ),
                migrations.AlterField(
                    model_name='importrecord', name='job',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='jobs.job'),
                ),
                migrations.DeleteModel(name='Job'),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
