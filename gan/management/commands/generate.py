"""Generate images from test sounds (or, with --sound, from a sound file of your own) with checkpoints,
at several volumes and seeds."""
from django.core.management.base import BaseCommand, CommandError

from gan.models import Checkpoint, TrainingRun
from gan.services.generation import launch_generation
from jobs.errors import JobError
from jobs.commands import add_run_options, follow

from ._sound_generation import generate_from_sound


class Command(BaseCommand):
    help = "Generate images (PNG + provenance) for a run's final checkpoint or given checkpoints."

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, action="append", default=[], help="training run id(s)")
        parser.add_argument("--checkpoint", type=int, action="append", default=[], help="checkpoint id(s)")
        parser.add_argument("--volumes", "--volume", default="1", help="comma-separated factors, e.g. 0.5,1,2,3")
        parser.add_argument("--seeds", "--seed", default="0", help="comma-separated seeds")
        parser.add_argument("--sound", help="a sound file of your own (at most 30 s, 20 MB): images from it "
                            "instead of the test sounds")
        parser.add_argument("--out", help="with --sound: a folder the PNGs are copied to (needs --inline or --wait)")
        parser.add_argument("--split", default="test", choices=["train", "test"])
        parser.add_argument("--no-clip", action="store_true", help="do not clip louder waveforms")
        parser.add_argument("--max-sounds", type=int, default=0)
        add_run_options(parser)

    def handle(self, *args, **o):
        if o["sound"]:
            return generate_from_sound(self, o)
        checkpoints = list(Checkpoint.objects.filter(pk__in=o["checkpoint"]))
        for run_id in o["run"]:
            run = TrainingRun.objects.filter(pk=run_id).first()
            last = run and run.checkpoints.order_by("-step").first()
            if not last:
                raise CommandError(f"training run {run_id} does not exist or has no checkpoint")
            checkpoints.append(last)
        if not checkpoints:
            raise CommandError("give --run or --checkpoint")
        try:
            volumes = [float(v) for v in o["volumes"].split(",")]
            seeds = [int(s) for s in o["seeds"].split(",")]
            job = launch_generation(checkpoints, volumes=volumes, seeds=seeds, split=o["split"],
                                    clip=not o["no_clip"], max_sounds=o["max_sounds"],
                                    enqueue=not o["inline"])
        except ValueError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"generation job #{job.pk}")
        follow(self, job, o)
