"""Train/test split by source (a video, a voice, a stamp): never the same source on both sides,
stratified by class, seeded, and recorded on the dataset."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import transaction

from jobs.engine import create_job

from ..models import Dataset, PairStatus, Split
from ..selectors.datasets import split_warnings


class SplitError(ValueError):
    """The split cannot be made as asked."""


def assign_groups(group_labels: dict[str, str], test_fraction: float, seed: int) -> dict[str, str]:
    """group -> 'train' | 'test'. Per class, round(test_fraction x groups) groups go to test (at least
    one when the class has two or more groups, never all of them). Pure, so it is easy to test."""
    if not 0.0 < test_fraction < 1.0:
        raise SplitError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    rng = random.Random(seed)
    by_class: dict[str, list[str]] = defaultdict(list)
    for group, label in group_labels.items():
        by_class[label].append(group)
    out = {}
    for label in sorted(by_class):
        groups = sorted(by_class[label])
        rng.shuffle(groups)
        n_test = 0 if len(groups) < 2 else min(len(groups) - 1, max(1, round(len(groups) * test_fraction)))
        for index, group in enumerate(groups):
            out[group] = Split.TEST if index < n_test else Split.TRAIN
    return out


def split_dataset(dataset: Dataset, *, test_fraction: float = 0.1, seed: int = 0,
                  include_discarded: bool = False) -> dict:
    """Split the dataset's kept pairs (all pairs with include_discarded) by group; a group's class is
    the most common label among its pairs. Returns and stores the per-class counts."""
    pairs = dataset.pairs.all() if include_discarded else dataset.pairs.filter(status=PairStatus.KEPT)
    rows = list(pairs.values_list("id", "group", "label"))
    if not rows:
        raise SplitError(f"dataset {dataset.name!r} has no {'' if include_discarded else 'kept '}pairs to split")
    labels_per_group: dict[str, Counter] = defaultdict(Counter)
    for pk, group, label in rows:
        labels_per_group[group or f"pair-{pk}"][label] += 1
    group_label = {g: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for g, c in labels_per_group.items()}
    assignment = assign_groups(group_label, test_fraction, seed)
    ids = {Split.TRAIN: [], Split.TEST: []}
    for pk, group, _ in rows:
        ids[assignment[group or f"pair-{pk}"]].append(pk)
    counts: dict[str, dict] = defaultdict(lambda: {"train_pairs": 0, "test_pairs": 0, "train_groups": 0, "test_groups": 0})
    for pk, group, label in rows:
        counts[label][f"{assignment[group or f'pair-{pk}']}_pairs"] += 1
    for group, side in assignment.items():
        counts[group_label[group]][f"{side}_groups"] += 1
    summary = {"test_fraction": test_fraction, "seed": seed, "include_discarded": include_discarded,
               "train_pairs": len(ids[Split.TRAIN]), "test_pairs": len(ids[Split.TEST]),
               "groups": len(assignment), "per_class": dict(sorted(counts.items()))}
    with transaction.atomic():
        for side, pks in ids.items():
            for start in range(0, len(pks), 500):
                dataset.pairs.filter(pk__in=pks[start:start + 500]).update(split=side)
        dataset.split_seed = seed
        summary["warnings"] = split_warnings(dataset)  # empty cells: a class with no test pairs, ...
        dataset.info = dict(dataset.info, split=summary)
        dataset.save(update_fields=["split_seed", "info"])
    return summary


@dataclass
class SplitParams:
    dataset_id: int
    test_fraction: float = 0.1
    seed: int = 0
    include_discarded: bool = False

    def __post_init__(self):
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {self.test_fraction}")


def launch_split(dataset: Dataset, *, user=None, enqueue: bool = True, **params):
    return create_job("split_dataset", {"dataset_id": dataset.pk, **params}, user=user, enqueue=enqueue)
