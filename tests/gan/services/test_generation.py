"""Launching a generation (gan/services/generation.py): the job it stores, the images it is counted
as (distinct sounds of the split x checkpoints x volumes x seeds, capped by max_sounds) against the
installation's limit, and the refusals, all before any job exists."""
import pytest

from gan.models import Checkpoint, Dataset, Pair, PairStatus, Split, TrainingRun
from gan.services.generation import TABLE3_VOLUMES, launch_generation
from gan.services.limits import LimitExceeded
from jobs.errors import JobError
from jobs.models import Job

pytestmark = pytest.mark.django_db


def _checkpoint(name: str, sounds: int) -> Checkpoint:
    dataset = Dataset.objects.create(name=name, source="manifest", root=f"d/{name}", class_names=["a"])
    for k in range(sounds):  # two images per sound: the sound is counted once
        for frame in range(2):
            Pair.objects.create(dataset=dataset, sound=f"s{k}.wav", image=f"i{k}_{frame}.png", label="a",
                                split=Split.TEST, status=PairStatus.KEPT)
    Pair.objects.create(dataset=dataset, sound="dropped.wav", image="d.png", label="a", split=Split.TEST,
                        status=PairStatus.DISCARDED)
    run = TrainingRun.objects.create(dataset=dataset, variant="a", feature_spec={"kind": "soundnet"})
    return Checkpoint.objects.create(run=run, step=10, path=f"runs/{name}.pt", is_final=True)


def test_the_job_carries_the_checkpoints_volumes_and_seeds_as_floats_and_ints():
    first, second = _checkpoint("one", sounds=3), _checkpoint("two", sounds=5)
    job = launch_generation([first, second], volumes=TABLE3_VOLUMES, seeds=(0, 7), enqueue=False)
    assert job.kind == "generate" and job.dispatched_at is None  # stored, no message sent
    assert Job.objects.get(pk=job.pk).params == {"checkpoint_ids": [first.pk, second.pk],
                                                 "volumes": [0.5, 1.0, 2.0, 3.0], "seeds": [0, 7],
                                                 "split": "test", "clip": True, "max_sounds": 0}


def test_the_images_asked_for_are_counted_per_distinct_kept_sound_against_the_limit(settings):
    checkpoint = _checkpoint("count", sounds=5)   # 5 distinct kept sounds (10 pairs, one discarded)
    settings.GAN_LIMITS = {**settings.GAN_LIMITS, "max_generated_images": 40}
    assert launch_generation([checkpoint], volumes=TABLE3_VOLUMES, seeds=(0, 1), enqueue=False)  # 5 x 4 x 2 = 40
    with pytest.raises(LimitExceeded, match=r"\(1 checkpoints x 4 volumes x 3 seeds x 5 sounds\) is 60"):
        launch_generation([checkpoint], volumes=TABLE3_VOLUMES, seeds=(0, 1, 2), enqueue=False)
    assert launch_generation([checkpoint], volumes=TABLE3_VOLUMES, seeds=(0, 1, 2), max_sounds=3, enqueue=False)
    assert Job.objects.filter(kind="generate").count() == 2


def test_checkpoints_that_do_not_exist_are_named_and_nothing_is_queued():
    real = _checkpoint("real", sounds=1)
    ghost = Checkpoint(pk=real.pk + 1000)
    with pytest.raises(JobError, match=rf"checkpoints \[{ghost.pk}\] do not exist"):
        launch_generation([real, ghost], enqueue=False)
    assert not Job.objects.exists()
