"""Score a checkpoint's generated images, or a dataset's real images (the upper bound)."""
import json

from django.core.management.base import BaseCommand, CommandError

from gan.ml.metrics import IS_ORDERS
from gan.models import Checkpoint, Dataset, Evaluation, Metric
from gan.services.scoring import CLASSIFIERS, EvaluationError, launch_evaluation
from jobs.commands import add_run_options, follow


class Command(BaseCommand):
    help = "Inception-style score, FID and class consistency, stored as Evaluation rows."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--checkpoint", type=int, help="checkpoint id (its generated images)")
        target.add_argument("--real", metavar="DATASET", help="score the real images of this dataset")
        parser.add_argument("--metrics", default="inception_score,class_consistency",
                            help=f"comma-separated, of {', '.join(Metric.values)}")
        parser.add_argument("--classifier", default="domain", choices=CLASSIFIERS)
        parser.add_argument("--split", default="test", help="test or train (real images also: all)")
        parser.add_argument("--volume", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=0, help="generation seed of the images")
        parser.add_argument("--splits", type=int, default=10)
        parser.add_argument("--order", default="paper", choices=IS_ORDERS)
        parser.add_argument("--order-seed", type=int, default=0)
        parser.add_argument("--class-map", default="{}",
                            help="for ImageNet classifiers: JSON (dataset class -> ImageNet class names "
                                 "or indices) or the name of a stored class map")
        add_run_options(parser)

    def handle(self, *args, **o):
        checkpoint = dataset = None
        if o["checkpoint"] is not None:
            checkpoint = Checkpoint.objects.filter(pk=o["checkpoint"]).first()
            if checkpoint is None:
                raise CommandError(f"checkpoint #{o['checkpoint']} does not exist")
        else:
            dataset = Dataset.objects.filter(name=o["real"]).first()
            if dataset is None:
                raise CommandError(f"no dataset named {o['real']!r}")
        class_map = self._class_map(o["class_map"])
        try:
            job = launch_evaluation(
                checkpoint=checkpoint, dataset=dataset, classifier=o["classifier"], split=o["split"],
                metrics=[m.strip() for m in o["metrics"].split(",") if m.strip()], volume=o["volume"],
                seed=o["seed"], splits=o["splits"], order=o["order"], order_seed=o["order_seed"],
                class_map=class_map, enqueue=not o["inline"])
        except EvaluationError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"evaluate job #{job.pk}")
        follow(self, job, o)
        if o["inline"] or o["wait"]:
            for evaluation in Evaluation.objects.filter(job=job).order_by("id"):
                self.stdout.write(f"  {evaluation.get_metric_display()}: {evaluation.label} "
                                  f"(n={evaluation.n_images}, {evaluation.classifier}"
                                  + (f", {evaluation.splits} splits, {evaluation.order} order" if evaluation.splits else "")
                                  + ")")

    def _class_map(self, value: str) -> dict:
        from gan.models.ingest import ClassMap

        stored = ClassMap.objects.filter(name=value).first()
        if stored is not None:
            return dict(stored.classes)
        try:
            class_map = json.loads(value)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--class-map is neither a stored class map nor valid JSON: {exc}")
        if not isinstance(class_map, dict):
            raise CommandError("--class-map must be a JSON object: dataset class -> ImageNet classes")
        return class_map
