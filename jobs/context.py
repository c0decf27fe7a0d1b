"""What a job's body sees while it runs: progress, metrics, log lines, the cancel flag, and the
fence that keeps its other writes to the attempt that owns the job (engine.py claims the row and
hands the body its JobContext)."""
from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .errors import JobCancelled, JobLost
from .heartbeat import DB_ERRORS, Heartbeat, reset_connection, self_stop_after
from .models import Job, JobStatus

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 50


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

    def __init__(self, job: Job, heartbeat: Heartbeat | None = None):
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
        except DB_ERRORS:
            reset_connection()
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
        except DB_ERRORS as exc:
            reset_connection()
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
        except DB_ERRORS:
            # A job can outlive its database connection (server restart, idle timeout during a
            # long step): reconnect once rather than lose the run.
            reset_connection()
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
            except DB_ERRORS as exc:
                reset_connection()
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
