"""Split a dataset into train/test by source video, stratified by class, seeded."""
from django.core.management.base import BaseCommand

from gan.selectors.datasets import split_table
from gan.services.splitting import launch_split
from jobs.commands import add_run_options, run
from jobs.models import JobStatus

from ._ingest_common import dataset_named
from ._tables import split_lines, write_warnings


class Command(BaseCommand):
    help = "Assign train/test by source (never one video on both sides), per class, with a seed."

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("--test-fraction", type=float, default=0.1)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--include-discarded", action="store_true")
        add_run_options(parser)

    def handle(self, *args, dataset, test_fraction, seed, include_discarded, **options):
        target = dataset_named(dataset)
        job = run(self, launch_split, options, dataset=target, test_fraction=test_fraction, seed=seed,
                  include_discarded=include_discarded)
        if job.status == JobStatus.SUCCEEDED:
            table = split_table(target)
            self.stdout.write("\n".join(split_lines(table)))
            write_warnings(self, target, table)
