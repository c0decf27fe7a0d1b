"""Clean a dataset: keep a pair when SoundNet and the image classifier agree through the class map."""
from django.core.management.base import BaseCommand

from gan.selectors.datasets import table1
from gan.services.cleaning import IMAGE_CLASSIFIERS, launch_cleaning

from ._ingest_common import add_run_options, dataset_named, launch_and_follow


class Command(BaseCommand):
    help = "Run the cleaning job on a dataset and print Table 1 (kept / discarded per class)."

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("--class-map", default="paper", help="'paper' (nine classes) or a ClassMap's name")
        parser.add_argument("--top-k", type=int, default=1, help="1: top-1 classes agree; 5: the authors' code")
        parser.add_argument("--image-classifier", choices=IMAGE_CLASSIFIERS, default="efficientnet-lite0")
        parser.add_argument("--inception-weights", default="", help="local Inception-v3 file (torchvision format)")
        parser.add_argument("--only-pending", action="store_true")
        add_run_options(parser)

    def handle(self, *args, dataset, class_map, top_k, image_classifier, inception_weights, only_pending,
               queue_only, **kw):
        target = dataset_named(dataset)
        launch_and_follow(self, launch_cleaning, queue_only=queue_only, dataset=target, class_map=class_map,
                          top_k=top_k, image_classifier=image_classifier, inception_weights=inception_weights,
                          only_pending=only_pending)
        if not queue_only:
            self.stdout.write(f"{'class':<16}{'pairs':>8}{'kept':>8}{'discarded':>11}{'rate':>8}")
            for row in table1(target):
                rate = "-" if row["discard_rate"] is None else f"{100 * row['discard_rate']:.1f}%"
                self.stdout.write(f"{row['class']:<16}{row['pairs']:>8}{row['kept']:>8}{row['discarded']:>11}{rate:>8}")
