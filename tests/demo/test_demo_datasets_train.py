"""Every Table 4 variant trains without NaN on both demo datasets, with real sound features."""
import math

import pytest

from demo.builders.digits import build_digits
from demo.builders.stamps import build_stamps
from gan.services.manifest_import import import_manifest
from gan.services.training import launch_training
from jobs.engine import execute_job
from jobs.models import JobStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.mark.parametrize("name, build, image_size, channels, feature", [
    ("digits", lambda out: build_digits(out, n_voices=8, n_human_voices=1, n_neural_voices=1), 32, 1, {"kind": "mfcc"}),
    ("stamps", lambda out: build_stamps(out, augment=1), 64, 3, {"kind": "soundnet"}),
])
def test_all_variants_train_on_the_demo_datasets(media_root, tmp_path, name, build, image_size, channels,
                                                 feature):
    build(tmp_path / name)
    dataset = import_manifest(name, tmp_path / name, source=name, image_size=image_size, channels=channels)
    for variant in "bcdefg":
        run = launch_training(dataset, variant=variant, feature=feature, enqueue=False,
                              model={"g_width": 8, "d_width": 8, "z_dim": 4},
                              train={"iterations": 3, "batch_size": 8, "log_every": 1})
        execute_job(run.job_id, "test")
        run.job.refresh_from_db()
        assert run.job.status == JobStatus.SUCCEEDED, (name, variant, run.job.error)
        losses = [v for k, v in run.job.metrics.items() if k.endswith("loss")]
        assert losses and all(math.isfinite(v) for v in losses), (variant, run.job.metrics)
