"""Upper bounds on what a researcher can ask for: refused with one line, before any job exists,
and raised by an operator through a setting."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gan.models import Checkpoint, TrainingRun
from gan.services.generation import launch_generation
from gan.services.limits import LimitExceeded
from gan.services.suite import SuiteError, launch_suite
from gan.services.training import launch_training
from jobs.models import Job
from tests.gan.trained_fixtures import TINY_MODEL, tones  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def launch(dataset, model=None, **train):
    return launch_training(dataset, variant="g", feature={"kind": "mfcc"}, model={**TINY_MODEL, **(model or {})},
                           train={"iterations": 100, **train}, enqueue=False)


@pytest.mark.parametrize("model, train, said", [
    ({"g_width": 100_000}, {}, "model g_width is 100000, above this installation's limit of 512 (setting GAN_MAX_WIDTH"),
    ({"d_width": 513}, {}, "model d_width is 513"),
    ({"embed_dim": 10**6}, {}, "GAN_MAX_EMBED_DIM"),
    ({}, {"batch_size": 10**5}, "train batch_size is 100000"),
    ({}, {"iterations": 10**9}, "training iterations is 1e+09"),
    ({}, {"iterations": None, "epochs": 10**7}, "train epochs is 1e+07"),
    ({}, {"g_steps": 1000}, "GAN_MAX_STEPS_PER_ITERATION"),
    ({}, {"samples_per_class": 10**4}, "train samples_per_class is 10000"),
    ({}, {"iterations": 10**5, "checkpoint_every": 1}, "checkpoints kept (100000 written with checkpoint_every=1"),
    ({}, {"iterations": 10**5, "sample_every": 1}, "GAN_MAX_SAMPLE_GRIDS"),
    ({}, {"log_every": 10**6, "iterations": 10**6}, "GAN_MAX_LOG_EVERY"),
])
def test_training_beyond_a_limit_is_refused_before_anything_is_stored(tones, model, train, said):
    with pytest.raises(LimitExceeded) as refused:
        launch(tones, model, **train)
    assert said in str(refused.value) and "\n" not in str(refused.value)
    assert TrainingRun.objects.count() == 0 and Job.objects.count() == 0


def test_keeping_only_the_best_and_last_checkpoint_is_within_the_limit(tones):
    run = launch(tones, iterations=10**5, checkpoint_every=1, sample_every=0, keep_checkpoints="best-and-last")
    assert run.job_id is not None


def test_an_operator_raises_a_limit_with_its_setting(tones, settings):
    settings.GAN_LIMITS = {**settings.GAN_LIMITS, "max_width": 4096}
    assert launch(tones, {"g_width": 1024}).model_config["g_width"] == 1024


def test_generation_bounds_seed_and_volume_lists_and_the_image_count(tones, settings):
    run = launch(tones)
    ckpt = Checkpoint.objects.create(run=run, step=1, path="runs/x/step_00000001.pt")
    with pytest.raises(LimitExceeded, match="the number of seeds is 33, above .* GAN_MAX_SEEDS"):
        launch_generation([ckpt], seeds=range(33), enqueue=False)
    with pytest.raises(LimitExceeded, match="the number of volumes is 100"):
        launch_generation([ckpt], volumes=[1.0] * 100, enqueue=False)
    with pytest.raises(LimitExceeded, match="the largest of the seeds"):
        launch_generation([ckpt], seeds=[2**40], enqueue=False)
    settings.GAN_LIMITS = {**settings.GAN_LIMITS, "max_generated_images": 10}
    with pytest.raises(LimitExceeded, match=r"the images to generate \(1 checkpoints x 2 volumes x 2 seeds x \d+ sounds\)"):
        launch_generation([ckpt], volumes=[1, 2], seeds=[0, 1], enqueue=False)
    assert Job.objects.filter(kind="generate").count() == 0
    assert launch_generation([ckpt], volumes=[1], seeds=[0], max_sounds=2, enqueue=False).kind == "generate"


def test_a_suite_beyond_a_limit_is_refused_at_launch(tones):
    with pytest.raises(SuiteError, match="GAN_MAX_WIDTH"):
        launch_suite(tones, preset="quick", splits=2, model={"g_width": 10**5}, enqueue=False)
    with pytest.raises(SuiteError, match="the number of seeds is 40"):
        launch_suite(tones, preset="quick", splits=2, seeds=list(range(40)), enqueue=False)
    assert Job.objects.count() == 0


def test_the_train_command_says_the_limit_in_one_line(tones):
    with pytest.raises(CommandError, match="GAN_MAX_BATCH_SIZE"):
        call_command("train", "tones", "--variant", "g", "--feature", "mfcc", "--iterations", "10",
                     "--train", '{"batch_size": 100000}')
