"""Decoding sound files: good files give mono float32; every kind of bad file names itself and the problem."""
from pathlib import Path

import numpy as np
import pytest
import soundfile

from gan.ml.audio import AudioError, load_audio, scale_volume

TUX_DOG = Path("/usr/share/tuxpaint/stamps/animals/mammals/dogs/dog.ogg")


def write_tone(path: Path, rate=16000, seconds=0.5, freq=440.0, channels=1, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = tone if channels == 1 else np.stack([tone, 0.5 * tone], axis=1)
    soundfile.write(path, data, rate)
    return tone


def test_loads_mono_float32_at_native_rate(tmp_path):
    tone = write_tone(tmp_path / "tone.wav", rate=16000)
    wave, rate = load_audio(tmp_path / "tone.wav")
    assert rate == 16000 and wave.dtype == np.float32 and wave.ndim == 1
    assert wave.shape == tone.shape
    np.testing.assert_allclose(wave, tone, atol=1e-4)  # 16-bit PCM quantisation only


def test_resamples_when_asked(tmp_path):
    write_tone(tmp_path / "tone.wav", rate=16000, seconds=0.5)
    wave, rate = load_audio(tmp_path / "tone.wav", sr=8000)
    assert rate == 8000 and abs(wave.size - 4000) <= 2


def test_stereo_is_averaged_to_mono(tmp_path):
    tone = write_tone(tmp_path / "stereo.wav", channels=2)
    wave, _ = load_audio(tmp_path / "stereo.wav")
    np.testing.assert_allclose(wave, 0.75 * tone, atol=1e-4)


@pytest.mark.skipif(not TUX_DOG.is_file(), reason="Tux Paint stamps (tuxpaint-stamps-default) not installed")
def test_real_ogg_recording():
    wave, rate = load_audio(TUX_DOG)
    assert rate == 44100 and 0.8 < wave.size / rate < 1.1
    assert np.abs(wave).max() > 0.5


@pytest.mark.parametrize("name, content, problem", [
    ("empty.wav", b"", "empty (0 bytes)"),
    ("text.wav", b"this is a text file, not a sound " * 4, "cannot decode audio"),
    ("truncated.wav", b"RIFF\x24\x08\x00\x00WAVEfmt ", "cannot decode audio"),
])
def test_bad_files_raise_audio_error_naming_file_and_problem(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError) as error:
        load_audio(path)
    assert str(path) in str(error.value) and problem in str(error.value)


def test_header_only_wav_has_no_samples(tmp_path):
    soundfile.write(tmp_path / "none.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="zero audio samples"):
        load_audio(tmp_path / "none.wav")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="not a regular file"):
        load_audio(tmp_path)


def test_silent_file_is_rejected_unless_allowed(tmp_path):
    soundfile.write(tmp_path / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    with pytest.raises(AudioError) as error:
        load_audio(tmp_path / "silent.wav")
    assert "silent" in str(error.value) and "silent.wav" in str(error.value)
    wave, _ = load_audio(tmp_path / "silent.wav", allow_silent=True)
    assert wave.size == 16000


def test_audio_error_is_a_value_error():
    assert issubclass(AudioError, ValueError)


def test_scale_volume_with_and_without_clipping():
    wave = np.array([-0.8, -0.2, 0.0, 0.3, 0.6], dtype=np.float32)
    original = wave.copy()
    np.testing.assert_allclose(scale_volume(wave, 0.5), wave * 0.5)
    clipped = scale_volume(wave, 2.0, clip=True)
    np.testing.assert_allclose(clipped, [-1.0, -0.4, 0.0, 0.6, 1.0])
    linear = scale_volume(wave, 2.0, clip=False)
    np.testing.assert_allclose(linear, [-1.6, -0.4, 0.0, 0.6, 1.2])
    np.testing.assert_array_equal(wave, original)  # the input is not modified
    assert clipped.dtype == np.float32


@pytest.mark.parametrize("factor", [0, -1, float("nan"), float("inf")])
def test_scale_volume_rejects_bad_factor(factor):
    with pytest.raises(ValueError, match="volume factor"):
        scale_volume(np.ones(4, dtype=np.float32), factor)
