"""Launch any registered job kind from the command line, optionally waiting with a progress bar."""
import json

from django.core.management.base import BaseCommand, CommandError

from jobs.engine import create_job
from jobs.errors import JobError
from jobs.follow import follow_job
from jobs.models import Queue
from jobs.registry import KINDS


class Command(BaseCommand):
    help = "Create a job (validated like the admin does) and enqueue it; --wait follows it to the end."

    def add_arguments(self, parser):
        parser.add_argument("kind", help="one of the registered kinds")
        parser.add_argument("--params", default="{}", help="JSON object of params")
        parser.add_argument("--queue", choices=Queue.values, help="override the kind's queue")
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
        follow_job(job, inline=False, stdout=self.stdout)
