"""Fixtures the evaluate-job and scoring-service tests share: a tone dataset and one tiny row-g
checkpoint with its generated images. Imported by name into each test module that uses them."""
import pytest

from gan.services.generation import launch_generation
from gan.services.manifest_import import import_manifest
from gan.services.training import launch_training
from jobs.engine import execute_job
from tests.gan.synthetic import write_tone_dataset


@pytest.fixture
def tones(media_root, tmp_path):
    return import_manifest("tones", write_tone_dataset(tmp_path / "tones"), source="test",
                           image_size=32, channels=3)


@pytest.fixture
def generated(tones):
    run = launch_training(tones, variant="g", feature={"kind": "mfcc"}, enqueue=False,
                          model={"g_width": 8, "d_width": 8, "z_dim": 4, "image_size": 32},
                          train={"iterations": 4, "batch_size": 8, "checkpoint_every": 4, "sample_every": 4})
    execute_job(run.job_id, "test")
    checkpoint = run.checkpoints.get(is_final=True)
    job = launch_generation([checkpoint], volumes=(1.0,), enqueue=False)
    execute_job(job.pk, "test")
    return checkpoint
