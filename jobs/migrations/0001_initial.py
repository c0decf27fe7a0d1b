# The Job model moved here from the gan app. Its table (gan_job) was created by gan's 0001 and
# keeps its name and rows: this migration only tells Django's state that the model now belongs to
# the jobs app (gan's 0005 removes it from gan's state and moves its content type and permissions).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("gan", "0004_ingest"),  # created the table this model keeps
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Job',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(db_index=True, max_length=64)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], db_index=True, default='queued', max_length=16)),
                        ('queue', models.CharField(choices=[('gpu', 'GPU'), ('cpu', 'CPU')], default='cpu', max_length=16)),
                        ('params', models.JSONField(blank=True, default=dict)),
                        ('progress', models.FloatField(default=0.0, help_text='0..1')),
                        ('step', models.PositiveBigIntegerField(default=0)),
                        ('total', models.PositiveBigIntegerField(default=0)),
                        ('metrics', models.JSONField(blank=True, default=dict)),
                        ('message', models.CharField(blank=True, max_length=500)),
                        ('log_tail', models.TextField(blank=True, help_text='The last lines the job logged.')),
                        ('error', models.TextField(blank=True, help_text='The error and its traceback, when it failed.')),
                        ('attempts', models.PositiveIntegerField(default=0, help_text='How many times a worker claimed it.')),
                        ('cancel_requested', models.BooleanField(default=False)),
                        ('worker', models.CharField(blank=True, max_length=255)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('launched_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'gan_job',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['status', 'heartbeat_at'], name='job_status_heartbeat')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('progress__gte', 0), ('progress__lte', 1)), name='job_progress_between_0_and_1')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
