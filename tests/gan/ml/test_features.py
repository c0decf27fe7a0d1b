"""Feature vectors: documented shapes per kind and pooling, volume handled on the waveform, specs validated."""
import numpy as np
import pytest
import torch

from gan.ml.features import (KINDS, FeatureSpec, extract_features, feature_dim, frame_dim,
                             pool_frames)
from gan.ml.soundnet import SoundNet8

RATE = 22050


def tone(freq=440.0, seconds=1.0, rate=RATE, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noisy_tone(seed=0, seconds=1.0):
    rng = np.random.default_rng(seed)
    return (tone(seconds=seconds) + 0.05 * rng.standard_normal(int(RATE * seconds))).astype(np.float32)


@pytest.fixture(scope="module")
def random_soundnet():
    # Shapes do not depend on the pretrained weights; a seeded random net keeps this file offline.
    torch.manual_seed(0)
    return SoundNet8().eval()


EXPECTED_FRAME_DIMS = {"spectrogram": 257, "fbank": 40, "mfcc": 39, "soundnet": 256}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pooling, factor", [("mean", 1), ("segments", 4)])
def test_documented_shapes(kind, pooling, factor, random_soundnet):
    spec = FeatureSpec(kind=kind, pooling=pooling, n_segments=4)
    vector = extract_features(noisy_tone(), RATE, spec, soundnet=random_soundnet)
    assert vector.dtype == np.float32
    assert vector.shape == (EXPECTED_FRAME_DIMS[kind] * factor,) == (feature_dim(spec),)
    assert np.all(np.isfinite(vector))


def test_mfcc_without_deltas_and_other_sizes():
    assert feature_dim(FeatureSpec(kind="mfcc", mfcc_deltas=False)) == 13
    assert feature_dim(FeatureSpec(kind="fbank", n_mels=64, pooling="segments", n_segments=3)) == 192
    assert frame_dim(FeatureSpec(kind="spectrogram", n_fft=1024)) == 513
    vector = extract_features(noisy_tone(), RATE, FeatureSpec(kind="mfcc", mfcc_deltas=False))
    assert vector.shape == (13,)


@pytest.mark.parametrize("kind", KINDS)
def test_very_short_clip_still_gives_full_vector(kind, random_soundnet):
    # 50 ms: fewer frames than segments for every kind; each segment falls back to its nearest frame.
    spec = FeatureSpec(kind=kind, pooling="segments", n_segments=4)
    vector = extract_features(noisy_tone(seconds=0.05), RATE, spec, soundnet=random_soundnet)
    assert vector.shape == (feature_dim(spec),) and np.all(np.isfinite(vector))


def test_spectrogram_peak_sits_at_the_tone_frequency():
    spec = FeatureSpec(kind="spectrogram")
    for freq in (440.0, 2000.0):
        vector = extract_features(tone(freq), RATE, spec)
        assert abs(int(np.argmax(vector)) - round(freq * spec.n_fft / RATE)) <= 1


def test_segments_keep_time_order_that_mean_loses():
    low, high = tone(300, 0.5), tone(3000, 0.5)
    rising, falling = np.concatenate([low, high]), np.concatenate([high, low])
    mean = FeatureSpec(kind="fbank")
    segments = FeatureSpec(kind="fbank", pooling="segments", n_segments=2)
    np.testing.assert_allclose(extract_features(rising, RATE, mean), extract_features(falling, RATE, mean),
                               atol=0.3)  # only the edge frames differ
    a, b = extract_features(rising, RATE, segments), extract_features(falling, RATE, segments)
    assert np.abs(a - b).max() > 5  # the first half of one is the second half of the other
    np.testing.assert_allclose(a[:40], b[40:], atol=1.0)  # up to frames straddling the change


def test_volume_is_applied_to_the_waveform_before_extraction():
    wave = noisy_tone()  # peak ~0.6: factor 3 clips, factor 0.5 does not
    base = FeatureSpec(kind="fbank")
    loud_linear = extract_features(wave, RATE, base.with_volume(3.0, clip=False))
    loud_clipped = extract_features(wave, RATE, base.with_volume(3.0, clip=True))
    quiet = extract_features(wave, RATE, base.with_volume(0.5))
    reference = extract_features(wave, RATE, base)
    # log-mel of a linearly scaled waveform shifts every band by log(factor^2)
    np.testing.assert_allclose(quiet - reference, np.log(0.25), atol=1e-3)
    np.testing.assert_allclose(loud_linear - reference, np.log(9.0), atol=1e-3)
    # clipping is a distortion, not a shift: it spreads energy into other bands
    assert np.abs((loud_clipped - reference) - np.log(9.0)).max() > 0.5


def test_volume_changes_soundnet_features(random_soundnet):
    spec = FeatureSpec(kind="soundnet")
    a = extract_features(noisy_tone(), RATE, spec, soundnet=random_soundnet)
    b = extract_features(noisy_tone(), RATE, spec.with_volume(2.0), soundnet=random_soundnet)
    assert not np.allclose(a, b)


def test_mfcc_mean_norm_zeroes_the_time_average_but_not_segments():
    wave = np.concatenate([tone(300, 0.5), tone(2500, 0.5)])
    normed_mean = extract_features(wave, RATE, FeatureSpec(kind="mfcc", mfcc_mean_norm=True, mfcc_deltas=False))
    np.testing.assert_allclose(normed_mean, 0.0, atol=1e-3)
    normed_segments = extract_features(wave, RATE, FeatureSpec(kind="mfcc", mfcc_mean_norm=True,
                                                               mfcc_deltas=False, pooling="segments"))
    assert np.abs(normed_segments).max() > 1.0


def test_resamples_to_spec_rate():
    wave44 = tone(1000, rate=44100)
    a = extract_features(wave44, 44100, FeatureSpec(kind="fbank"))
    b = extract_features(tone(1000), RATE, FeatureSpec(kind="fbank"))
    assert np.abs(a - b).max() < 0.5


def test_pool_frames_segments_cover_all_frames():
    frames = np.arange(12, dtype=np.float32).reshape(1, 12)
    spec = FeatureSpec(kind="fbank", pooling="segments", n_segments=3)
    np.testing.assert_allclose(pool_frames(frames, spec), [1.5, 5.5, 9.5])


def test_soundnet_kind_needs_a_model():
    with pytest.raises(ValueError, match="needs a SoundNet8 model"):
        extract_features(tone(), RATE, FeatureSpec(kind="soundnet"))


@pytest.mark.parametrize("changes, message", [
    ({"kind": "chroma"}, "valid kinds: spectrogram, fbank, mfcc, soundnet"),
    ({"pooling": "max"}, "valid poolings: mean, segments"),
    ({"n_mfcc": 50}, "cannot exceed n_mels"),
    ({"volume": 0}, "volume must be"),
    ({"volume": float("nan")}, "volume must be"),
    ({"n_segments": 0}, "n_segments must be"),
    ({"sample_rate": 22050.5}, "sample_rate must be"),
    ({"clip": "yes"}, "clip must be True or False"),
])
def test_invalid_specs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        FeatureSpec(**changes)


def test_bad_waveforms_are_refused():
    with pytest.raises(ValueError, match="non-empty mono"):
        extract_features(np.zeros(0, np.float32), RATE, FeatureSpec(kind="fbank"))
    with pytest.raises(ValueError, match="non-empty mono"):
        extract_features(np.zeros((2, 100), np.float32), RATE, FeatureSpec(kind="fbank"))


def test_round_trip_and_stable_key():
    spec = FeatureSpec(kind="mfcc", pooling="segments", n_segments=4, volume=2, clip=False)
    again = FeatureSpec.from_dict(spec.to_dict())
    assert again == spec and again.key() == spec.key()
    assert spec.key().startswith("mfcc-segments-")
    assert spec.key() != spec.with_volume(3.0).key()
    assert spec.key() != FeatureSpec.from_dict({**spec.to_dict(), "clip": True}).key()
    # fields that do not affect a kind do not split its cache
    assert FeatureSpec(kind="fbank", n_mfcc=20).key() == FeatureSpec(kind="fbank").key()
    assert FeatureSpec(kind="fbank", n_segments=7).key() == FeatureSpec(kind="fbank").key()
    assert FeatureSpec(kind="fbank", n_mels=64).key() != FeatureSpec(kind="fbank").key()
    with pytest.raises(ValueError, match="unknown FeatureSpec fields \\['colour'\\]"):
        FeatureSpec.from_dict({"kind": "fbank", "colour": "red"})
