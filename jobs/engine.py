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

The heartbeat is what makes "given up on" safe. It survives database errors (reconnects and tries
again); if it cannot write for most of JOB_HEARTBEAT_TIMEOUT, or finds the row no longer its own,
the job stops at its next progress call (JobLost), before the reaper can consider it lost, so two
attempts never run at once.

Kinds come from the registry (registry.py); their function gets a JobContext for progress, logging
and cooperative cancellation, and its params dataclass. This app knows nothing about GANs or studies.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .errors import JobCancelled, JobError, JobLost
from .models import Job, JobStatus, Queue
from .registry import KINDS, build_params, params_json

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 50
# The Celery task that runs a job (tasks.py); sent by name so this module needs no import of it.
RUN_JOB_TASK = "jobs.run_job"

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
    heartbeat = _Heartbeat(job.pk, job.attempts)
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


_DB_ERRORS = (OperationalError, InterfaceError)


def _reset_connection() -> None:
    """Drop this thread's database connection so the next query opens a fresh one."""
    try:
        connection.close()
    except Exception:  # closing a connection the server already dropped can raise; it is gone anyway
        pass


def self_stop_after() -> float:
    """Seconds without a successful heartbeat after which a job stops itself: two beats before
    the reaper may call it lost (at least half the timeout), so its replacement never overlaps it."""
    timeout, interval = settings.JOB_HEARTBEAT_TIMEOUT, settings.JOB_HEARTBEAT_INTERVAL
    return max(timeout - 2 * interval, timeout / 2)


class _Heartbeat(threading.Thread):
    """Touches heartbeat_at while the job runs, so a long single step does not look like death.

    A failed write (server restart, network blip, SQLite busy) is retried on a fresh connection at
    the next beat. `lost` is set, and the job stops at its next progress call, when the row is no
    longer this attempt's or when no beat landed for self_stop_after() seconds: past that point
    the reaper may already be handing the job to another worker.
    """

    def __init__(self, job_id: int, attempt: int):
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.job_id, self.attempt = job_id, attempt
        self._stop_event = threading.Event()
        self.lost = threading.Event()
        self.lost_reason = ""
        self.last_ok = time.monotonic()
        self.ending = False  # the job is writing its final state: a row no longer RUNNING is expected

    def _touch(self) -> int:
        return Job.objects.filter(
            pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt
        ).update(heartbeat_at=timezone.now())

    def _give_up(self, reason: str) -> None:
        self.lost_reason = reason
        self.lost.set()
        log.error("job %s attempt %s: %s; stopping it", self.job_id, self.attempt, reason)

    def run(self):
        try:
            while not self._stop_event.wait(settings.JOB_HEARTBEAT_INTERVAL):
                try:
                    owned = self._touch()
                except _DB_ERRORS as exc:
                    _reset_connection()
                    silent = time.monotonic() - self.last_ok
                    log.warning("heartbeat of job %s failed (%s); retrying (%.0f s without one)",
                                self.job_id, exc, silent)
                    if silent >= self_stop_after():
                        self._give_up(f"no heartbeat could be written for {silent:.0f} s")
                        return
                    continue
                if not owned:
                    if not self.ending:
                        self._give_up("the job is no longer this attempt's (reaped or finished elsewhere)")
                    return
                self.last_ok = time.monotonic()
        except Exception as exc:  # never let the heartbeat thread kill the worker; nor run unwatched
            log.exception("heartbeat of job %s stopped", self.job_id)
            self._give_up(f"heartbeat failed: {type(exc).__name__}: {exc}")
        finally:
            _reset_connection()

    def stop(self):
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=10)


class JobContext:
    """What a job function sees: progress, metrics, log lines, and the cancel flag.

    Writes are throttled to one per JOB_PROGRESS_MIN_INTERVAL; the last step always lands.
    Every write is conditioned on (status RUNNING, this attempt, no cancel request), so one
    UPDATE both records progress and notices a cancel or a takeover. A progress write that fails
    on a database error is skipped (the next one carries the same state); whether the run may go
    on is the heartbeat's call.

    Writes a job makes elsewhere (files, rows of its own tables) go through fence() or
    fenced_replace(): they happen only while this attempt owns the row, and a takeover waits
    for them to finish.
    """

    def __init__(self, job: Job, heartbeat: _Heartbeat | None = None):
        self.job_id = job.pk
        self._heartbeat = heartbeat
        self.attempt = job.attempts
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

    def owns(self) -> bool:
        """Whether this attempt still owns the job (False when unsure: the database is away)."""
        if self._lost():
            return False
        try:
            return Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt).exists()
        except _DB_ERRORS:
            _reset_connection()
            return False

    @contextlib.contextmanager
    def fence(self) -> Iterator[None]:
        """Run the block only while this attempt owns the job; raise JobLost otherwise.

        The block runs in a transaction holding the job's row (SELECT ... FOR UPDATE; on SQLite
        the IMMEDIATE transaction's write lock), so the reaper cannot requeue the job between the
        check and the block's last write: keep it short (a rename, a few rows), not a whole step.
        A cancel request does not close the fence (a cancelled job saves before it stops).
        """
        self._raise_if_lost()
        with transaction.atomic():
            mine = list(Job.objects.select_for_update().filter(
                pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt).values_list("pk", flat=True))
            if not mine:
                raise JobLost(f"attempt {self.attempt} no longer owns job #{self.job_id}")
            yield

    def fenced_replace(self, source, target) -> None:
        """os.replace(source, target) under the fence: a finished temporary file becomes the real
        one only if this attempt still owns the job; otherwise the temporary file is removed."""
        try:
            with self.fence():
                os.replace(source, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(source)
            raise

    def _lost(self) -> bool:
        return self._heartbeat is not None and self._heartbeat.lost.is_set()

    def _raise_if_lost(self) -> None:
        if self._lost():
            raise JobLost(self._heartbeat.lost_reason)

    # -- called by the engine

    def _fields(self) -> dict:
        progress = min(1.0, self.step / self.total) if self.total else 0.0
        return dict(step=self.step, total=self.total, progress=progress, metrics=self.metrics,
                    message=self.message, log_tail="\n".join(self._lines),
                    heartbeat_at=timezone.now())

    def _write(self) -> None:
        self._last_write = time.monotonic()
        self._raise_if_lost()
        try:
            if self._update_running(**self._fields()):
                return
        except _DB_ERRORS as exc:
            _reset_connection()
            log.warning("job %s: progress not saved (%s); the next write carries it", self.job_id, exc)
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
        except _DB_ERRORS:
            # A job can outlive its database connection (server restart, idle timeout during a
            # long step): reconnect once rather than lose the run.
            _reset_connection()
            return update()

    def _end(self, status: str, **extra) -> bool:
        """The final write. A database error is retried on fresh connections for as long as the
        heartbeat keeps this attempt the owner: giving up early would have the job run again."""
        fields = self._fields()
        fields.update(status=status, finished_at=timezone.now(), **extra)
        if self._heartbeat is not None:
            self._heartbeat.ending = True
        deadline = time.monotonic() + self_stop_after()
        while True:
            try:
                return bool(Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING,
                                               attempts=self.attempt).update(**fields))
            except _DB_ERRORS as exc:
                _reset_connection()
                if self._lost() or time.monotonic() >= deadline:
                    log.error("job %s: could not record %s (%s); the reaper will requeue it",
                              self.job_id, status, exc)
                    return False
                time.sleep(min(1.0, settings.JOB_HEARTBEAT_INTERVAL))

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
