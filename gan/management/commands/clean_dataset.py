"""Clean a dataset: keep a pair when SoundNet and the image classifier agree through the class map."""
from django.core.management.base import BaseCommand

from gan.services.cleaning import IMAGE_CLASSIFIERS, launch_cleaning
from jobs.commands import add_run_options, run
from jobs.models import JobStatus

from ._ingest_common import dataset_named
from ._tables import table1_lines


class Command(BaseCommand):
    help = ("Run the cleaning job on a dataset and print Table 1 (kept / discarded per class). Class maps: "
            "manage.py classmap --help.")

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("--class-map", default="paper",
                            help="'paper' (nine classes) or a stored map (manage.py classmap import FILE)")
        parser.add_argument("--top-k", type=int, default=1, help="1: top-1 classes agree; 5: the authors' code")
        parser.add_argument("--image-classifier", choices=IMAGE_CLASSIFIERS, default="efficientnet-lite0")
        parser.add_argument("--inception-weights", default="", help="local Inception-v3 file (torchvision format)")
        parser.add_argument("--only-pending", action="store_true")
        add_run_options(parser)

    def handle(self, *args, dataset, class_map, top_k, image_classifier, inception_weights, only_pending, **options):
        target = dataset_named(dataset)
        job = run(self, launch_cleaning, options, dataset=target, class_map=class_map, top_k=top_k,
                  image_classifier=image_classifier, inception_weights=inception_weights, only_pending=only_pending)
        if job.status == JobStatus.SUCCEEDED:
            self.stdout.write("\n".join(table1_lines(target)))
