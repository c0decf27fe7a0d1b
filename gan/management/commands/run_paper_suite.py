"""Run the paper's experiment suite (Tables 2-4, Fig. 2) on a dataset as one job graph."""
import json

from django.core.management.base import BaseCommand, CommandError

from gan.ml.metrics import IS_ORDERS
from gan.models import Dataset
from gan.services.scoring import CLASSIFIERS
from gan.services.suite import CHILD_MODES, PRESETS, SuiteError, launch_suite
from jobs.commands import add_run_options, follow


def _csv(value):
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


class Command(BaseCommand):
    help = ("Train variant g with each sound feature (Table 2) and variants b-g (Table 4), generate "
            "(Fig. 2 grids, Table 3 volumes) and score everything plus the real-image upper bound.")

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("--preset", default="quick", choices=sorted(PRESETS),
                            help="; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()))
        parser.add_argument("--features", help="Table 2 rows, e.g. mfcc,fbank (default: all four)")
        parser.add_argument("--variants", help="Table 4 rows, e.g. c,g (default: b-g)")
        parser.add_argument("--table2-variant", default="g",
                            help="the model Table 2 trains with each feature (default: the paper's g)")
        parser.add_argument("--table4-feature", default="",
                            help="feature of the Table 4 runs (default: soundnet)")
        parser.add_argument("--classifier", default="domain", choices=CLASSIFIERS,
                            help="inception-v3 needs a local weights file")
        parser.add_argument("--metrics", help="e.g. inception_score,class_consistency,fid")
        parser.add_argument("--splits", type=int, default=10)
        parser.add_argument("--order", default="paper", choices=IS_ORDERS)
        parser.add_argument("--children", choices=CHILD_MODES,
                            help="run children in the suite's process, or dispatch them to workers")
        parser.add_argument("--iterations", type=int, help="override the preset's iterations per run")
        parser.add_argument("--model", default="{}", help='JSON overrides, e.g. {"g_width": 32}')
        parser.add_argument("--train", default="{}", help='JSON overrides, e.g. {"batch_size": 64}')
        parser.add_argument("--feature-options", default="{}", help='JSON, e.g. {"pooling": "segments"}')
        parser.add_argument("--seeds", help="training seeds, e.g. 0,1,2 (default: the preset's)")
        parser.add_argument("--parallel", type=int, default=0,
                            help="children the suite runs side by side (default: the preset's)")
        parser.add_argument("--class-map", default="{}",
                            help='JSON dataset class -> ImageNet classes, for the ImageNet classifiers')
        parser.add_argument("--validation", default="{}",
                            help='JSON overrides of model selection, e.g. {"classifier": "domain"}')
        add_run_options(parser)

    def handle(self, *args, **o):
        dataset = Dataset.objects.filter(name=o["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {o['dataset']!r}; have: "
                               f"{list(Dataset.objects.values_list('name', flat=True))}")
        try:
            train = json.loads(o["train"])
            model = json.loads(o["model"])
            feature_options = json.loads(o["feature_options"])
            class_map = json.loads(o["class_map"])
            validation = json.loads(o["validation"])
            seeds = [int(x) for x in _csv(o["seeds"])]
        except json.JSONDecodeError as exc:
            raise CommandError(f"an option is not valid JSON: {exc}")
        except ValueError as exc:
            raise CommandError(f"--seeds must be integers separated by commas: {exc}")
        if o["iterations"]:
            train.update(iterations=o["iterations"], checkpoint_every=o["iterations"],
                         sample_every=o["iterations"])
            train.setdefault("epochs", None)
        options = dict(preset=o["preset"], features=_csv(o["features"]), variants=_csv(o["variants"]),
                       table2_variant=o["table2_variant"].strip().lower(),
                       table4_feature=o["table4_feature"], classifier=o["classifier"],
                       metrics=_csv(o["metrics"]), splits=o["splits"], order=o["order"],
                       children=o["children"] or "", model=model, train=train,
                       feature_options=feature_options, class_map=class_map, validation=validation,
                       seeds=seeds, parallel=o["parallel"])
        try:
            job = launch_suite(dataset, enqueue=not o["inline"], **options)
        except SuiteError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"suite job #{job.pk} on {dataset.name} ({o['preset']} preset)")
        follow(self, job, o)
        if o["inline"] or o["wait"]:
            from gan.reports import suite_report
            from gan.reports.formats import to_markdown

            self.stdout.write(to_markdown(suite_report(job)))
