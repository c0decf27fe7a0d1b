"""Split a dataset into train/test by source video, stratified by class, seeded."""
from django.core.management.base import BaseCommand

from gan.services.splitting import launch_split

from ._ingest_common import add_run_options, dataset_named, launch_and_follow


class Command(BaseCommand):
    help = "Assign train/test by source (never one video on both sides), per class, with a seed."

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("--test-fraction", type=float, default=0.1)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--include-discarded", action="store_true")
        add_run_options(parser)

    def handle(self, *args, dataset, test_fraction, seed, include_discarded, queue_only, **kw):
        launch_and_follow(self, launch_split, queue_only=queue_only, dataset=dataset_named(dataset),
                          test_fraction=test_fraction, seed=seed, include_discarded=include_discarded)
