"""Data cleaning by agreement of two classifiers (the paper's section 3), as pure functions.

SoundNet's object head and an ImageNet image classifier both output 1000 ImageNet probabilities. A
`ClassMap` groups ImageNet classes into the dataset's classes (the paper's nine by default). Each
classifier's top-k ImageNet classes are mapped to dataset classes; a pair is kept when the two mapped
sets share a class (k=1: both top-1 classes map to the same class; the authors' code compared top-5
keywords). The agreed class becomes the pair's label; the decision records both predictions and
their scores so a discarded pair can be inspected.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .imagenet_classes import N_IMAGENET, ClassLookupError, resolve_entry

UNMAPPED = "unmapped"

# The paper's nine classes as ImageNet indices (0-based, the standard synset order).
PAPER_CLASS_MAP: dict[str, list[int]] = {
    "dog": list(range(151, 269)),  # Chihuahua .. Mexican hairless: the dog breeds (not wolves/foxes)
    "drum": [541],
    "guitar": [402],  # acoustic guitar (the paper's videos are mostly acoustic; add 546 for electric)
    "piano": [579, 881],  # grand piano, upright
    "plane": [404, 895],  # airliner, warplane
    "speedboat": [814],
    "dam": [525],
    "soccer": [805],  # soccer ball
    "baseball": [429],
}


class ClassMapError(ValueError):
    """A class map that cannot be used: unknown ImageNet name, index out of range, overlap, empty."""


class ClassMap:
    """Dataset class -> set of ImageNet indices; each ImageNet class belongs to at most one class.

    Entries are what `imagenet_classes.resolve_entry` reads: indices, exact names (case is ignored
    only when that leaves one class), ranges "A-B" and groups "group:dog-breeds"."""

    def __init__(self, classes: Mapping[str, Sequence[int | str]], imagenet_names: Sequence[str] | None = None):
        if not isinstance(classes, Mapping) or not classes:
            raise ClassMapError("a class map needs at least one class: {\"class\": [ImageNet entries], ...}")
        names = tuple(imagenet_names or ())
        self.members: dict[str, tuple[int, ...]] = {}
        self.class_of = np.full(N_IMAGENET, -1, dtype=np.int64)
        labels = []
        for position, (label, entries) in enumerate(classes.items()):
            label = str(label).strip()
            if not label or label == UNMAPPED:
                raise ClassMapError(f"invalid class name {label!r}")
            if label in self.members:
                raise ClassMapError(f"class {label!r} is given twice")
            if isinstance(entries, (str, int)):
                entries = [entries]  # a single entry written without a list
            if not isinstance(entries, Sequence):
                raise ClassMapError(f"class {label!r}: give a list of ImageNet entries, not {entries!r}")
            indices = []
            for entry in entries:
                try:
                    resolved = resolve_entry(entry, names)
                except ClassLookupError as exc:
                    raise ClassMapError(f"class {label!r}: {exc}") from None
                for index in resolved:
                    owner = self.class_of[index]
                    if owner >= 0 and owner != position:
                        shown = f"{index} {names[index]!r}" if names else str(index)
                        raise ClassMapError(f"ImageNet class {shown} is in both {labels[owner]!r} and {label!r}")
                    self.class_of[index] = position
                    indices.append(index)
            if not indices:
                raise ClassMapError(f"class {label!r} has no ImageNet classes")
            labels.append(label)
            self.members[label] = tuple(sorted(set(indices)))
        self.names = list(self.members)

    def to_dict(self) -> dict[str, list[int]]:
        return {label: list(indices) for label, indices in self.members.items()}

    def label_of(self, index: int) -> str | None:
        owner = self.class_of[int(index)]
        return self.names[owner] if owner >= 0 else None

    def class_scores(self, probabilities: np.ndarray) -> dict[str, float]:
        """Total probability each class receives (its members' probabilities summed)."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        return {label: float(probabilities[list(idx)].sum()) for label, idx in self.members.items()}


@dataclass(frozen=True)
class MappedPrediction:
    """One classifier's view of one input: its top-k ImageNet classes and the dataset classes they map to."""

    top: list[tuple[int, str, float]]  # (ImageNet index, name, probability), best first
    classes: dict[str, float]  # dataset class -> probability summed over its members within the top-k

    def to_dict(self) -> dict:
        return {"top": [[i, n, round(p, 5)] for i, n, p in self.top],
                "classes": {k: round(v, 5) for k, v in self.classes.items()}}


def map_prediction(probabilities: np.ndarray, class_map: ClassMap, k: int,
                   imagenet_names: Sequence[str]) -> MappedPrediction:
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if probabilities.size != N_IMAGENET:
        raise ValueError(f"expected {N_IMAGENET} ImageNet probabilities, got {probabilities.size}")
    if not 1 <= k <= N_IMAGENET:
        raise ValueError(f"top_k must be in 1..{N_IMAGENET}, got {k}")
    order = np.argsort(-probabilities, kind="stable")[:k]
    top = [(int(i), imagenet_names[i], float(probabilities[i])) for i in order]
    classes: dict[str, float] = {}
    for index, _, probability in top:
        label = class_map.label_of(index)
        if label is not None:
            classes[label] = classes.get(label, 0.0) + probability
    return MappedPrediction(top, classes)


@dataclass(frozen=True)
class Decision:
    kept: bool
    label: str  # the agreed class if kept; else the sound's best mapped class, or UNMAPPED
    reason: str
    sound: MappedPrediction
    image: MappedPrediction

    def report(self, **extra) -> dict:
        return {"kept": self.kept, "label": self.label, "reason": self.reason,
                "sound": self.sound.to_dict(), "image": self.image.to_dict(), **extra}


def _describe(prediction: MappedPrediction) -> str:
    best = prediction.top[0]
    mapped = ", ".join(f"{label} {score:.2f}" for label, score in
                       sorted(prediction.classes.items(), key=lambda kv: -kv[1])) or "none of the classes"
    return f"top-1 {best[1]!r} {best[2]:.2f}; mapped: {mapped}"


def decide(sound_probabilities: np.ndarray, image_probabilities: np.ndarray, class_map: ClassMap,
           imagenet_names: Sequence[str], top_k: int = 1) -> Decision:
    """Keep the pair when the sound's and the image's top-k classes share a dataset class."""
    sound = map_prediction(sound_probabilities, class_map, top_k, imagenet_names)
    image = map_prediction(image_probabilities, class_map, top_k, imagenet_names)
    shared = set(sound.classes) & set(image.classes)
    k_text = "top-1" if top_k == 1 else f"top-{top_k}"
    if shared:
        # several shared classes (possible with k > 1): the one both classifiers give most weight
        label = max(sorted(shared), key=lambda c: sound.classes[c] + image.classes[c])
        return Decision(True, label, f"both classifiers say {label!r} ({k_text}); "
                                     f"sound {_describe(sound)} | image {_describe(image)}", sound, image)
    if not sound.classes:
        why = f"the sound is in none of the classes ({k_text})"
    elif not image.classes:
        why = f"the image is in none of the classes ({k_text})"
    else:
        why = f"the classes differ ({k_text})"
    label = max(sorted(sound.classes), key=sound.classes.get) if sound.classes else UNMAPPED
    return Decision(False, label, f"{why}: sound {_describe(sound)} | image {_describe(image)}", sound, image)
