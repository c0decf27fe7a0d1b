"""Import a CSV manifest (sound, image, optional label / split / group) into a dataset, row by row."""
from pathlib import Path

from django.core.management.base import BaseCommand

from gan.services.manifest_import import launch_manifest_import

from ._ingest_common import add_run_options, launch_and_follow


class Command(BaseCommand):
    help = "Import a CSV of sound/image files; broken rows and missing files are recorded, the rest imported."

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("manifest", help="CSV path; relative file paths in it are relative to its folder")
        parser.add_argument("--image-size", type=int, default=64)
        parser.add_argument("--trust-labels", action="store_true", help="mark pairs kept (no cleaning needed)")
        add_run_options(parser)

    def handle(self, *args, dataset, manifest, image_size, trust_labels, queue_only, **kw):
        launch_and_follow(self, launch_manifest_import, queue_only=queue_only, dataset=dataset,
                          manifest=str(Path(manifest).resolve()), image_size=image_size, trust_labels=trust_labels)
