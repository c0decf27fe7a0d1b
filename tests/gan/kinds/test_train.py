"""The `train` job (gan/kinds/train.py): a run's pairs as arrays, then checkpoints as rows, the loss
plot and samples, progress, cancel (the last checkpoint kept), resume from the last checkpoint, and a
corrupt sound failing the job by name. Fencing and stale temporaries: test_train_fencing.py."""
import numpy as np
import pytest

from gan.kinds.train import training_data
from gan.models import Pair
from gan.services.training import launch_training
from jobs.engine import cancel_job, execute_job
from jobs.models import JobStatus
from tests.gan.trained_fixtures import FEATURE, TINY_MODEL, tones, train  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_runs_training_data_is_its_train_pairs_as_arrays(tones):
    run = launch_training(tones, variant="g", feature=FEATURE, model=TINY_MODEL, enqueue=False,
                          train={"iterations": 1, "batch_size": 8})
    data = training_data(run)
    pairs = list(Pair.objects.filter(dataset=tones, split="train").order_by("pk"))
    assert len(data) == len(pairs) == 3 * 6   # the test pairs stay out
    assert sorted(data.sound_ids) == [p.pk for p in pairs]
    assert data.features.dtype == np.float32 and data.features.shape[0] == 18
    assert data.images.shape == (18, 3, 32, 32) and data.images.dtype == np.uint8
    by_id = {p.pk: p.label for p in pairs}
    assert [data.class_names[i] for i in data.labels] == [by_id[pk] for pk in data.sound_ids]
    assert np.bincount(data.labels).tolist() == [6, 6, 6]


def test_training_job_stores_checkpoints_plot_and_samples(tones, media_root):
    run = train(tones)
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    assert run.job.step == run.job.total == 6 and run.job.progress == 1.0
    steps = list(run.checkpoints.values_list("step", "is_final"))
    assert steps == [(3, False), (6, True)]
    for ckpt in run.checkpoints.all():
        assert (media_root / ckpt.path).is_file()
    assert (media_root / run.loss_plot.name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import torch

    from gan.ml.generate import plot_losses
    # drawn from the trainer's history, which is exactly what the last checkpoint saved
    saved = torch.load(media_root / run.checkpoints.get(step=6).path, map_location="cpu", weights_only=False)
    assert (media_root / run.loss_plot.name).read_bytes() == plot_losses(saved["history"])
    assert len(saved["history"]["step"]) == 6
    assert (media_root / run.latest_samples.name).is_file()
    assert {"d_loss", "g_loss"} <= set(run.job.metrics)
    assert run.summary["status"] == "completed"


def test_every_variant_trains_without_nan_through_the_job(tones):
    for variant in "bcdef":
        run = train(tones, iterations=2, variant=variant)
        assert run.job.status == JobStatus.SUCCEEDED, (variant, run.job.error)


def test_a_rerun_resumes_from_the_last_checkpoint(tones):
    run = train(tones, iterations=6)
    from jobs.models import Job

    # Asked for more iterations and run again (as the reaper or a retry would): it continues.
    run.train_config = {**run.train_config, "iterations": 9}
    run.save()
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.QUEUED)
    execute_job(run.job_id, "test")
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    assert "resuming from" in run.job.log_tail and "(step 6)" in run.job.log_tail
    assert run.checkpoints.filter(is_final=True).get().step == 9


def test_cancel_keeps_the_last_checkpoint(tones, monkeypatch):
    from gan.kinds import train as training

    calls = {"n": 0}
    original = training._JobCallbacks.on_progress

    def cancel_at_step_2(self, step, total, metrics):
        original(self, step, total, metrics)
        calls["n"] += 1
        if step == 2:
            cancel_job(self.ctx.job_id)
            self.ctx._last_write = 0  # let the next check read the flag at once

    monkeypatch.setattr(training._JobCallbacks, "on_progress", cancel_at_step_2)
    run = train(tones, iterations=50)
    assert run.job.status == JobStatus.CANCELLED
    assert run.checkpoints.get().step == 2  # saved when it stopped
    assert run.summary["status"] == "cancelled"


def test_a_corrupt_sound_fails_the_job_naming_the_file(tones, media_root):
    pair = Pair.objects.filter(dataset=tones, split="train").first()
    (media_root / pair.sound.name).write_bytes(b"this is not audio")
    run = train(tones, iterations=2)
    assert run.job.status == JobStatus.FAILED
    assert pair.sound.name.split("/")[-1] in run.job.error
    assert run.checkpoints.count() == 0
