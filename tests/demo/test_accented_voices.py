"""The digits dataset's accented human voices (festival's voices of other languages saying the English
digits): training only, speech not silence, one speaker after another, and one clear error when a
voice is not installed."""
import collections
import shutil

import numpy as np
import pytest

import demo.builders.accented_voices as accented
from demo.builders.accented_voices import ACCENTED_FAMILY, ACCENTED_VOICES, installed_accented_voices
from demo.builders.digits import DIGIT_WORDS, HUMAN_FAMILY, build_digits
from gan.ml.audio import load_audio

needs_voices = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("festival") is None
                                  or len(installed_accented_voices()) < len(ACCENTED_VOICES),
                                  reason="espeak-ng, festival or its accented voices not installed (make system-packages)")


def test_every_voice_spells_ten_digits_and_none_is_a_held_out_speaker():
    for voice, (package, spellings) in ACCENTED_VOICES.items():
        assert len(spellings) == len(DIGIT_WORDS) == len(set(spellings)), voice
        assert package.startswith("festvox-") and all(s.isascii() and s.isalpha() for s in spellings)
    banned = ("ked", "kal", "slt", "awb", "rms", "bdl", "clb", "jmk", "ksp", "arctic", "flite")
    assert not [voice for voice in ACCENTED_VOICES if any(name in voice for name in banned)]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    if shutil.which("espeak-ng") is None or shutil.which("festival") is None \
            or len(installed_accented_voices()) < len(ACCENTED_VOICES):
        pytest.skip("espeak-ng, festival or its accented voices not installed")
    out = tmp_path_factory.mktemp("data") / "digits"
    return build_digits(out, seed=1, n_voices=3, n_heldout_voices=0, n_human_voices=1, n_neural_voices=0,
                        n_accented_voices=3, augment=False)


@needs_voices
def test_accented_voices_train_only_and_speak(build):
    rows = [row for row in build.rows if row["family"] == ACCENTED_FAMILY]
    assert len(rows) == 30 and {row["split"] for row in rows} == {"train"}
    assert {row["label"] for row in rows} == {str(d) for d in range(10)}
    by_voice = collections.defaultdict(dict)
    for row in rows:
        assert row["group"].startswith("accented-")
        wave, rate = load_audio(build.root / row["sound"])  # raises if silent or broken
        assert rate == 22050 and 0.2 < wave.size / rate < 3.0 and np.sqrt(np.mean(wave ** 2)) > 0.01
        by_voice[row["group"]][row["text"]] = wave
    # three settings, one per speaker in table order: no speaker twice before every one was used
    speakers = [group.split("+")[0].removeprefix("accented-") for group in by_voice]
    assert speakers == [name.replace("_", "-") for name in list(ACCENTED_VOICES)[:3]]
    for words in by_voice.values():
        assert len({wave.size for wave in words.values()}) > 6  # ten words, not one clip for all
    held = {row["group"] for row in build.rows if row["family"] == HUMAN_FAMILY}
    assert held and all(row["split"] == "heldout" for row in build.rows if row["family"] == HUMAN_FAMILY)
    assert not held & set(by_voice)


@needs_voices
def test_adding_accented_voices_leaves_every_other_row_as_it_was(tmp_path, build):
    without = build_digits(tmp_path / "d", seed=1, n_voices=3, n_heldout_voices=0, n_human_voices=1,
                           n_neural_voices=0, augment=False)
    assert without.rows == [row for row in build.rows if row["family"] != ACCENTED_FAMILY]


def test_a_missing_voice_is_one_clear_error_naming_its_package(tmp_path, monkeypatch):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    monkeypatch.setattr(accented, "installed_accented_voices", lambda: ["lp_diphone"])
    with pytest.raises(RuntimeError, match="apt-get install .*festvox-itapc16k.*; or build with n_accented_voices=0"):
        build_digits(tmp_path / "digits", n_voices=3, n_human_voices=0, n_neural_voices=0, n_accented_voices=2)
    assert not (tmp_path / "digits").exists()


@pytest.mark.django_db
def test_the_command_takes_accented_voices_for_digits_only():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--accented-voices is for the digits dataset"):
        call_command("build_demo_dataset", "stamps", "--accented-voices", "3")
    with pytest.raises(CommandError, match="must be >= 0"):
        call_command("build_demo_dataset", "digits", "--tiny", "--accented-voices", "-1")


@pytest.mark.django_db
def test_a_missing_voice_is_one_line_from_the_command(monkeypatch):
    from django.core.management import CommandError, call_command

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    monkeypatch.setattr(accented, "installed_accented_voices", lambda: [])
    with pytest.raises(CommandError, match="apt-get install .*festvox-czech-krb"):
        call_command("build_demo_dataset", "digits", "--tiny", "--accented-voices", "2")
