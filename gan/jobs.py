"""The job engine: every long piece of work is a Job row first, a Celery message second.

State machine (each arrow is one compare-and-swap UPDATE, so two workers or two reapers racing on
the same row cannot both win):

    QUEUED --claim--> RUNNING --finish--> SUCCEEDED
      |                  |----fail----> FAILED
      |                  |----cancel flag seen--> CANCELLED
      |                  '----heartbeat stale (reaper)--> QUEUED again (attempts < max) or FAILED
      '----cancel--> CANCELLED

A message delivered twice (redelivery, a duplicate send, two workers) finds the row no longer
QUEUED and exits. A run is identified by (job id, attempt number): a worker the reaper has given up
on cannot overwrite the row of the run that replaced it.

Job kinds register with @job_kind; their function gets a JobContext for progress, logging and
cooperative cancellation. This module knows nothing about GANs so studies/ can use it too.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
import typing
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import FINISHED_STATUSES, Job, JobStatus, Queue

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 50


class JobError(ValueError):
    """The caller asked for something the engine refuses (unknown kind, bad params, bad state)."""


class JobCancelled(Exception):
    """Raised inside a running job when a cancel was requested; the engine records CANCELLED."""


class JobLost(Exception):
    """Raised inside a running job whose row was taken over (reaped and re-run elsewhere)."""


# --- Registry of job kinds -----------------------------------------------------------------------


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[["JobContext", dict], dict | None]
    queue: str
    params: type | None  # a dataclass describing the params; None means "no params"
    label: str


KINDS: dict[str, JobKind] = {}


def job_kind(name: str, *, queue: str, params: type | None = None, label: str = ""):
    """Register `fn(ctx, params: dict) -> metrics dict | None` as a job kind."""
    if queue not in Queue.values:
        raise ValueError(f"queue must be one of {Queue.values}, not {queue!r}")

    def register(fn):
        KINDS[name] = JobKind(name, fn, queue, params, label or name)
        return fn

    return register


def parse_params(params_class: type | None, params: Any) -> dict:
    """Check params against the kind's dataclass: unknown keys and wrong types are refused.

    Returns the full params (defaults filled in) as a JSON-ready dict. The dataclass's own
    __post_init__ checks ranges and raises ValueError with a message for the user.
    """
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise JobError(f"params must be a JSON object, not {type(params).__name__}")
    if params_class is None:
        if params:
            raise JobError(f"this job kind takes no params (got {sorted(params)})")
        return {}
    fields = {f.name: f for f in dataclasses.fields(params_class)}
    hints = typing.get_type_hints(params_class)
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise JobError(f"unknown params {unknown}; allowed: {sorted(fields)}")
    for key, value in params.items():
        expected = hints.get(key) if isinstance(hints.get(key), type) else None
        if expected is None:
            continue  # complex annotations are left to the dataclass's own checks
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok and not (value is None and fields[key].default is None):
            raise JobError(f"param {key!r} must be {expected.__name__}, not {value!r}")
    try:
        instance = params_class(**params)
    except (TypeError, ValueError) as exc:
        raise JobError(f"invalid params: {exc}") from exc
    return dataclasses.asdict(instance)


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
    clean = parse_params(spec.params, params)
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind, params=clean, queue=queue, launched_by=user if user and user.pk else None
        )
        if enqueue:
            transaction.on_commit(lambda: dispatch(job.pk, queue))
    return job


def dispatch(job_id: int, queue: str) -> None:
    """Send the message that carries only the job id, to the job's queue."""
    from .tasks import run_job  # the task module imports this one

    run_job.apply_async(args=[job_id], queue=queue)


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
    """Run a failed or cancelled job again (resumable kinds continue from their checkpoint)."""
    with transaction.atomic():
        updated = Job.objects.filter(
            pk=job_id, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]
        ).update(
            status=JobStatus.QUEUED, cancel_requested=False, error="", attempts=0,
            finished_at=None, worker="", message="retry requested",
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
    ctx = JobContext(job)
    if spec is None:  # a worker running older code than the web server
        ctx.fail(f"this worker does not know job kind {job.kind!r}")
        return "unknown kind"
    heartbeat = _Heartbeat(job.pk, job.attempts)
    heartbeat.start()
    try:
        ctx.log(f"attempt {job.attempts} on {worker}")
        metrics = spec.run(ctx, dict(job.params)) or {}
        ctx.finish(metrics)
        return "succeeded"
    except JobCancelled:
        ctx.mark_cancelled()
        return "cancelled"
    except JobLost:
        return "lost (taken over by another run)"
    except Exception as exc:  # the job's own failure: record it, the worker lives on
        ctx.fail(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        return "failed"
    finally:
        heartbeat.stop()


class _Heartbeat(threading.Thread):
    """Touches heartbeat_at while the job runs, so a long single step does not look like death."""

    def __init__(self, job_id: int, attempt: int):
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.job_id, self.attempt = job_id, attempt
        self._stop_event = threading.Event()

    def run(self):
        try:
            while not self._stop_event.wait(settings.JOB_HEARTBEAT_INTERVAL):
                Job.objects.filter(
                    pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt
                ).update(heartbeat_at=timezone.now())
        except Exception:  # never let the heartbeat thread kill the worker
            log.exception("heartbeat of job %s stopped", self.job_id)
        finally:
            connection.close()

    def stop(self):
        self._stop_event.set()
        self.join(timeout=10)


class JobContext:
    """What a job function sees: progress, metrics, log lines, and the cancel flag.

    Writes are throttled to one per JOB_PROGRESS_MIN_INTERVAL; the last step always lands.
    Every write is conditioned on (status RUNNING, this attempt, no cancel request), so one
    UPDATE both records progress and notices a cancel or a takeover.
    """

    def __init__(self, job: Job):
        self.job_id = job.pk
        self.attempt = job.attempts
        self.params = dict(job.params)
        self.metrics: dict = dict(job.metrics)
        self.step, self.total = job.step, job.total
        self.message = ""
        self._lines: deque[str] = deque(job.log_tail.splitlines()[-LOG_TAIL_LINES:], LOG_TAIL_LINES)
        self._last_write = 0.0

    # -- called by job code

    def progress(self, step: int, total: int | None = None, *, metrics: dict | None = None,
                 message: str | None = None, force: bool = False) -> None:
        self.step = int(step)
        if total is not None:
            self.total = int(total)
        if metrics:
            self.metrics.update(metrics)
        if message is not None:
            self.message = message[:500]
        done = self.total and self.step >= self.total
        if force or done or time.monotonic() - self._last_write >= settings.JOB_PROGRESS_MIN_INTERVAL:
            self._write()

    def log(self, line: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        for part in str(line).splitlines() or [""]:
            self._lines.append(f"{stamp} {part}")
        log.info("job %s: %s", self.job_id, line)

    def check_cancelled(self) -> None:
        """Raise JobCancelled if asked to stop (throttled like progress)."""
        if time.monotonic() - self._last_write >= settings.JOB_PROGRESS_MIN_INTERVAL:
            self._write()

    def cancel_requested(self) -> bool:
        try:
            self.check_cancelled()
        except JobCancelled:
            return True
        return False

    # -- called by the engine

    def _fields(self) -> dict:
        progress = min(1.0, self.step / self.total) if self.total else 0.0
        return dict(step=self.step, total=self.total, progress=progress, metrics=self.metrics,
                    message=self.message, log_tail="\n".join(self._lines),
                    heartbeat_at=timezone.now())

    def _write(self) -> None:
        self._last_write = time.monotonic()
        if self._update_running(**self._fields()):
            return
        job = Job.objects.filter(pk=self.job_id).values("status", "attempts", "cancel_requested").first()
        if job and job["status"] == JobStatus.RUNNING and job["attempts"] == self.attempt:
            raise JobCancelled()
        raise JobLost()

    def _update_running(self, **fields) -> int:
        def update():
            return Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING,
                                      attempts=self.attempt, cancel_requested=False).update(**fields)
        try:
            return update()
        except (OperationalError, InterfaceError):
            # A job can outlive its database connection (server restart, idle timeout during a
            # long step): reconnect once rather than lose the run.
            connection.close()
            return update()

    def _end(self, status: str, **extra) -> bool:
        fields = self._fields()
        fields.update(status=status, finished_at=timezone.now(), **extra)
        return bool(Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING,
                                       attempts=self.attempt).update(**fields))

    def finish(self, metrics: dict) -> None:
        self.metrics.update(metrics)
        if self.total:
            self.step = self.total
        self.message = self.message or "done"
        self.log("succeeded")
        self._end(JobStatus.SUCCEEDED, progress=1.0)

    def fail(self, error: str) -> None:
        self.message = error.splitlines()[0][:500]
        self.log(f"failed: {self.message}")
        self._end(JobStatus.FAILED, error=error)

    def mark_cancelled(self) -> None:
        self.message = "cancelled"
        self.log("cancelled on request")
        self._end(JobStatus.CANCELLED)


# --- The reaper --------------------------------------------------------------------------------------


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
        tail = "\n".join((job.log_tail.splitlines() + [note])[-LOG_TAIL_LINES:])
        same_run = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts,
                                      heartbeat_at=job.heartbeat_at)
        if job.attempts < settings.JOB_MAX_ATTEMPTS:
            with transaction.atomic():
                if same_run.update(status=JobStatus.QUEUED, worker="", log_tail=tail,
                                   message=f"worker lost; requeued (attempt {job.attempts} of "
                                           f"{settings.JOB_MAX_ATTEMPTS} used)"):
                    transaction.on_commit(lambda pk=job.pk, q=job.queue: dispatch(pk, q))
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


def progress_snapshot(job_ids) -> list[dict]:
    """What the admin's progress bars poll."""
    rows = Job.objects.filter(pk__in=job_ids)
    out = []
    for job in rows:
        duration = job.duration
        out.append(dict(
            id=job.pk, status=job.status, progress=round(job.progress, 4), step=job.step,
            total=job.total, message=job.message, attempts=job.attempts,
            duration_s=round(duration.total_seconds(), 1) if duration else None,
            finished=job.status in FINISHED_STATUSES,
        ))
    return out
