"""The Job table: one row per unit of long work (training, generation, scoring, import, ...).

A job's row is the source of truth; the Celery message only carries its id. See jobs/engine.py for
the state machine and README.md ("Jobs") for why.
"""
from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Queue(models.TextChoices):
    GPU = "gpu", "GPU"
    CPU = "cpu", "CPU"


class Job(models.Model):
    kind = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    queue = models.CharField(max_length=16, choices=Queue.choices, default=Queue.CPU)
    params = models.JSONField(default=dict, blank=True)

    progress = models.FloatField(default=0.0, help_text="0..1")
    step = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    log_tail = models.TextField(blank=True, help_text="The last lines the job logged.")
    error = models.TextField(blank=True, help_text="The error and its traceback, when it failed.")

    attempts = models.PositiveIntegerField(
        default=0, help_text="How many times a worker claimed it; only grows, so (job, attempt) names one run.")
    attempts_at_retry = models.PositiveIntegerField(
        default=0, help_text="Attempts already used when it was last retried by hand; JOB_MAX_ATTEMPTS "
                             "counts the runs after that.")
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=255, blank=True)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When it last became QUEUED and when its last message was sent: the sweeper (reaper.py) sends
    # again for a job left queued past JOB_REDISPATCH_AFTER, less often the longer it has waited.
    queued_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table was created by the gan app before the engine became an app of its own; keeping
        # its name lets a database migrated by the old code upgrade without copying any rows.
        db_table = "gan_job"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=1),
                name="job_progress_between_0_and_1",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def duration(self):
        if not self.started_at:
            return None
        from django.utils import timezone

        return (self.finished_at or timezone.now()) - self.started_at
