"""Launch any registered job kind from the command line, optionally waiting with a progress bar."""
import json
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gan.jobs import KINDS, JobError, create_job
from gan.models import Job, JobStatus


class Command(BaseCommand):
    help = "Create a job (validated like the admin does) and enqueue it; --wait follows it to the end."

    def add_arguments(self, parser):
        parser.add_argument("kind", help=f"one of the registered kinds")
        parser.add_argument("--params", default="{}", help="JSON object of params")
        parser.add_argument("--queue", choices=["cpu", "gpu"], help="override the kind's queue")
        parser.add_argument("--wait", action="store_true", help="follow the job until it finishes")

    def handle(self, *args, kind, params, queue, wait, **options):
        try:
            job = create_job(kind, json.loads(params), queue=queue)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}")
        except JobError as exc:
            raise CommandError(f"{exc} (kinds: {', '.join(sorted(KINDS))})")
        self.stdout.write(f"job #{job.pk} ({job.kind}) queued on '{job.queue}'")
        if not wait:
            return
        with tqdm(total=1000, desc=f"job #{job.pk}", unit="‰") as bar:
            while True:
                job.refresh_from_db()
                bar.n = int(job.progress * 1000)
                bar.set_postfix_str(f"{job.status} {job.message}"[:60])
                bar.refresh()
                if job.is_finished:
                    break
                time.sleep(0.5)
        self.stdout.write(f"job #{job.pk} {job.status}: {json.dumps(job.metrics)}")
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or job.message or job.status)
