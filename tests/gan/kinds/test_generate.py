"""The `generate` job (gan/kinds/generate.py): one image per distinct sound of the split x volume x
seed, stored with its provenance and its own z, each checkpoint's class grid and (with more than one
volume) its volume table as files and Figure rows; a rerun adds nothing, and a split without pairs
fails the job by name. The launch and its limits: tests/gan/services/test_generation.py."""
from types import SimpleNamespace

import pytest

from gan.kinds.generate import _volume_rows, distinct_sounds
from gan.models import Dataset, Figure, GeneratedImage, Pair, PairStatus, Split
from gan.services.generation import launch_generation
from jobs.engine import create_job, execute_job
from jobs.models import JobStatus
from tests.gan.checkpoint_rows import make_checkpoint
from tests.gan.trained_fixtures import generated, tones, train  # noqa: F401 (fixtures)


def _pair(pk, label, sound):
    return SimpleNamespace(pk=pk, label=label, sound=SimpleNamespace(name=sound))


PAIRS = [_pair(1, "b", "b0.wav"), _pair(2, "a", "a0.wav"), _pair(3, "a", "a0.wav"),   # a0: two frames, one sound
         _pair(4, "a", "a1.wav"), _pair(5, "a", "a2.wav"), _pair(6, "c", "c0.wav"), _pair(7, "c", "c1.wav")]


def test_each_sound_is_generated_from_once_classes_in_turn_when_capped():
    assert [p.pk for p in distinct_sounds(PAIRS)] == [2, 4, 5, 1, 6, 7]   # by class, then pair
    # a cap takes the classes in turn (a, b, c, then a again), so no class is crowded out
    assert [p.pk for p in distinct_sounds(PAIRS, max_sounds=4)] == [2, 4, 1, 6]
    assert [p.pk for p in distinct_sounds(PAIRS, max_sounds=2)] == [2, 1]
    assert len(distinct_sounds(PAIRS, max_sounds=50)) == 6


def test_the_volume_table_shows_the_first_sound_of_each_class():
    assert _volume_rows(PAIRS, [0, 0, 1, 2, 1, 2]) == [0, 2, 3]
    assert _volume_rows(PAIRS, list(range(12))) == list(range(10))   # at most ten rows


@pytest.mark.django_db
def test_a_split_without_pairs_fails_the_job_naming_the_dataset(media_root):
    dataset = Dataset.objects.create(name="trainonly", source="test", root="d/trainonly", class_names=["a"])
    Pair.objects.create(dataset=dataset, sound="s.wav", image="i.png", label="a", split=Split.TRAIN,
                        status=PairStatus.KEPT)
    checkpoint = make_checkpoint(dataset)
    job = create_job("generate", {"checkpoint_ids": [checkpoint.pk], "split": "test"}, enqueue=False)
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "dataset 'trainonly' has no test pairs to generate from" in job.error and "Traceback" not in job.error
    assert not GeneratedImage.objects.exists() and not Figure.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_one_volume_makes_a_class_grid_and_no_volume_table(generated, media_root):
    images = GeneratedImage.objects.filter(checkpoint=generated)
    assert images.count() == 3 * 2 and set(images.values_list("volume", "seed")) == {(1.0, 0)}   # 6 test sounds
    figures = list(Figure.objects.filter(checkpoint=generated))
    assert [(f.kind, f.split) for f in figures] == [("class_grid", "test")]
    assert (media_root / figures[0].path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figures[0].job.metrics["outputs"] == {f"ckpt{generated.pk}_class_grid": figures[0].path}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
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
    assert sorted(Figure.objects.filter(checkpoint=ckpt, job=job).values_list("kind", "path")) == [
        ("class_grid", outputs[f"ckpt{ckpt.pk}_class_grid"]), ("volume_table", outputs[f"ckpt{ckpt.pk}_volume_table"])]
    # running the same generation again adds nothing
    again = launch_generation([ckpt], volumes=(0.5, 1.0, 2.0), seeds=(0, 1), enqueue=False)
    execute_job(again.pk, "test")
    assert GeneratedImage.objects.filter(checkpoint=ckpt).count() == test_sounds * 6
