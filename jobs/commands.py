"""The one convention of every command that runs a job (imports, cleaning, splitting, training,
generation, scoring, the suite, launch_job):

  (no flag)  queue the job for a worker and return at once, saying its number;
  --wait     queue it and follow the worker's progress to the end;
  --inline   run it in this process (no worker needed), with the same progress.

A user error (unknown dataset, bad option, a manifest that cannot be read) ends the command with one
line, without a traceback; Django's --traceback shows it, and a failed job's full error.
"""
from django.core.management.base import CommandError

from .errors import JobError
from .follow import follow_job
from .models import Job


def add_run_options(parser) -> None:
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--inline", action="store_true",
                     help="run the job in this process (no worker needed), showing its progress")
    how.add_argument("--wait", action="store_true",
                     help="queue the job for a worker and follow its progress to the end")


def launch(create, options: dict, **kwargs):
    """create(enqueue=..., **kwargs): a launch function; queued unless --inline. Its refusals
    (JobError, a params dataclass's ValueError) become one-line CommandErrors."""
    try:
        return create(enqueue=not options.get("inline"), **kwargs)
    except (JobError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def follow(command, job: Job, options: dict) -> Job:
    """Follow the job as the options ask; returns it (finished unless it was only queued)."""
    if options.get("inline") or options.get("wait"):
        return follow_job(job, inline=bool(options.get("inline")), stdout=command.stdout, stderr=command.stderr,
                          traceback=bool(options.get("traceback")))
    command.stdout.write(f"job #{job.pk} ({job.kind}) queued on '{job.queue}' for a worker; "
                         f"--wait follows it, --inline runs it here without a worker")
    return job


def run(command, create, options: dict, **kwargs) -> Job:
    """launch + follow, for commands whose launch function returns the Job."""
    return follow(command, launch(create, options, **kwargs), options)
