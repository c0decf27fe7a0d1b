"""Sound features for pairs, through the on-disk cache (training never decodes a clip twice)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from django.conf import settings

from ..media_paths import media_path
from ..ml.feature_cache import FeatureCache, extract_many
from ..ml.features import FeatureSpec
from ..ml.weights import soundnet_weights_path


def feature_cache() -> FeatureCache:
    return FeatureCache(media_path("feature_cache"))


def soundnet_model(spec: FeatureSpec, device: str = "cpu"):
    """SoundNet is loaded only for the feature kind that needs it (it is 30 MB of weights)."""
    if spec.kind != "soundnet":
        return None
    return pretrained_soundnet(device)


def pretrained_soundnet(device: str = "cpu"):
    """The pretrained SoundNet of WEIGHTS_DIR, loaded once per process and device."""
    from ..ml.soundnet import cached_soundnet  # PyTorch: only in the jobs that run SoundNet

    return cached_soundnet(str(soundnet_weights_path(settings.WEIGHTS_DIR)), str(device))


def spec_at_volume(spec: FeatureSpec, volume: float) -> FeatureSpec:
    return spec if volume == spec.volume else dataclasses.replace(spec, volume=volume)


def features_for_pairs(pairs, spec: FeatureSpec, *, soundnet=None,
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, D) float32 features for the pairs' sounds, computed once and then read from the cache."""
    items = [(f"pair-{pair.pk}", str(media_path(pair.sound.name))) for pair in pairs]
    # extract_many loads SoundNet itself, and only when a clip is not cached yet.
    return np.asarray(extract_many(items, spec, feature_cache(), soundnet=soundnet, progress=progress),
                      dtype=np.float32)
