"""The digits dataset's human-recorded family (festival's ked, held out) and the speed, pitch, reverb
and telephone augmentations: known answers on tones, and festival clips that are speech, not silence."""
import collections
import shutil

import numpy as np
import pytest

import demo.builders.digits as digits_builder
from demo.builders.digits import HUMAN_FAMILY, build_digits
from demo.builders.neural_voice import NEURAL_FAMILY
from demo.builders.sound_augment import augment_sound, sox_effects, speed_and_pitch, telephone_line
from gan.ml.audio import load_audio

RATE = 22050
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
needs_speech = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("festival") is None,
                                  reason="espeak-ng or festival not installed")


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.5 * np.sin(2 * np.pi * freq * t)


def peak_hz(wave: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / RATE)[np.argmax(spectrum)])


@needs_sox
def test_tempo_changes_duration_not_pitch():
    out = speed_and_pitch(tone(440), RATE, 1.25, 0)
    assert abs(len(out) / RATE - 0.8) < 0.02
    assert abs(peak_hz(out) - 440) < 5


@needs_sox
def test_pitch_shift_by_an_octave_keeps_duration():
    out = speed_and_pitch(tone(440), RATE, 1.0, 1200)
    assert abs(len(out) - RATE) < 0.01 * RATE
    assert abs(peak_hz(out) - 880) < 5
    assert abs(peak_hz(speed_and_pitch(tone(440), RATE, 1.0, -700)) - 440 * 2 ** (-7 / 12)) < 5


@needs_sox
def test_resampling_keeps_duration_and_pitch():
    t = np.arange(16000) / 16000
    out = sox_effects(0.5 * np.sin(2 * np.pi * 440 * t), 16000, [], out_rate=RATE)
    assert abs(len(out) - RATE) < 0.01 * RATE and abs(peak_hz(out) - 440) < 5


@needs_sox
def test_reverb_leaves_a_tail_after_the_sound_stops():
    burst = np.concatenate([tone(500, 0.2), np.zeros(RATE // 2)])
    wet = sox_effects(burst, RATE, ["reverb", "90", "50", "100"])
    tail = slice(int(0.3 * RATE), int(0.5 * RATE))
    assert np.sqrt(np.mean(burst[tail] ** 2)) == 0
    assert np.sqrt(np.mean(wet[tail] ** 2)) > 1e-3


def test_telephone_line_keeps_speech_band_and_drops_the_rest():
    line = telephone_line(tone(440) + tone(6000) + tone(100), RATE)
    spectrum = np.abs(np.fft.rfft(line))
    freqs = np.fft.rfftfreq(len(line), 1 / RATE)

    def level(f):
        return spectrum[np.abs(freqs - f) < 3].max()

    assert len(line) == RATE
    assert level(6000) < 1e-3 * level(440)      # above 4 kHz: gone with the 8 kHz rate
    assert level(100) < 0.2 * level(440)        # below 300 Hz: filtered
    # mu-law at 8 bits: the in-band tone comes back within about 3% of its level
    assert abs(np.sqrt(np.mean(telephone_line(tone(1000), RATE)[1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 0.03


@needs_sox
def test_augment_options_default_off_and_draw_in_range():
    wave = tone(300)
    plain = augment_sound(wave, RATE, np.random.default_rng(1))
    assert np.array_equal(plain, augment_sound(wave, RATE, np.random.default_rng(1), telephone=0.0, reverb=0.0))
    lengths = {len(augment_sound(wave, RATE, np.random.default_rng(s), speed_pitch=1.0, room=0, noise=0))
               for s in range(6)}
    assert len(lengths) > 3 and all(0.79 * RATE <= n <= 1.26 * RATE for n in lengths)


@pytest.fixture(scope="module")
def human(tmp_path_factory):
    if shutil.which("espeak-ng") is None or shutil.which("festival") is None:
        pytest.skip("espeak-ng or festival not installed")
    out = tmp_path_factory.mktemp("data") / "digits"
    return build_digits(out, seed=2, n_voices=4, n_heldout_voices=1, n_human_voices=2, n_neural_voices=0,
                        augment=False)


@needs_speech
def test_festival_clips_are_speech_not_silence(human):
    rows = [row for row in human.rows if row["family"] == HUMAN_FAMILY]
    assert len(rows) == 20 and {row["label"] for row in rows} == {str(d) for d in range(10)}
    by_voice = collections.defaultdict(dict)
    for row in rows:
        wave, rate = load_audio(human.root / row["sound"])  # raises if silent or broken
        assert rate == RATE and 0.3 < wave.size / rate < 2.5 and np.sqrt(np.mean(wave ** 2)) > 0.01
        by_voice[row["group"]][row["text"]] = wave
    assert len(by_voice) == 2
    for words in by_voice.values():
        assert words["seven"].size > words["one"].size  # two syllables against one (plus festival's pauses)
        assert len({wave.size for wave in words.values()}) > 6  # ten words, not one clip for all
    slow, fast = sorted(by_voice, key=lambda voice: float(voice.split("+t")[1].split("p")[0]))[::-1]
    assert by_voice[slow]["seven"].size > by_voice[fast]["seven"].size  # the duration stretch is applied


@needs_speech
def test_human_family_is_held_out_and_never_trained_on(human):
    splits = collections.defaultdict(set)
    for row in human.rows:
        splits[row["family"]].add(row["split"])
    assert splits[HUMAN_FAMILY] == {"heldout"} and splits["klatt"] == {"heldout"}
    held_groups = {row["group"] for row in human.rows if row["split"] == "heldout"}
    seen_groups = {row["group"] for row in human.rows if row["split"] in ("train", "val", "test")}
    assert not held_groups & seen_groups
    assert all(row["group"].startswith("festival-ked+") for row in human.rows if row["family"] == HUMAN_FAMILY)
    assert not any("festival" in row["group"] for row in human.rows if row["split"] != "heldout")


@needs_speech
def test_adding_the_family_leaves_the_espeak_rows_as_they_were(tmp_path, human):
    without = build_digits(tmp_path / "d", seed=2, n_voices=4, n_heldout_voices=1, n_human_voices=0,
                           n_neural_voices=0, augment=False)
    assert without.rows == [row for row in human.rows if row["family"] != HUMAN_FAMILY]


def test_missing_festival_is_one_clear_error(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(digits_builder.shutil, "which",
                        lambda name, *a, **k: None if name == "festival" else real_which(name, *a, **k))
    if real_which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    with pytest.raises(RuntimeError, match="apt-get install festival festvox-kdlpc16k"):
        build_digits(tmp_path / "digits", n_voices=3, n_human_voices=1, n_neural_voices=0)
    assert not (tmp_path / "digits").exists()


@needs_speech
def test_neural_voice_trains_only_and_speaks(tmp_path):
    pytest.importorskip("piper")
    result = build_digits(tmp_path / "d", seed=4, n_voices=3, n_heldout_voices=0, n_human_voices=0,
                          n_neural_voices=2)
    rows = [row for row in result.rows if row["family"] == NEURAL_FAMILY]
    assert len(rows) == 20 and {row["split"] for row in rows} == {"train"}
    assert all(row["group"].startswith("piper-joe+") for row in rows) and len({row["group"] for row in rows}) == 2
    for row in rows[::3]:
        wave, rate = load_audio(result.root / row["sound"])  # raises if silent or broken
        assert rate == RATE and 0.2 < wave.size / rate < 2.5
