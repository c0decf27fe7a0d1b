"""A running job's heartbeat: a thread that touches `Job.heartbeat_at` while the job runs, so a long
single step does not look like death to the reaper (reaper.py).

The heartbeat is what makes "given up on" safe. It survives database errors (reconnects and tries
again); if it cannot write for most of JOB_HEARTBEAT_TIMEOUT, or finds the row no longer its own,
the job stops at its next progress call (JobLost, raised by context.JobContext), before the reaper
can consider it lost, so two attempts never run at once.
"""
from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from .models import Job, JobStatus

log = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)


def reset_connection() -> None:
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


class Heartbeat(threading.Thread):
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
                except DB_ERRORS as exc:
                    reset_connection()
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
            reset_connection()

    def stop(self):
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=10)
