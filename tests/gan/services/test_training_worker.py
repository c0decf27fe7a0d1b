"""A training job on a real worker that is killed mid-run resumes from its last checkpoint."""
import time

import pytest

from gan.services.manifest_import import import_manifest
from gan.services.training import launch_training
from jobs.models import Job, JobStatus
from tests.gan.synthetic import write_tone_dataset

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_training_resumes_from_its_checkpoint_on_another_worker(start_worker, media_root, tmp_path):
    dataset = import_manifest("tones", write_tone_dataset(tmp_path / "tones"), source="test", image_size=32)
    run = launch_training(dataset, variant="g", feature={"kind": "mfcc"},
                          model={"g_width": 8, "d_width": 8, "z_dim": 4, "image_size": 32},
                          train={"iterations": 120, "batch_size": 8, "checkpoint_every": 10,
                                 "sample_every": 0, "log_every": 1})
    env = {"MEDIA_ROOT": str(media_root)}
    first = start_worker("w1", env=env)
    wait_for(lambda: run.checkpoints.filter(step__gte=10).exists(), 120, "a first checkpoint")
    first.kill()
    killed_at = Job.objects.get(pk=run.job_id)
    assert killed_at.status == JobStatus.RUNNING
    saved = run.checkpoints.order_by("-step").first().step
    start_worker("w2", beat=True, env=env)
    try:
        job = wait_for(lambda: Job.objects.filter(pk=run.job_id, status__in=["succeeded", "failed"]).first(),
                       200, "the resumed run to finish")
    except AssertionError:
        job = Job.objects.get(pk=run.job_id)
        raise AssertionError(f"{job.status} {job.step}/{job.total} attempts={job.attempts}\n{job.log_tail}")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert f"resuming from step_{saved:08d}.pt (step {saved})" in job.log_tail or "resuming from" in job.log_tail
    assert run.checkpoints.get(is_final=True).step == 120
