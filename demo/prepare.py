"""What `make demo` prepares before serving. Every step is idempotent: a second run reuses the first.

instruments dataset (small) -> row g of Table 4 (the paper's model) and h-cbn (the recipe bench's winner)
on SoundNet features -> digits dataset (small)
-> row g on MFCC -> images from the test sounds at four volumes -> a rating study of the two instrument
models (Table 5) and a correlation study of the digits model (Table 6), open, with rater links.
Everything trains on 2 CPU cores in a few minutes, so the images are far from converged: the point
is the platform, end to end; docs/results/ has what longer runs learn.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.management import call_command

from gan.models import Checkpoint, Dataset, GeneratedImage, TrainingRun
from gan.services.generation import TABLE3_VOLUMES, launch_generation
from gan.services.training import launch_training
from jobs.follow import follow_job
from studies.models import Study
from studies.services.demo import build_demo_studies
from studies.selectors.rater import rater_link


@dataclass(frozen=True)
class DemoModel:
    name: str
    dataset: str
    variant: str
    feature: dict
    model: dict
    hflip: bool


# Instruments: the paper's task on SoundNet features. The rating study compares row g (the paper's
# model) with the recipe bench's winner, h-cbn (beyond the paper: projected D on frozen
# EfficientNet-Lite1, DiffAugment, EMA, sound noise, with the paper's generator; it beat row h, whose
# upsample + CBN generator costs more per iteration, in docs/results/recipes*.md), so raters see what
# each draws for the same sounds. It costs ~3x per iteration (the frozen features), so it gets the
# same 300 iterations in a couple of minutes. Digits: time-averaged MFCC learns spoken -> written
# digits in minutes on CPU, and a mirrored digit is another glyph, so no flips.
DEMO_MODELS = (
    DemoModel("demo-instruments-g", "instruments", "g", {"kind": "soundnet"},
              {"g_width": 16, "d_width": 16, "z_dim": 10, "image_size": 32}, True),
    DemoModel("demo-instruments-h", "instruments", "h-cbn", {"kind": "soundnet"},
              {"g_width": 16, "d_width": 16, "z_dim": 10, "image_size": 32}, True),
    DemoModel("demo-digits-g", "digits", "g", {"kind": "mfcc"}, {"g_width": 16, "d_width": 16, "z_dim": 10}, False),
)
# Small datasets (the builders' full sizes are for experiments, docs/results/); tiny ones for tests.
DEMO_DATASETS = ("instruments", "digits")


class _Quiet:
    def write(self, *_):
        pass


def prepare_demo(*, quick: bool = False, out=None) -> dict:
    write = out.write if out else print
    iterations = 20 if quick else 300
    sink = out or _Quiet()
    for name in DEMO_DATASETS:
        if not Dataset.objects.filter(name=name).exists():
            write(f"Building the {name} dataset ...")
            call_command("build_demo_dataset", name, "--tiny" if quick else "--small", stdout=sink)

    checkpoints = {}
    for spec in DEMO_MODELS:
        dataset = Dataset.objects.get(name=spec.dataset)
        final = Checkpoint.objects.filter(run__name=spec.name, run__dataset=dataset, is_final=True).first()
        if final is None:
            TrainingRun.objects.filter(name=spec.name, dataset=dataset).delete()  # an interrupted attempt
            run = launch_training(dataset, variant=spec.variant, name=spec.name, feature=spec.feature,
                                  model=spec.model, enqueue=False,
                                  train={"iterations": iterations, "batch_size": 32, "hflip": spec.hflip,
                                         "d_steps": 1, "g_steps": 1,
                                         "checkpoint_every": max(10, iterations // 3),
                                         "sample_every": max(10, iterations // 6)})
            write(f"Training demo model {spec.name} ({iterations} iterations on CPU) ...")
            follow_job(run.job, inline=True, stdout=sink)
            final = Checkpoint.objects.get(run=run, is_final=True)
        checkpoints[spec.name] = final

    missing = [c for c in checkpoints.values() if not GeneratedImage.objects.filter(checkpoint=c).exists()]
    if missing:
        write("Generating images from the test sounds ...")
        job = launch_generation(missing, volumes=TABLE3_VOLUMES, seeds=(0,), enqueue=False)
        follow_job(job, inline=True, stdout=sink)

    if not Study.objects.filter(name__startswith="Demo:").exists():
        write("Building and opening the demo studies ...")
        build_demo_studies([checkpoints["demo-instruments-g"], checkpoints["demo-instruments-h"]],
                           correlation_checkpoint=checkpoints["demo-digits-g"])
    write("Demo prepared.")
    return {"checkpoints": checkpoints}


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
