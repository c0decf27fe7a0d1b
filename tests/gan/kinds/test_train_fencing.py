"""A training attempt the reaper gave up on cannot write a checkpoint into the run that replaced it,
and the temporary files a killed attempt left are removed by the next one."""
import os

import pytest

from gan.kinds.train import remove_stale_temporaries
from gan.ml import atomic
from gan.ml.checkpoint import checkpoint_path, latest_checkpoint, save_checkpoint
from jobs.context import JobContext
from jobs.engine import JobLost, claim_job, create_job
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db


def test_a_given_up_attempt_cannot_save_a_checkpoint(tmp_path):
    job = create_job("selfcheck", {"steps": 2}, enqueue=False)
    old = JobContext(claim_job(job.pk, "old"))
    with atomic.fenced_writes(old.fence):
        save_checkpoint(checkpoint_path(tmp_path, 1), {"step": 1})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)  # reaped
    new = JobContext(claim_job(job.pk, "new"))
    with atomic.fenced_writes(old.fence), pytest.raises(JobLost):
        save_checkpoint(checkpoint_path(tmp_path, 2), {"step": 2})
    with atomic.fenced_writes(new.fence):
        save_checkpoint(checkpoint_path(tmp_path, 3), {"step": 3})
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["step_00000001.pt", "step_00000003.pt"]
    assert latest_checkpoint(tmp_path).name == "step_00000003.pt"


def test_temporaries_of_a_killed_attempt_are_removed(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "samples").mkdir()
    torn = [tmp_path / "checkpoints" / ".step_00000004.pt.k2j3.tmp", tmp_path / "samples" / ".step_00000004.png.tmp"]
    for path in torn:
        path.write_bytes(b"half")
    kept = tmp_path / "checkpoints" / "step_00000003.pt"
    kept.write_bytes(b"whole")
    remove_stale_temporaries(tmp_path)
    assert not any(p.exists() for p in torn) and kept.exists()
