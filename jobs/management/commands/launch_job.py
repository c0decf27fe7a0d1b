"""Launch any registered job kind from the command line (queued, --wait or --inline: jobs/commands.py)."""
import json

from django.core.management.base import BaseCommand, CommandError

from jobs.commands import add_run_options, follow
from jobs.engine import create_job
from jobs.errors import JobError
from jobs.models import Queue
from jobs.registry import KINDS


class Command(BaseCommand):
    help = ("Create a job (validated like the admin does) and queue it; --wait follows it to the end, "
            "--inline runs it here without a worker.")

    def add_arguments(self, parser):
        parser.add_argument("kind", help="one of the registered kinds")
        parser.add_argument("--params", default="{}", help="JSON object of params")
        parser.add_argument("--queue", choices=Queue.values, help="override the kind's queue")
        add_run_options(parser)

    def handle(self, *args, kind, params, queue, **options):
        try:
            job = create_job(kind, json.loads(params), queue=queue, enqueue=not options["inline"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}")
        except JobError as exc:
            raise CommandError(f"{exc} (kinds: {', '.join(sorted(KINDS))})")
        follow(self, job, options)
