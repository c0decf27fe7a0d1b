"""Follow a job from a command: run it here (inline) or watch a worker run it, showing its progress.

On a terminal the progress is one tqdm bar redrawn in place. Anywhere else (a log file, a pipe, CI)
redrawing makes no sense: each redraw would be a line of its own, so there it is one plain line per
PROGRESS_LOG_PERCENT of the job or per PROGRESS_LOG_SECONDS, whichever comes first, and a line is
never written twice. A failed job ends the command with one line (CommandError); the job's full
error, traceback included, is written only with --traceback.
"""
import json
import time

from django.core.management.base import CommandError
from tqdm import tqdm

from .models import Job, JobStatus
from .runner import start_inline

# Progress is a fraction of the job, not a count of items: show percent, elapsed and remaining time
# and the job's own message, without tqdm's items-per-second rate (meaningless here).
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"
PROGRESS_LOG_PERCENT = 5
PROGRESS_LOG_SECONDS = 30.0
POLL_SECONDS = 0.5


def _status_text(job: Job) -> str:
    return f"{job.status}: {job.message}"[:70] if job.message else job.status


class BarProgress:
    """A terminal: one bar, drawn once per poll (set_postfix_str would draw a second time)."""

    def __init__(self, job: Job, stream):
        self.bar = tqdm(total=1000, desc=f"{job.kind} #{job.pk}", bar_format=BAR_FORMAT, file=stream)

    def update(self, job: Job) -> None:
        self.bar.n = int(job.progress * 1000)
        self.bar.set_postfix_str(_status_text(job), refresh=False)
        self.bar.refresh()

    def close(self, job: Job | None = None) -> None:
        self.bar.close()


class LineProgress:
    """Not a terminal: a line when the job moved PROGRESS_LOG_PERCENT on, when its status changed,
    or when PROGRESS_LOG_SECONDS passed and anything about it moved; a job that did not move since the
    last line gets none (so no update is ever written twice), and its final state always gets one."""

    def __init__(self, job: Job, stream, *, percent: float = PROGRESS_LOG_PERCENT,
                 seconds: float = PROGRESS_LOG_SECONDS, clock=time.monotonic):
        self.stream, self.percent, self.seconds, self.clock = stream, percent, seconds, clock
        self.label = f"{job.kind} #{job.pk}"
        self.started = clock()
        self.last_state, self.last_time, self.last_percent = None, None, None

    def update(self, job: Job, *, final: bool = False) -> None:
        now, percent = self.clock(), 100.0 * job.progress
        state = (round(job.progress, 6), job.status, job.message)
        if state == self.last_state:
            return
        due = (final or self.last_state is None or job.status != self.last_state[1]
               or percent >= self.last_percent + self.percent or now - self.last_time >= self.seconds)
        if not due:
            return
        elapsed = int(now - self.started)
        self.stream.write(f"{self.label}: {percent:3.0f}% {_status_text(job)} [{elapsed // 60:02d}:{elapsed % 60:02d}]\n")
        self.stream.flush()
        self.last_state, self.last_time, self.last_percent = state, now, percent

    def close(self, job: Job | None = None) -> None:
        if job is not None:
            self.update(job, final=True)


def progress_display(job: Job, stream):
    isatty = getattr(stream, "isatty", None)
    return BarProgress(job, stream) if isatty is not None and isatty() else LineProgress(job, stream)


def follow_job(job: Job, *, inline: bool, stdout, stderr=None, traceback: bool = False) -> Job:
    """Show the job's progress on `stderr` until it ends; its result on `stdout`.

    Inline, the job runs in a thread of this process exactly as a worker would run it; the main
    thread only shows progress from the Job row."""
    import sys

    stream = stderr if stderr is not None else sys.stderr
    stream = getattr(stream, "_out", stream)  # Django's OutputWrapper: write to what it wraps
    runner = start_inline(job.pk) if inline else None
    display = progress_display(job, stream)
    try:
        while True:
            job.refresh_from_db()
            display.update(job)
            if job.is_finished and (runner is None or not runner.is_alive()):
                break
            if runner is not None and not runner.is_alive():
                job.refresh_from_db()
                if job.status == JobStatus.QUEUED:  # the inline run could not claim it and nobody else has
                    raise CommandError(f"{job.kind} #{job.pk} could not be run here: it is still queued")
                runner = None  # another worker claimed it first: follow that run instead
            time.sleep(POLL_SECONDS)
    finally:
        display.close(job)
    if job.status != JobStatus.SUCCEEDED:
        error = (job.error or job.message or "").strip()
        if traceback and error:
            stream.write(error + "\n")
        first = error.splitlines()[0] if error else ""
        what = "was cancelled" if job.status == JobStatus.CANCELLED else job.status
        hint = " (the job's full error: --traceback, or its admin page)" if "\n" in error and not traceback else ""
        raise CommandError(f"{job.kind} #{job.pk} {what}" + (f": {first}" if first else "") + hint)
    stdout.write(f"{job.kind} #{job.pk} succeeded: {metrics_line(job.metrics)}")
    return job


def metrics_line(metrics: dict, limit: int = 500) -> str:
    """The job's metrics as JSON when short; a long one (a parent's settings, many outputs) is cut to
    its scalar entries and the names of the rest, which its admin page shows in full."""
    text = json.dumps(metrics)
    if len(text) <= limit:
        return text
    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}
    nested = [k for k in metrics if k not in scalars]
    return json.dumps(scalars)[:limit] + f" (and {', '.join(nested)}: on the job's admin page)"
