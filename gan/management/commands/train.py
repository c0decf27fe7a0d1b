"""Launch a training run (one Table 4 row) from the command line; --inline runs it here with a bar."""
import json

from django.core.management.base import BaseCommand, CommandError

from gan.models import Dataset
from gan.services.training import launch_training
from jobs.errors import JobError
from jobs.commands import add_run_options, follow


class Command(BaseCommand):
    help = "Train the paper's GAN (variant b-g) on a dataset with a sound feature."

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("--variant", default="g", help="b, c, d, e, f or g (Table 4)")
        parser.add_argument("--feature", default="soundnet", help="soundnet, spectrogram, fbank or mfcc")
        parser.add_argument("--feature-options", default="{}", help='JSON, e.g. {"pooling": "segments"}')
        parser.add_argument("--model", default="{}", help='JSON, e.g. {"g_width": 64, "z_dim": 10}')
        parser.add_argument("--iterations", type=int)
        parser.add_argument("--epochs", type=float)
        parser.add_argument("--train", default="{}", help='JSON, e.g. {"batch_size": 64, "seed": 1}')
        parser.add_argument("--name", default="")
        add_run_options(parser)

    def handle(self, *args, **o):
        try:
            dataset = Dataset.objects.get(name=o["dataset"])
        except Dataset.DoesNotExist:
            raise CommandError(f"no dataset named {o['dataset']!r}; have: "
                               f"{list(Dataset.objects.values_list('name', flat=True))}")
        try:
            train = json.loads(o["train"])
            if o["iterations"]:
                train["iterations"] = o["iterations"]
            if o["epochs"]:
                train["epochs"] = o["epochs"]
            run = launch_training(dataset, variant=o["variant"], name=o["name"],
                                  feature={"kind": o["feature"], **json.loads(o["feature_options"])},
                                  model=json.loads(o["model"]), train=train, enqueue=not o["inline"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"an option is not valid JSON: {exc}")
        except JobError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"training run #{run.pk} ({run}) as job #{run.job_id}")
        follow(self, run.job, o)
