"""Demo datasets: balanced digits with a voice-disjoint split, stamp pairs split by source, atomic builds."""
import collections
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo.builders.digits import build_digits
import demo.builders.digits as digits_builder
from demo.builders.manifest import BASE_COLUMNS, read_manifest
from demo.builders.stamps import build_stamps
from gan.ml.audio import load_audio

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
needs_stamps = pytest.mark.skipif(not Path("/usr/share/tuxpaint/stamps").is_dir(),
                                  reason="tuxpaint-stamps-default not installed")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    if shutil.which("festival") is None:
        pytest.skip("festival not installed (the human-recorded family)")
    out = tmp_path_factory.mktemp("data") / "digits"
    seen = []
    result = build_digits(out, seed=3, n_voices=8, n_heldout_voices=2, n_human_voices=1, n_neural_voices=1,
                          progress=lambda done, total: seen.append((done, total)))
    return result, seen


@needs_espeak
def test_digits_manifest_and_files(digits):
    result, seen = digits
    rows = read_manifest(result.root)
    assert rows == [{key: str(value) for key, value in row.items()} for row in result.rows]
    assert list(rows[0])[:5] == list(BASE_COLUMNS)
    assert len(rows) == 120 and seen[0] == (0, 120) and seen[-1] == (120, 120)
    for row in rows[::7]:
        image = Image.open(result.root / row["image"])
        assert image.size == (32, 32) and image.mode == "L"
        wave, rate = load_audio(result.root / row["sound"])  # raises if silent or broken
        assert rate == 22050 and 0.2 < wave.size / rate < 2.0


@needs_espeak
def test_digits_balanced_and_voice_disjoint(digits):
    result, _ = digits
    per_split_label = collections.Counter((row["split"], row["label"]) for row in result.rows)
    assert {label for _, label in per_split_label} == {str(d) for d in range(10)}
    for split in ("train", "val", "test", "heldout"):
        assert len(set(per_split_label[(split, str(d))] for d in range(10))) == 1, split
    voices = {split: {row["group"] for row in result.rows if row["split"] == split}
              for split in ("train", "val", "test", "heldout")}
    assert [len(voices[s]) for s in ("train", "val", "test", "heldout")] == [6, 1, 2, 3]
    timbres = {split: {v.split("+")[1] for v in names} for split, names in voices.items()}
    # no val, test or held-out timbre (espeak variant) is ever trained on
    assert not timbres["train"] & (timbres["val"] | timbres["test"] | timbres["heldout"])
    # the held-out split is a whole voice family that no other split uses
    families = {split: {row["family"] for row in result.rows if row["split"] == split} for split in voices}
    assert families["heldout"] == {"klatt", "human-recorded"}
    assert not {"klatt", "human-recorded"} & (families["train"] | families["val"] | families["test"])
    assert "neural" in families["train"] and "neural" not in families["val"] | families["test"]


@needs_espeak
def test_voice_families_cover_every_variant():
    from demo.builders.digits import voice_families

    families = voice_families()
    assert {"klatt", "klatt2", "klatt4"} <= set(families["klatt"]) and "whisper" in families["breathy"]
    assert "m1" in families["formant"] and "f1" in families["formant"]
    every = [v for names in families.values() for v in names]
    assert len(every) == len(set(every)) > 60


@needs_espeak
def test_digits_test_images_are_unseen_in_training(digits):
    result, _ = digits

    def pixels(split):
        return {Image.open(result.root / row["image"]).tobytes() for row in result.rows if row["split"] == split}

    assert not pixels("train") & (pixels("test") | pixels("val") | pixels("heldout"))


@needs_espeak
def test_digits_sound_like_their_label(digits):
    # Same voice, different words => different clips; same word by two voices also differs.
    result, _ = digits
    by_voice = collections.defaultdict(dict)
    for row in result.rows:
        by_voice[row["group"]][row["label"]] = load_audio(result.root / row["sound"])[0]
    voice = next(iter(by_voice))
    lengths = {label: wave.size for label, wave in by_voice[voice].items()}
    assert len(set(lengths.values())) > 3  # "seven" and "one" are not the same clip


@needs_espeak
def test_digits_same_seed_same_dataset(tmp_path):
    first = build_digits(tmp_path / "a", seed=5, n_voices=3, n_heldout_voices=1, n_human_voices=0, n_neural_voices=0)
    second = build_digits(tmp_path / "b", seed=5, n_voices=3, n_heldout_voices=1, n_human_voices=0, n_neural_voices=0)
    assert first.rows == second.rows
    a = load_audio(tmp_path / "a" / first.rows[3]["sound"])[0]
    b = load_audio(tmp_path / "b" / second.rows[3]["sound"])[0]
    np.testing.assert_array_equal(a, b)


@needs_espeak
def test_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []
    real_speak = digits_builder._speak

    def flaky(*args):
        calls.append(args)
        if len(calls) == 7:
            raise RuntimeError("espeak-ng failed (simulated)")
        return real_speak(*args)

    monkeypatch.setattr(digits_builder, "_speak", flaky)
    with pytest.raises(RuntimeError, match="simulated"):
        build_digits(tmp_path / "digits", n_voices=3, n_heldout_voices=0, n_human_voices=0, n_neural_voices=0, workers=1)
    assert list(tmp_path.iterdir()) == []


@needs_espeak
def test_builds_into_an_existing_empty_folder(tmp_path):
    target = tmp_path / "digits"
    target.mkdir()  # e.g. a TemporaryDirectory made by the caller
    result = build_digits(target, n_voices=3, n_heldout_voices=0, n_human_voices=0, n_neural_voices=0)
    assert (target / "manifest.csv").is_file() and len(read_manifest(target)) == result.count() == 30
    assert [p.name for p in tmp_path.iterdir()] == ["digits"]  # no staging folders left


def test_refuses_to_overwrite_unless_asked(tmp_path):
    target = tmp_path / "digits"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists and is not empty"):
        build_digits(target, n_voices=3)
    assert (target / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("kwargs, message", [
    ({"n_voices": 2}, "n_voices must be >= 3"),
    ({"test_fraction": 1.0}, "test_fraction"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "must leave voices for training"),
    ({"n_voices": 2000}, "ask for fewer voices"),
    ({"heldout_family": "robots"}, "heldout_family must be one of"),
    ({"n_human_voices": -1}, "n_human_voices must be >= 0"),
])
def test_digits_bad_parameters(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_digits(tmp_path / "digits", **kwargs)
    assert not (tmp_path / "digits").exists()


@needs_stamps
def test_stamps_pairs_split_by_source(tmp_path):
    seen = []
    result = build_stamps(tmp_path / "stamps", seed=0, augment=2,
                          progress=lambda done, total: seen.append((done, total)))
    rows = read_manifest(result.root)
    stamps = {row["group"] for row in rows}
    assert len(stamps) == 66 and len(rows) == 132 and seen[-1] == (132, 132)
    assert len(result.labels) == 14 and {"bird", "instrument", "canine", "tool"} <= set(result.labels)
    # every class on both sides, and no stamp (source) on both sides
    sides = collections.defaultdict(set)
    for row in rows:
        sides[row["label"]].add(row["split"])
    assert all(s == {"train", "test"} for s in sides.values())
    train = {row["group"] for row in rows if row["split"] == "train"}
    test = {row["group"] for row in rows if row["split"] == "test"}
    assert not train & test
    assert {stamp for stamp, _ in result.skipped} >= {"animals/birds/nandou", "animals/marsupials/wombat"}
    dog = [row for row in rows if row["stamp"] == "dog"]
    assert dog and all(row["label"] == "canine" for row in dog)
    for row in rows[::11]:
        image = Image.open(result.root / row["image"])
        assert image.size == (64, 64) and image.mode == "RGB"
        wave, rate = load_audio(result.root / row["sound"])
        assert rate == 22050 and np.abs(wave).max() <= 1.0
    # augmented copies differ from the plain one, in image and in sound
    plain, augmented = dog[0], dog[1]
    assert Image.open(result.root / plain["image"]).tobytes() != Image.open(result.root / augmented["image"]).tobytes()
    assert load_audio(result.root / plain["sound"])[0].size != load_audio(result.root / augmented["sound"])[0].size


def test_stamps_missing_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="tuxpaint-stamps-default"):
        build_stamps(tmp_path / "out", stamps_dir=tmp_path / "nowhere")
