"""The job engine: every long piece of work is a Job row first, a Celery message second.

State machine (each arrow is one compare-and-swap UPDATE, so two workers or two reapers racing on
the same row cannot both win):

    QUEUED --claim--> RUNNING --finish--> SUCCEEDED
      |                  |----fail----> FAILED
      |                  |----cancel flag seen--> CANCELLED
      |                  '----heartbeat stale (reaper.py)--> QUEUED again (attempts < max), FAILED,
      |                                                      or CANCELLED when a cancel was asked
      '----cancel--> CANCELLED

A message delivered twice (redelivery, a duplicate send, two workers) finds the row no longer
QUEUED and exits. A run is identified by (job id, attempt number), and attempt numbers only grow
(a retry keeps counting): a worker the reaper has given up on cannot overwrite the row of the run
that replaced it, nor, through JobContext.fence(), its files or other rows.

The heartbeat (heartbeat.py) is what makes "given up on" safe. It survives database errors
(reconnects and tries again); if it cannot write for most of JOB_HEARTBEAT_TIMEOUT, or finds the row
no longer its own, the job stops at its next progress call (JobLost), before the reaper can consider
it lost, so two attempts never run at once.

Kinds come from the registry (registry.py); their function gets a JobContext (context.py) for
progress, logging and cooperative cancellation, and its params dataclass. This app knows nothing
about GANs or studies.
"""
from __future__ import annotations

import logging
import traceback
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .context import JobContext
from .errors import JobCancelled, JobError, JobLost
from .heartbeat import Heartbeat
from .models import Job, JobStatus, Queue
from .registry import KINDS, build_params, params_json

log = logging.getLogger(__name__)

# The Celery task that runs a job (tasks.py); sent by name so this module needs no import of it.
RUN_JOB_TASK = "jobs.run_job"

# JobContext (context.py) is what execute_job hands every body; kinds import it from here or there.
__all__ = ["JobCancelled", "JobContext", "JobError", "JobLost", "cancel_job", "claim_job", "create_job",
           "dispatch", "execute_job", "retry_job"]


# --- Creating, dispatching, cancelling, retrying (called from admin, commands, API) ----------------


def create_job(kind: str, params: Any = None, *, user=None, queue: str | None = None,
               enqueue: bool = True) -> Job:
    """Validate, store and (after the transaction commits) enqueue a job.

    enqueue=False stores it without a message, for a caller that runs it in-process with
    execute_job (the demo's setup, before any worker is up).
    """
    if kind not in KINDS:
        raise JobError(f"unknown job kind {kind!r}; known kinds: {sorted(KINDS)}")
    spec = KINDS[kind]
    queue = queue or spec.queue
    if queue not in Queue.values:
        raise JobError(f"unknown queue {queue!r}; queues: {Queue.values}")
    clean = params_json(build_params(spec.params, params))
    now = timezone.now()
    with transaction.atomic():
        # dispatched_at stays empty for a job run in-process: the sweeper never sends it to a worker.
        job = Job.objects.create(
            kind=kind, params=clean, queue=queue, launched_by=user if user and user.pk else None,
            queued_at=now, dispatched_at=now if enqueue else None,
        )
        if enqueue:
            transaction.on_commit(lambda: dispatch(job.pk, queue))
    return job


def dispatch(job_id: int, queue: str) -> bool:
    """Send the message that carries only the job id, to the job's queue; False if the broker
    refused it.

    The row is already committed when this runs, so a broker that is down must not turn into an
    error for whoever launched the job: the job stays QUEUED and the sweeper (reaper.py) sends it
    again after JOB_REDISPATCH_AFTER.
    """
    try:
        current_app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue)
    except Exception as exc:  # kombu raises many kinds (connection refused, timeout, auth)
        log.warning("job %s: could not send its message to queue %r (%s: %s); the sweeper sends it "
                    "again later", job_id, queue, type(exc).__name__, exc)
        return False
    return True


def cancel_job(job_id: int) -> Job:
    """Queued jobs are cancelled at once; running ones are asked to stop at their next step."""
    now = timezone.now()
    if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, message="cancelled"
    ):
        return Job.objects.get(pk=job_id)
    if Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(cancel_requested=True):
        return Job.objects.get(pk=job_id)
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise JobError(f"job #{job_id} does not exist")
    raise JobError(f"job #{job_id} has already finished ({job.status}); there is nothing to cancel")


def retry_job(job_id: int) -> Job:
    """Run a failed or cancelled job again (resumable kinds continue from their checkpoint).

    The attempt counter keeps growing (its next run is attempts + 1, a number no earlier run had);
    JOB_MAX_ATTEMPTS counts from here, through attempts_at_retry.
    """
    now = timezone.now()
    with transaction.atomic():
        updated = Job.objects.filter(
            pk=job_id, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]
        ).update(
            status=JobStatus.QUEUED, cancel_requested=False, error="", attempts_at_retry=F("attempts"),
            finished_at=None, worker="", message="retry requested", queued_at=now, dispatched_at=now,
        )
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise JobError(f"job #{job_id} does not exist")
        if not updated:
            raise JobError(f"only failed or cancelled jobs can be retried; #{job_id} is {job.status}")
        transaction.on_commit(lambda: dispatch(job.pk, job.queue))
    return job


# --- Running (called by the Celery task) -------------------------------------------------------------


def claim_job(job_id: int, worker: str) -> Job | None:
    """QUEUED -> RUNNING, atomically. None when someone else claimed it or it is not runnable."""
    now = timezone.now()
    # One transaction: the row read back is the one this UPDATE wrote (its attempt number names
    # this run), not a later state some other process wrote in between.
    with transaction.atomic():
        won = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, cancel_requested=False).update(
            status=JobStatus.RUNNING, attempts=F("attempts") + 1, worker=worker[:255],
            started_at=now, heartbeat_at=now, finished_at=None, message="running",
        )
        return Job.objects.get(pk=job_id) if won else None


def execute_job(job_id: int, worker: str) -> str:
    """Claim and run one job to its end. Returns what happened, for the worker's log."""
    job = claim_job(job_id, worker)
    if job is None:
        return "not claimed (already taken, finished or cancelled)"
    spec = KINDS.get(job.kind)
    heartbeat = Heartbeat(job.pk, job.attempts)
    ctx = JobContext(job, heartbeat)
    if spec is None:  # a worker running older code than the web server
        ctx.fail(f"this worker does not know job kind {job.kind!r}")
        return "unknown kind"
    heartbeat.start()
    try:
        ctx.log(f"attempt {job.attempts} on {worker}")
        params = build_params(spec.params, dict(job.params))
        metrics = spec.function()(ctx, params) or {}
        ctx.finish(metrics)
        return "succeeded"
    except JobCancelled:
        ctx.mark_cancelled()
        return "cancelled"
    except JobLost as exc:
        log.warning("job %s attempt %s stopped: %s", job.pk, job.attempts, exc or "taken over by another run")
        return f"lost ({exc or 'taken over by another run'})"
    except JobError as exc:  # a failure the job foresaw (bad input): its message says it all
        ctx.fail(str(exc))
        return "failed"
    except Exception as exc:  # the job's own failure: record it, the worker lives on
        ctx.fail(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        return "failed"
    finally:
        heartbeat.stop()
