"""Sound features for pairs, through the on-disk cache (training never decodes a clip twice)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from django.conf import settings

from ..ml.feature_cache import FeatureCache, extract_many
from ..ml.features import FeatureSpec


def feature_cache() -> FeatureCache:
    return FeatureCache(settings.MEDIA_ROOT / "feature_cache")


def soundnet_model(spec: FeatureSpec, device: str = "cpu"):
    """SoundNet is loaded only for the feature kind that needs it (it is 30 MB of weights)."""
    if spec.kind != "soundnet":
        return None
    from ..ml.soundnet import load_soundnet
    from ..ml.weights import soundnet_weights_path

    return load_soundnet(soundnet_weights_path(settings.WEIGHTS_DIR), device=device)


def spec_at_volume(spec: FeatureSpec, volume: float) -> FeatureSpec:
    return spec if volume == spec.volume else dataclasses.replace(spec, volume=volume)


def features_for_pairs(pairs, spec: FeatureSpec, *, soundnet=None,
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, D) float32 features for the pairs' sounds, computed once and then read from the cache."""
    items = [(f"pair-{pair.pk}", str(settings.MEDIA_ROOT / pair.sound.name)) for pair in pairs]
    # extract_many loads SoundNet itself, and only when a clip is not cached yet.
    return np.asarray(extract_many(items, spec, feature_cache(), soundnet=soundnet, progress=progress),
                      dtype=np.float32)
