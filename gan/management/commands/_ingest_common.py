"""Shared by import_videos, import_manifest, clean_dataset and split_dataset: run the job here
(default: a tqdm bar while it runs in this process, exactly as a worker would run it) or queue it."""
from django.core.management.base import CommandError

from gan.models import Dataset
from jobs.errors import JobError
from jobs.follow import follow_job


def add_run_options(parser):
    parser.add_argument("--queue-only", action="store_true",
                        help="only queue the job for a worker (default: run it here with a progress bar)")


def dataset_named(name: str) -> Dataset:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        raise CommandError(f"no dataset named {name!r}")
    return dataset


def launch_and_follow(command, launch, *, queue_only: bool, **kwargs):
    try:
        job = launch(enqueue=queue_only, **kwargs)
    except (JobError, ValueError) as exc:
        raise CommandError(str(exc))
    if queue_only:
        command.stdout.write(f"job #{job.pk} ({job.kind}) queued on '{job.queue}'")
        return job
    return follow_job(job, inline=True, stdout=command.stdout)
