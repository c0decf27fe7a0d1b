"""The reaper: a running job whose heartbeat went stale lost its worker; requeue it, give up, or
(when a cancel was asked) mark it cancelled. And the sweeper: a job left QUEUED whose message may
have been lost (broker down when it was sent, a purged queue) is sent again.

Beat runs both every JOB_REAP_INTERVAL (on the `upkeep` queue, so no long job delays them) and
every worker runs them at start (tasks.py).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import engine
from .context import LOG_TAIL_LINES
from .models import Job, JobStatus

log = logging.getLogger(__name__)


def reap_stale_jobs(now=None) -> list[tuple[int, str]]:
    """Requeue RUNNING jobs whose heartbeat went stale; fail those out of attempts; mark cancelled
    those asked to stop (a cancel wins: requeueing one would leave it queued and unclaimable).
    Then sweep lost messages (sweep_queued_jobs).

    Safe to run from many places at once (beat, every worker's start, a command): each change is
    a compare-and-swap on the heartbeat value that was seen.

    JOB_MAX_ATTEMPTS counts the runs since the last manual retry (attempts - attempts_at_retry):
    the attempt number itself keeps growing so that it names one run forever.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    limit = settings.JOB_MAX_ATTEMPTS
    actions = []
    stale = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    for job in stale.only("pk", "attempts", "attempts_at_retry", "cancel_requested", "heartbeat_at",
                          "worker", "queue", "log_tail"):
        note = f"{now:%H:%M:%S} heartbeat from {job.worker or '?'} stale since {job.heartbeat_at:%H:%M:%S}"
        tail = "\n".join((job.log_tail.splitlines() + [note])[-LOG_TAIL_LINES:])
        same_run = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts,
                                      heartbeat_at=job.heartbeat_at)
        used = job.attempts - job.attempts_at_retry
        if job.cancel_requested:
            if same_run.update(status=JobStatus.CANCELLED, finished_at=now, log_tail=tail,
                               message="cancelled (its worker was lost before it could stop)"):
                actions.append((job.pk, "cancelled"))
        elif used < limit:
            with transaction.atomic():
                if same_run.update(status=JobStatus.QUEUED, worker="", log_tail=tail, queued_at=now,
                                   dispatched_at=now,
                                   message=f"worker lost; requeued (attempt {used} of {limit} used)"):
                    transaction.on_commit(lambda pk=job.pk, q=job.queue: engine.dispatch(pk, q))
                    actions.append((job.pk, "requeued"))
        elif same_run.update(status=JobStatus.FAILED, finished_at=now, log_tail=tail,
                             message="worker lost too many times",
                             error=f"The worker running this job was lost {used} times "
                                   f"(heartbeat older than {settings.JOB_HEARTBEAT_TIMEOUT:.0f} s); "
                                   f"giving up after JOB_MAX_ATTEMPTS={limit}."):
            actions.append((job.pk, "failed"))
    actions += sweep_queued_jobs(now)
    for pk, action in actions:
        log.warning("reaper: job %s %s", pk, action)
    return actions


def sweep_queued_jobs(now=None) -> list[tuple[int, str]]:
    """Send again the message of every job QUEUED for longer than JOB_REDISPATCH_AFTER since its
    last send, waiting twice as long before each further send.

    Nothing here can tell a lost message from one still waiting behind other jobs in the broker,
    so a copy is sent either way: a duplicate is harmless (the claim is a compare-and-swap; the
    copy that finds the job taken exits at once), and the doubling wait keeps a job that waits
    for hours behind a busy worker to a handful of copies. Jobs stored for an in-process run
    (never dispatched) are left alone.
    """
    grace = settings.JOB_REDISPATCH_AFTER
    if grace <= 0:
        return []
    now = now or timezone.now()
    actions = []
    waiting = Job.objects.filter(status=JobStatus.QUEUED, dispatched_at__lte=now - timedelta(seconds=grace))
    for job in waiting.only("pk", "queue", "queued_at", "dispatched_at", "created_at"):
        queued_at = job.queued_at or job.created_at
        wait = max(grace, (job.dispatched_at - queued_at).total_seconds())
        if (now - job.dispatched_at).total_seconds() < wait:
            continue
        with transaction.atomic():
            if Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED,
                                  dispatched_at=job.dispatched_at).update(dispatched_at=now):
                transaction.on_commit(lambda pk=job.pk, q=job.queue: engine.dispatch(pk, q))
                actions.append((job.pk, "sent again"))
    return actions
