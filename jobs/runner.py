"""Running jobs in this process: one inline runner, used by commands (--inline), the demo's setup and
parent jobs that run their children themselves.

A job run here goes through the engine's normal claim (execute_job) in a thread of its own, so it
has its own Job row, progress, log, heartbeat and error exactly as if a worker ran it; a worker
that later receives the same message finds the row taken and does nothing.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection

from . import engine
from .errors import JobCancelled, JobError
from .models import Job, JobStatus

POLL_SECONDS = 1.0


def start_inline(job_id: int, worker: str = "inline", *, before: Callable[[], None] | None = None) -> threading.Thread:
    """Run one job in a new thread of this process; `before` runs first, in that thread."""
    def target():
        try:
            if before is not None:
                before()
            engine.execute_job(job_id, worker)
        finally:
            connection.close()  # the thread's own database connection

    thread = threading.Thread(target=target, name=f"job-{job_id}-inline", daemon=True)
    thread.start()
    return thread


class ChildJobs:
    """Runs or waits for the child jobs of a running parent job, keeping the parent's progress and
    cancel live.

    inline: the parent runs each child itself (one worker is enough, the parent occupies it).
    Otherwise children go to their queues and the parent waits; if none of the waiting children
    has started anywhere for `steal_after_s` seconds, no worker is serving them (the one-worker
    case) and the parent runs one here. The claim is the engine's compare-and-swap, so nothing runs
    twice. Cancelling the parent cancels the children it is running or waiting for.
    """

    def __init__(self, ctx: engine.JobContext, total: int, *, inline: bool, steal_after_s: float,
                 metrics: dict | None = None, before_run: Callable[[], None] | None = None):
        self.ctx, self.total = ctx, total
        self.inline, self.steal_after_s = inline, steal_after_s
        self.metrics = metrics  # saved with the parent's progress (e.g. its plan, updated in place)
        self.before_run = before_run
        self.done = 0

    def save(self, message: str) -> None:
        self.ctx.progress(self.done, self.total, metrics=self.metrics, message=message, force=True)

    def see_through(self, job_ids: list[int], label: str) -> None:
        """Return when every job succeeded; raise JobError naming the first that failed.

        Children that had already failed before this call (a resumed or retried parent) get one
        more go through the engine's retry; a child failing now fails the parent.
        """
        for job in Job.objects.filter(pk__in=job_ids, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]):
            self.ctx.log(f"retrying {job.kind} #{job.pk} ({job.status} before)")
            engine.retry_job(job.pk)
        pending = list(job_ids)
        idle_since = time.monotonic()
        while pending:
            self._check_cancel(pending)
            jobs = {job.pk: job for job in Job.objects.filter(pk__in=pending)}
            for pk in list(pending):
                job = jobs[pk]
                if job.status == JobStatus.SUCCEEDED:
                    pending.remove(pk)
                    self.done += 1
                    self.save(f"{label}: {job.kind} #{pk} done")
                elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                    self._cancel_children([other for other in pending if other != pk])
                    raise JobError(f"{job.kind} job #{pk} ({label}) {job.status}: {job.message}")
            queued = [pk for pk in pending if jobs[pk].status == JobStatus.QUEUED]
            if any(jobs[pk].status == JobStatus.RUNNING for pk in pending):
                idle_since = time.monotonic()
            stalled = self.steal_after_s > 0 and time.monotonic() - idle_since >= self.steal_after_s
            if queued and (self.inline or stalled):
                if stalled:
                    self.ctx.log(f"no worker started job #{queued[0]} in {self.steal_after_s:g} s: "
                                 "running it here")
                self._run_here(queued[0], label)
                idle_since = time.monotonic()
            elif pending:
                time.sleep(POLL_SECONDS)

    def _run_here(self, job_id: int, label: str) -> None:
        thread = start_inline(job_id, f"parent-{self.ctx.job_id}", before=self.before_run)
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            child = Job.objects.filter(pk=job_id).values("kind", "progress", "message").first()
            try:
                self.ctx.progress(self.done, self.total,
                                  message=f"{label}: {child['kind']} #{job_id} {100 * child['progress']:.0f}% "
                                          f"{child['message']}"[:200])
            except JobCancelled:
                self._cancel_children([job_id])
                thread.join()
                raise

    def _check_cancel(self, pending: list[int]) -> None:
        try:
            self.ctx.check_cancelled()
        except JobCancelled:
            self._cancel_children(pending)
            raise

    def _cancel_children(self, job_ids) -> None:
        for pk in job_ids:
            try:
                engine.cancel_job(pk)
            except JobError:
                pass  # already finished
        self.ctx.log(f"cancelled children {list(job_ids)}")
