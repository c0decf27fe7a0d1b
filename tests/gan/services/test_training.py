"""Training and generation as jobs: rows, files, plots, cancel, resume, bad input."""
import pytest

from gan.models import Checkpoint, GeneratedImage, Pair
from gan.services.datasets import DatasetImportError
from gan.services.manifest_import import import_manifest
from gan.services.generation import launch_generation
from gan.services.training import launch_training
from jobs.engine import JobError, cancel_job, execute_job
from jobs.models import JobStatus
from tests.gan.synthetic import write_tone_dataset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SMALL_MODEL = {"g_width": 8, "d_width": 8, "z_dim": 4, "image_size": 32}
FEATURE = {"kind": "mfcc"}


@pytest.fixture
def tones(media_root, tmp_path):
    return import_manifest("tones", write_tone_dataset(tmp_path / "tones"), source="test",
                           image_size=32, channels=3)


def train(dataset, iterations=6, **kwargs):
    run = launch_training(dataset, variant=kwargs.pop("variant", "g"), feature=FEATURE,
                          model=SMALL_MODEL, enqueue=False,
                          train={"iterations": iterations, "batch_size": 8, "checkpoint_every": 3,
                                 "sample_every": 3, "log_every": 1, **kwargs})
    execute_job(run.job_id, "test")
    run.refresh_from_db()
    run.job.refresh_from_db()
    return run


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


def test_generation_writes_images_with_provenance_grid_and_volume_table(tones, media_root):
    run = train(tones)
    ckpt = run.checkpoints.get(is_final=True)
    job = launch_generation([ckpt], volumes=(0.5, 1.0, 2.0), seeds=(0, 1), enqueue=False)
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    test_sounds = Pair.objects.filter(dataset=tones, split="test").count()
    images = GeneratedImage.objects.filter(checkpoint=ckpt)
    assert images.count() == test_sounds * 3 * 2
    one = images.filter(volume=2.0, seed=1).first()
    assert one.provenance["variant"] == "g" and one.provenance["feature_kind"] == "mfcc"
    assert one.provenance["volume"] == 2.0 and one.provenance["seed"] == 1
    assert one.sound_label == one.source_pair.label
    assert (media_root / one.image.name).is_file()
    # one z per (sound, seed): every sound of a set draws its own noise, the same one at every volume
    z_seeds = {(i.sound, i.seed, i.volume): i.provenance["z_seed"] for i in images}
    assert len({z for (sound, seed, volume), z in z_seeds.items() if seed == 0 and volume == 1.0}) == test_sounds
    assert all(z == z_seeds[(sound, seed, 1.0)] for (sound, seed, volume), z in z_seeds.items())
    assert z_seeds[(one.sound, 0, 1.0)] != z_seeds[(one.sound, 1, 1.0)]
    outputs = job.metrics["outputs"]
    assert (media_root / outputs[f"ckpt{ckpt.pk}_class_grid"]).is_file()
    assert (media_root / outputs[f"ckpt{ckpt.pk}_volume_table"]).is_file()
    # running the same generation again adds nothing
    again = launch_generation([ckpt], volumes=(0.5, 1.0, 2.0), seeds=(0, 1), enqueue=False)
    execute_job(again.pk, "test")
    assert GeneratedImage.objects.filter(checkpoint=ckpt).count() == test_sounds * 6


def test_bad_training_requests_are_refused_before_anything_is_stored(tones):
    from gan.models import TrainingRun

    with pytest.raises(JobError, match="unknown variant 'z'"):
        launch_training(tones, variant="z", feature=FEATURE, train={"iterations": 1})
    with pytest.raises(JobError, match="unknown|kind"):
        launch_training(tones, variant="g", feature={"kind": "chroma"}, train={"iterations": 1})
    Pair.objects.filter(dataset=tones).exclude(label="low").update(split="test")
    with pytest.raises(JobError, match="1 class"):
        launch_training(tones, variant="g", feature=FEATURE, train={"iterations": 1})
    assert TrainingRun.objects.count() == 0


def test_a_corrupt_sound_fails_the_job_naming_the_file(tones, media_root):
    pair = Pair.objects.filter(dataset=tones, split="train").first()
    (media_root / pair.sound.name).write_bytes(b"this is not audio")
    run = train(tones, iterations=2)
    assert run.job.status == JobStatus.FAILED
    assert pair.sound.name.split("/")[-1] in run.job.error
    assert run.checkpoints.count() == 0


def test_every_status_the_trainer_writes_is_a_run_status():
    """gan/ml has no Django, so the trainer writes RunStatus's values as plain strings: every string
    it assigns to `status` (or puts in a summary's "status") must be one of them."""
    import ast
    import inspect

    from gan.ml import trainer
    from gan.models import RunStatus

    written = set()
    for node in ast.walk(ast.parse(inspect.getsource(trainer))):
        if isinstance(node, ast.Assign):
            names = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            values = [node.value]
            if isinstance(node.value, ast.Tuple) and isinstance(node.targets[0], ast.Tuple):
                values = [v for t, v in zip(node.targets[0].elts, node.value.elts)
                          if isinstance(t, ast.Name) and t.id == "status"]
            if "status" in names:
                written |= {c.value for v in values for c in ast.walk(v)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert {"completed", "early-stopped", "cancelled"} <= written  # the check sees the real assignments
    assert written <= set(RunStatus.values), written - set(RunStatus.values)
