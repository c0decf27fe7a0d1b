"""The reaper: a running job whose heartbeat went stale lost its worker; requeue it or give up.

Beat runs it every JOB_REAP_INTERVAL and every worker runs it at start (tasks.py).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import engine
from .models import Job, JobStatus

log = logging.getLogger(__name__)


def reap_stale_jobs(now=None) -> list[tuple[int, str]]:
    """Requeue RUNNING jobs whose heartbeat went stale; fail those out of attempts.

    Safe to run from many places at once (beat, every worker's start, a command): each change is
    a compare-and-swap on the heartbeat value that was seen.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    actions = []
    stale = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    for job in stale.only("pk", "attempts", "heartbeat_at", "worker", "queue", "log_tail"):
        note = f"{now:%H:%M:%S} heartbeat from {job.worker or '?'} stale since {job.heartbeat_at:%H:%M:%S}"
        tail = "\n".join((job.log_tail.splitlines() + [note])[-engine.LOG_TAIL_LINES:])
        same_run = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts,
                                      heartbeat_at=job.heartbeat_at)
        if job.attempts < settings.JOB_MAX_ATTEMPTS:
            with transaction.atomic():
                if same_run.update(status=JobStatus.QUEUED, worker="", log_tail=tail,
                                   message=f"worker lost; requeued (attempt {job.attempts} of "
                                           f"{settings.JOB_MAX_ATTEMPTS} used)"):
                    transaction.on_commit(lambda pk=job.pk, q=job.queue: engine.dispatch(pk, q))
                    actions.append((job.pk, "requeued"))
        elif same_run.update(status=JobStatus.FAILED, finished_at=now, log_tail=tail,
                             message="worker lost too many times",
                             error=f"The worker running this job was lost {job.attempts} times "
                                   f"(heartbeat older than {settings.JOB_HEARTBEAT_TIMEOUT:.0f} s); "
                                   f"giving up after JOB_MAX_ATTEMPTS={settings.JOB_MAX_ATTEMPTS}."):
            actions.append((job.pk, "failed"))
    for pk, action in actions:
        log.warning("reaper: job %s %s", pk, action)
    return actions
