"""The z-scoring in front of G and D keeps sounds unlike the training set in range (dead channels,
louder clips): a spread floor relative to the typical spread, and a clamp."""
from pathlib import Path

import numpy as np
import pytest
import torch

from gan.ml.networks import SoundStandardizer, robust_scale

STAMPS = Path("/usr/share/tuxpaint/stamps/animals")


def test_a_channel_dead_in_training_cannot_blow_up():
    rng = np.random.default_rng(0)
    train = rng.normal(0.0, 1.0, (200, 8)).astype(np.float32)
    train[:, 3] = 0.0                        # dead on every training clip (a ReLU channel never firing)
    train[:, 5] = 2.0 + 1e-9 * rng.normal(size=200)   # all but constant
    norm = SoundStandardizer(8)
    norm.fit(train)
    typical = float(np.median(train.std(axis=0)[[0, 1, 2, 4, 6, 7]]))
    assert norm.scale[3].item() == pytest.approx(SoundStandardizer.SPREAD_FLOOR * typical, rel=0.05)
    active = torch.zeros(1, 8)
    active[0, 3] = 1.0                        # the dead channel fires on an unfamiliar clip
    z_free = norm.unclamped(active)[0, 3].item()
    assert 5 < z_free < 20                    # about 1 / (0.1 x typical spread), not 1 / 1e-6
    assert norm(active * 100).abs().max().item() == SoundStandardizer.Z_CLAMP


def test_training_data_is_left_untouched_by_the_guards():
    rng = np.random.default_rng(1)
    train = (rng.normal(0, 1, (500, 6)) * np.array([10, 3, 1, 0.5, 0.2, 1])).astype(np.float32)
    norm = SoundStandardizer(6)
    norm.fit(train)
    z = norm(torch.from_numpy(train))
    assert torch.allclose(z, norm.unclamped(torch.from_numpy(train)))   # no training value is clamped
    assert z.mean(0).abs().max() < 1e-4 and (z.std(0, unbiased=False) - 1).abs().max() < 1e-3


def test_all_constant_features_are_only_centred():
    assert torch.equal(robust_scale(torch.zeros(4)), torch.ones(4))


@pytest.mark.slow
def test_real_soundnet_features_at_volumes_half_to_three_stay_bounded():
    from gan.ml.audio import AudioError, load_audio
    from gan.ml.features import FeatureSpec, extract_features
    from gan.ml.soundnet import load_soundnet

    files = sorted(p for p in STAMPS.rglob("*.ogg") if "_desc" not in p.name)
    if not files:
        pytest.skip("Tux Paint stamps are not installed (make system-packages)")
    waves = []
    for path in files:
        try:
            waves.append(load_audio(path, sr=22050)[0][: 22050 * 2])
        except AudioError:
            continue
        if len(waves) == 30:
            break
    soundnet = load_soundnet()
    spec = FeatureSpec(kind="soundnet")
    features = {v: np.stack([extract_features(w, 22050, spec.with_volume(v), soundnet=soundnet) for w in waves])
                for v in (0.5, 1.0, 2.0, 3.0)}
    train = features[1.0][:20]
    norm = SoundStandardizer(train.shape[1])
    norm.fit(train)
    old_scale = np.maximum(train.std(axis=0), 1e-6)   # the former floor
    loud = features[3.0][20:]
    assert np.abs((loud - train.mean(axis=0)) / old_scale).max() > 1e4     # the bug: |z| in the millions
    for volume, vectors in features.items():
        z = norm(torch.from_numpy(vectors[20:]))
        assert torch.isfinite(z).all()
        assert z.abs().max().item() <= SoundStandardizer.Z_CLAMP
        free = norm.unclamped(torch.from_numpy(vectors[20:])).abs()
        assert free.max().item() < 1e4, f"volume x{volume}: the floor must keep |z| far below the old 1e7"
