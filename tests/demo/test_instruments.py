"""The instruments dataset: sample sets and melodies split as promised, held-out sets refused,
photos for testing unseen in training, level independent of the class, deterministic builds."""
import collections
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo.builders.instruments import (CLASS_MAP, HELDOUT_SET, INSTRUMENTS, TRAIN_SETS, build_instruments,
                                       photo_pools, sample_set_path)
from demo.builders.manifest import read_manifest
from demo.builders.sound_augment import augment_sound
from gan.ml.audio import load_audio

needs_sample_sets = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").is_file()
    or not Path("/usr/share/tuxpaint/stamps").is_dir(),
    reason="fluidsynth, the General MIDI sample sets or the Tux Paint stamps are not installed (make system-packages)")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "instruments"
    seen = []
    result = build_instruments(out, seed=5, n_train=3, n_val=1, n_test=2,
                               progress=lambda done, total: seen.append((done, total)))
    return result, read_manifest(result.root), seen


@needs_sample_sets
def test_splits_sample_sets_and_melodies(small):
    result, rows, seen = small
    counts = collections.Counter(row["split"] for row in rows)
    # (3 + 1 + 2) melodies x 2 training sets x 6 classes, + 2 held-out melodies x 6 classes
    assert counts == {"train": 36, "val": 12, "test": 24, "heldout": 12}
    assert seen[-1] == (84, 84) and sorted(result.labels) == sorted(i.name for i in INSTRUMENTS)
    sets = collections.defaultdict(set)
    melodies = collections.defaultdict(set)
    for row in rows:
        sets[row["split"]].add(row["sample_set"])
        melodies[row["split"]].add((row["label"], int(row["melody"])))
    assert sets["train"] == sets["val"] == sets["test"] == set(TRAIN_SETS)
    assert sets["heldout"] == {HELDOUT_SET}
    assert not melodies["train"] & (melodies["val"] | melodies["test"] | melodies["heldout"])
    assert melodies["test"] == melodies["heldout"]      # the same notes, another sample set


@needs_sample_sets
def test_test_photos_are_unseen_in_training_where_a_class_has_two(small):
    _, rows, _ = small
    for inst in INSTRUMENTS:
        train_photos, test_photos = photo_pools(inst)
        used_train = {r["photo"] for r in rows if r["label"] == inst.name and r["split"] in ("train", "val")}
        used_test = {r["photo"] for r in rows if r["label"] == inst.name and r["split"] in ("test", "heldout")}
        if len(inst.photos) >= 2:
            assert not used_train & used_test, inst.name
        assert used_test <= {p.rsplit("/", 1)[-1] for p in test_photos}


@needs_sample_sets
def test_files_are_real_sounds_and_images_at_a_class_independent_level(small):
    result, rows, _ = small
    levels = collections.defaultdict(list)
    for row in rows:
        image = Image.open(result.root / row["image"])
        assert image.size == (64, 64) and image.mode == "RGB"
        wave, rate = load_audio(result.root / row["sound"])
        assert rate == 22050 and 1.0 <= wave.size / rate <= 4.0 and np.abs(wave).max() < 1.0
        levels[row["label"]].append(20 * np.log10(np.sqrt(np.mean(wave ** 2))))
    every = np.concatenate([np.array(v) for v in levels.values()])
    assert every.min() > -34 and every.max() < -6          # -20 dBFS +-12 dB (and headroom for peaks)
    assert max(np.std(v) for v in levels.values()) > 3       # levels vary within each class


@needs_sample_sets
def test_same_seed_same_dataset(small, tmp_path):
    result, rows, _ = small
    again = build_instruments(tmp_path / "again", seed=5, n_train=3, n_val=1, n_test=2)
    assert read_manifest(again.root) == rows
    for row in rows[::17]:
        assert (again.root / row["sound"]).read_bytes() == (result.root / row["sound"]).read_bytes()


def test_sample_sets_kept_for_evaluation_are_refused(tmp_path):
    for name in ("TimGM6mb", "freepats"):
        with pytest.raises(ValueError, match="reserved for evaluation"):
            sample_set_path(name)
    with pytest.raises(ValueError, match="cannot also be a training set"):
        build_instruments(tmp_path / "x", train_sets=("FluidR3_GM",), heldout_set="FluidR3_GM")
    with pytest.raises(ValueError, match="reserved for evaluation"):
        build_instruments(tmp_path / "x", train_sets=("TimGM6mb",))
    assert not (tmp_path / "x").exists()


def test_every_class_maps_to_imagenet_classes():
    from gan.ml.classifiers import imagenet_class_names

    names = set(imagenet_class_names())
    assert all(set(targets) <= names for targets in CLASS_MAP.values())


def test_augmentation_sets_the_level_and_keeps_the_length():
    rng = np.random.default_rng(0)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)).astype(np.float32)
    levels = []
    for seed in range(40):
        out = augment_sound(tone, 22050, np.random.default_rng(seed))
        assert out.shape == tone.shape and out.dtype == np.float32 and np.abs(out).max() <= 0.99
        levels.append(20 * np.log10(np.sqrt(np.mean(out ** 2))))
    assert -33 < min(levels) < -26 and -14 < max(levels) < -7     # spread over the +-12 dB around -20 dBFS
    assert np.array_equal(augment_sound(tone, 22050, np.random.default_rng(3)),
                          augment_sound(tone, 22050, np.random.default_rng(3)))
    with pytest.raises(ValueError, match="non-empty mono"):
        augment_sound(np.zeros(0, np.float32), 22050, rng)
