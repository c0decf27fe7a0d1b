"""Sound features for pairs (gan/services/features.py): computed once per sound and feature spec
into the cache under MEDIA_ROOT, then read back identical; a volume is part of the spec, so a louder
playback is other features; only SoundNet features load SoundNet."""
import numpy as np
import pytest
import soundfile

from gan.ml.features import FeatureSpec, feature_dim
from gan.models import Dataset, Pair, PairStatus
from gan.services.features import feature_cache, features_for_pairs, soundnet_model, spec_at_volume

pytestmark = pytest.mark.django_db


def _tones(media_root) -> list[Pair]:
    dataset = Dataset.objects.create(name="tones", source="manifest", root="d")
    (media_root / "d").mkdir(parents=True)
    pairs = []
    for k, freq in enumerate((330.0, 1320.0)):
        t = np.arange(8000) / 16000
        soundfile.write(media_root / "d" / f"tone{k}.wav", (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32),
                        16000)
        pairs.append(Pair.objects.create(dataset=dataset, sound=f"d/tone{k}.wav", image=f"d/tone{k}.png", label="a",
                                         status=PairStatus.KEPT))
    return pairs


def test_features_are_cached_per_sound_and_spec_and_read_back_identical(media_root):
    pairs = _tones(media_root)
    spec = FeatureSpec(kind="mfcc")
    features = features_for_pairs(pairs, spec)
    assert features.shape == (2, feature_dim(spec)) == (2, 39) and features.dtype == np.float32
    assert not np.allclose(features[0], features[1])  # two pitches, two vectors
    assert all(feature_cache().entry_path(f"pair-{pair.pk}", spec).is_file() for pair in pairs)
    seen = []
    again = features_for_pairs(pairs, spec, progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_array_equal(again, features)
    assert seen[0] == (0, 2)


def test_a_volume_is_another_spec_and_other_features():
    spec = FeatureSpec(kind="mfcc")
    assert spec_at_volume(spec, 1.0) is spec
    louder = spec_at_volume(spec, 2.0)
    assert louder.volume == 2.0 and louder.kind == "mfcc" and louder.key() != spec.key()
    assert soundnet_model(spec) is None  # no 30 MB of weights for a feature that does not use them


def test_a_louder_playback_changes_the_features(media_root):
    pairs = _tones(media_root)
    spec = FeatureSpec(kind="mfcc")
    quiet, loud = features_for_pairs(pairs, spec), features_for_pairs(pairs, spec_at_volume(spec, 2.0))
    assert loud.shape == quiet.shape and not np.allclose(loud, quiet)
