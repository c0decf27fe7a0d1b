"""What `make demo` prepares before serving. Every step is idempotent: a second run reuses the first.

digits dataset -> two small models (rows d and g of Table 4) -> images from the test sounds ->
a rating study (both models) and a correlation study (row g), open, with rater links.
"""
from __future__ import annotations

from django.core.management import call_command

from gan.models import Checkpoint, Dataset, GeneratedImage, TrainingRun
from gan.services.generation import launch_generation
from gan.services.training import launch_training
from jobs.follow import follow_job
from studies.models import Study
from studies.services.demo import build_demo_studies
from studies.services.participants import rater_link

DEMO_DATASET = "digits"
DEMO_VARIANTS = ("d", "g")  # the rating study's conditions, in ablation-ladder order
DEMO_FEATURE = {"kind": "mfcc"}  # time-averaged MFCC: learns spoken -> written digits in minutes on CPU
# (no horizontal flips: a mirrored digit is another glyph)
DEMO_MODEL = {"g_width": 16, "d_width": 16, "z_dim": 10}


class _Quiet:
    def write(self, *_):
        pass


def prepare_demo(*, quick: bool = False, out=None) -> dict:
    write = out.write if out else print
    iterations = 20 if quick else 300
    if not Dataset.objects.filter(name=DEMO_DATASET).exists():
        write("Building the digits dataset (espeak-ng voices x scikit-learn digits) ...")
        call_command("build_demo_dataset", "digits", stdout=out or _Quiet())
    dataset = Dataset.objects.get(name=DEMO_DATASET)

    checkpoints = []
    for variant in DEMO_VARIANTS:
        name = f"demo-{variant}"
        final = Checkpoint.objects.filter(run__name=name, run__dataset=dataset, is_final=True).first()
        if final is None:
            TrainingRun.objects.filter(name=name, dataset=dataset).delete()  # an interrupted attempt
            run = launch_training(dataset, variant=variant, name=name, feature=DEMO_FEATURE,
                                  model=DEMO_MODEL, enqueue=False,
                                  train={"iterations": iterations, "batch_size": 32, "hflip": False,
                                         "checkpoint_every": max(10, iterations // 3),
                                         "sample_every": max(10, iterations // 6)})
            write(f"Training demo model {name} ({iterations} iterations on CPU) ...")
            follow_job(run.job, inline=True, stdout=out or _Quiet())
            final = Checkpoint.objects.get(run=run, is_final=True)
        checkpoints.append(final)

    missing = [c for c in checkpoints if not GeneratedImage.objects.filter(checkpoint=c).exists()]
    if missing:
        write("Generating images from the test sounds ...")
        job = launch_generation(missing, volumes=(0.5, 1.0, 2.0, 3.0), seeds=(0,), enqueue=False)
        follow_job(job, inline=True, stdout=out or _Quiet())

    if not Study.objects.filter(name__startswith="Demo:").exists():
        write("Building and opening the demo studies ...")
        build_demo_studies(checkpoints)
    write("Demo prepared.")
    return {"dataset": dataset, "checkpoints": checkpoints}


def demo_links() -> list[tuple[str, str]]:
    links = [
        ("Admin (researchers)", "/admin/"),
        ("Jobs", "/admin/jobs/job/"),
        ("Training runs", "/admin/gan/trainingrun/"),
        ("Try it: images from your own sound", "/gan/try/"),
        ("API docs", "/api/docs/"),
    ]
    for study in Study.objects.filter(name__startswith="Demo:").order_by("id"):
        links.append((f"Rater link: {study.name}", rater_link(study, "")))
    return links
