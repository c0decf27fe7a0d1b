"""Follow a job from a command: run it here (inline) or watch a worker run it, with a tqdm bar."""
import json
import time

from django.core.management.base import CommandError
from tqdm import tqdm

from .models import Job, JobStatus
from .runner import start_inline

# Progress is a fraction of the job, not a count of items: show percent, elapsed and remaining time
# and the job's own message, without tqdm's items-per-second rate (meaningless here).
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"


def follow_job(job: Job, *, inline: bool, stdout) -> Job:
    # Inline, the job runs in a thread of this process exactly as a worker would run it; the main
    # thread only draws the bar from the Job row.
    runner = start_inline(job.pk) if inline else None
    with tqdm(total=1000, desc=f"{job.kind} #{job.pk}", bar_format=BAR_FORMAT) as bar:
        while True:
            job.refresh_from_db()
            bar.n = int(job.progress * 1000)
            bar.set_postfix_str(f"{job.status}: {job.message}"[:70] if job.message else job.status)
            bar.refresh()
            if job.is_finished and (runner is None or not runner.is_alive()):
                break
            time.sleep(0.5)
    stdout.write(f"{job.kind} #{job.pk} {job.status}: {json.dumps(job.metrics)}")
    if job.status != JobStatus.SUCCEEDED:
        raise CommandError(job.error or job.message or job.status)
    return job
