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
                 before_run: Callable[[], None] | None = None, parallel: int = 1):
        self.ctx, self.total = ctx, total
        self.inline, self.steal_after_s = inline, steal_after_s
        self.before_run = before_run
        self.parallel = max(1, int(parallel))  # children run here at the same time (one per core)
        self.done = 0
        self._threads: dict[int, threading.Thread] = {}

    def save(self, message: str) -> None:
        self.ctx.progress(self.done, self.total, message=message, force=True)

    def see_through(self, job_ids: list[int], label: str,
                    tolerate: Callable[[Job], bool] | None = None) -> list[int]:
        """Return when every job has finished; raise JobError naming the first that failed, unless
        `tolerate(job)` accepts the failure (e.g. a training run that diverged: an experimental
        outcome to report, not a broken suite). Returns the ids of the tolerated failures.

        Children that had already failed before this call (a resumed or retried parent) get one
        more go through the engine's retry, unless tolerated.
        """
        tolerated: list[int] = []
        for job in Job.objects.filter(pk__in=job_ids, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]):
            if job.status == JobStatus.FAILED and tolerate is not None and tolerate(job):
                continue
            self.ctx.log(f"retrying {job.kind} #{job.pk} ({job.status} before)")
            engine.retry_job(job.pk)
        pending = list(job_ids)
        idle_since = time.monotonic()
        try:
            while pending:
                self._check_cancel(pending)
                jobs = {job.pk: job for job in Job.objects.filter(pk__in=pending)}
                for pk in list(pending):
                    job = jobs[pk]
                    if job.status == JobStatus.SUCCEEDED:
                        pending.remove(pk)
                        self.done += 1
                        self.save(f"{label}: {job.kind} #{pk} done")
                    elif job.status == JobStatus.FAILED and tolerate is not None and tolerate(job):
                        pending.remove(pk)
                        tolerated.append(pk)
                        self.done += 1
                        self.ctx.log(f"{label}: {job.kind} #{pk} failed and is reported as such: {job.message}")
                    elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                        self._cancel_children([other for other in pending if other != pk])
                        raise JobError(f"{job.kind} job #{pk} ({label}) {job.status}: {job.message}")
                queued = [pk for pk in pending if jobs[pk].status == JobStatus.QUEUED and pk not in self._threads]
                if any(jobs[pk].status == JobStatus.RUNNING for pk in pending):
                    idle_since = time.monotonic()
                stalled = self.steal_after_s > 0 and time.monotonic() - idle_since >= self.steal_after_s
                self._reap_threads()
                if queued and (self.inline or stalled) and len(self._threads) < self.parallel:
                    if stalled:
                        self.ctx.log(f"no worker started job #{queued[0]} in {self.steal_after_s:g} s: "
                                     "running it here")
                    self._threads[queued[0]] = start_inline(queued[0], f"parent-{self.ctx.job_id}",
                                                            before=self.before_run)
                    idle_since = time.monotonic()
                    continue
                if pending:
                    self._report(label)
                    time.sleep(POLL_SECONDS)
        except JobCancelled:
            self._cancel_children(list(self._threads))
            self._join_threads()
            raise
        return tolerated

    def _reap_threads(self) -> None:
        for pk, thread in list(self._threads.items()):
            if not thread.is_alive():
                thread.join()
                del self._threads[pk]

    def _join_threads(self) -> None:
        for thread in self._threads.values():
            thread.join()
        self._threads.clear()

    def _report(self, label: str) -> None:
        """The parent's progress line names the children running here."""
        if not self._threads:
            return
        children = Job.objects.filter(pk__in=list(self._threads)).values("pk", "kind", "progress", "message")
        text = "; ".join(f"{c['kind']} #{c['pk']} {100 * c['progress']:.0f}% {c['message']}" for c in children)
        self.ctx.progress(self.done, self.total, message=f"{label}: {text}"[:200])

    def _check_cancel(self, pending: list[int]) -> None:
        try:
            self.ctx.check_cancelled()
        except JobCancelled:
            self._cancel_children(pending)
            self._join_threads()
            raise

    def _cancel_children(self, job_ids) -> None:
        for pk in job_ids:
            try:
                engine.cancel_job(pk)
            except JobError:
                pass  # already finished
        self.ctx.log(f"cancelled children {list(job_ids)}")
