"""The analyses a suite makes after its children: the linear-probe ceiling of every sound feature on
each scored split, and how much each checkpoint's images change with the volume (Table 3)."""
from __future__ import annotations

import numpy as np

from ..media_paths import media_path
from ..ml.features import FeatureSpec
from ..ml.media import read_image
from ..ml.paired_arrays import class_index
from ..ml.metrics import volume_change
from ..ml.probe import linear_probe
from ..models import Checkpoint, Dataset, GeneratedImage, Split
from ..selectors.datasets import usable_pairs
from ..services.features import features_for_pairs
from .generate import distinct_sounds


def _arrays(dataset: Dataset, split: str, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    pairs = distinct_sounds(usable_pairs(dataset, split))
    index = class_index(dataset.class_names)
    labels = np.array([index[p.label] for p in pairs], dtype=np.int64)
    if not pairs:
        return np.zeros((0, 1), np.float32), labels
    return features_for_pairs(pairs, spec), labels


def probe_ceilings(dataset: Dataset, plan: dict, feature_options: dict, splits: list[str], log=print) -> dict:
    """{feature kind: {split: {accuracy, n, ci}}} for every feature the suite trained with."""
    kinds = list(dict.fromkeys([*plan["features"], plan["table4_feature"]]))
    out = {}
    for kind in kinds:
        spec = FeatureSpec.from_dict({**feature_options, "kind": kind})
        train_x, train_y = _arrays(dataset, Split.TRAIN, spec)
        tests = {split: _arrays(dataset, split, spec) for split in splits}
        out[kind] = linear_probe(train_x, train_y, tests)
        log(f"linear probe on {kind}: " + ", ".join(f"{s} {100 * r['accuracy']:.1f}% (n {r['n']})"
                                                    for s, r in out[kind].items()))
    return out


def volume_sensitivity(checkpoint: Checkpoint, volumes) -> dict:
    """volume_change of the checkpoint's test images (seed 0) at the given volumes."""
    rows = GeneratedImage.objects.filter(checkpoint=checkpoint, seed=0, source_pair__split=Split.TEST,
                                         volume__in=list(volumes))
    by_volume: dict[float, dict[str, str]] = {}
    for row in rows:
        by_volume.setdefault(row.volume, {})[row.sound.name] = row.image.name
    sounds = sorted(set.intersection(*(set(v) for v in by_volume.values()))) if by_volume else []
    if len(by_volume) < 2 or 1.0 not in by_volume or not sounds:
        return {}

    images = {volume: np.stack([read_image(media_path(paths[s])) for s in sounds])
              for volume, paths in by_volume.items()}
    return volume_change(images)
