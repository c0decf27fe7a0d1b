"""What the tests of the training, generation, evaluation and suite jobs and services share: a tone
dataset (with or without validation and held-out sounds), a tiny training run through its job, and
one tiny row-g checkpoint with its generated images. Fixtures are imported by name into each test
module that uses them."""
import pytest

from gan.services.generation import launch_generation
from gan.services.manifest_import import import_manifest
from gan.services.training import launch_training
from jobs.engine import execute_job
from tests.gan.synthetic import write_tone_dataset

TINY_MODEL = {"g_width": 8, "d_width": 8, "z_dim": 4, "image_size": 32}   # seconds per run on a CPU
FEATURE = {"kind": "mfcc"}


@pytest.fixture
def tones(media_root, tmp_path):
    return import_manifest("tones", write_tone_dataset(tmp_path / "tones"), source="test",
                           image_size=32, channels=3)


@pytest.fixture
def tones_with_sources(media_root, tmp_path):
    """The tones with validation sounds (model selection) and a held-out source (square waves)."""
    return import_manifest("tones-sources", write_tone_dataset(tmp_path / "tones-sources", val_per_class=2,
                                                               heldout_per_class=2),
                           source="test", image_size=32, channels=3)


def train(dataset, iterations=6, **kwargs):
    """A tiny MFCC run (row g unless variant= says otherwise) trained through its job, here; the run
    and its job come back refreshed. Other keywords are training settings."""
    run = launch_training(dataset, variant=kwargs.pop("variant", "g"), feature=FEATURE,
                          model=TINY_MODEL, enqueue=False,
                          train={"iterations": iterations, "batch_size": 8, "checkpoint_every": 3,
                                 "sample_every": 3, "log_every": 1, **kwargs})
    execute_job(run.job_id, "test")
    run.refresh_from_db()
    run.job.refresh_from_db()
    return run


@pytest.fixture
def generated(tones):
    run = launch_training(tones, variant="g", feature=FEATURE, enqueue=False, model=TINY_MODEL,
                          train={"iterations": 4, "batch_size": 8, "checkpoint_every": 4, "sample_every": 4})
    execute_job(run.job_id, "test")
    checkpoint = run.checkpoints.get(is_final=True)
    job = launch_generation([checkpoint], volumes=(1.0,), enqueue=False)
    execute_job(job.pk, "test")
    return checkpoint
