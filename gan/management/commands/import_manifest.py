"""Import a CSV manifest (sound, image, optional label / split / group) into a dataset, row by row."""
from pathlib import Path

from django.core.management.base import BaseCommand

from gan.services.manifest_import import launch_manifest_import
from jobs.commands import add_run_options, run


class Command(BaseCommand):
    help = ("Import a UTF-8 CSV whose header names sound and image (and optionally label, split, group); file "
            "paths are relative to the CSV's folder and must stay inside it. A bad row is recorded with its "
            "line and reason, the rest imported.")

    def add_arguments(self, parser):
        parser.add_argument("dataset", help="dataset name (created if new; rows already imported are skipped)")
        parser.add_argument("manifest", help="the CSV file (or a folder holding manifest.csv)")
        parser.add_argument("--image-size", type=int, default=64)
        parser.add_argument("--trust-labels", action="store_true", help="mark pairs kept (no cleaning needed)")
        add_run_options(parser)

    def handle(self, *args, dataset, manifest, image_size, trust_labels, **options):
        run(self, launch_manifest_import, options, dataset=dataset, manifest=str(Path(manifest).resolve()),
            image_size=image_size, trust_labels=trust_labels)
