"""Reads of datasets: the pairs a model may use, and the paper's Table 1."""
from __future__ import annotations

from django.db.models import Count

from ..csv_safety import csv_text
from ..ml.cleaning import UNMAPPED
from ..models import Dataset, PairStatus, Split


def usable_pairs(dataset: Dataset, split: str):
    """The dataset's kept pairs of one split, in a stable order."""
    return dataset.pairs.filter(split=split, status=PairStatus.KEPT).order_by("id")


def class_order_key(class_names):
    """Sort key (label, pk) -> the paper's order: class by class, in the dataset's class order."""
    index = {name: i for i, name in enumerate(class_names)}
    return lambda label, pk: (index.get(label, len(index)), pk)


def real_pairs(dataset: Dataset, split: str) -> list:
    """Kept pairs of a split ('all' = train and test), class by class (the paper's image order)."""
    splits = [Split.TRAIN, Split.TEST] if split == "all" else [split]
    pairs = [p for s in splits for p in usable_pairs(dataset, s)]
    key = class_order_key(dataset.class_names)
    return sorted(pairs, key=lambda p: key(p.label, p.pk))


def table1(dataset: Dataset) -> list[dict]:
    """The paper's Table 1 for a dataset: pairs per class, kept and discarded, and the discard rate
    (pending = not cleaned yet). The last row is the total."""
    rows: dict[str, dict] = {}
    for row in dataset.pairs.values("label", "status").annotate(n=Count("id")):
        entry = rows.setdefault(row["label"], {"class": row["label"], PairStatus.KEPT: 0,
                                               PairStatus.DISCARDED: 0, PairStatus.PENDING: 0})
        entry[row["status"]] = row["n"]
    ordered = sorted(rows.values(), key=lambda r: (r["class"] == UNMAPPED, -r[PairStatus.KEPT], r["class"]))
    total = {"class": "total", **{s: sum(r[s] for r in ordered) for s in PairStatus.values}}
    out = []
    for row in ordered + [total]:
        cleaned = row[PairStatus.KEPT] + row[PairStatus.DISCARDED]
        out.append({"class": row["class"], "kept": row[PairStatus.KEPT], "discarded": row[PairStatus.DISCARDED],
                    "pending": row[PairStatus.PENDING], "pairs": cleaned + row[PairStatus.PENDING],
                    "discard_rate": round(row[PairStatus.DISCARDED] / cleaned, 4) if cleaned else None})
    return out


TABLE1_COLUMNS = ("class", "pairs", "kept", "discarded", "pending", "discard_rate")


def table1_csv(dataset: Dataset) -> str:
    """Table 1 as CSV; class names come from folder names and manifests, so cells are escaped."""
    rows = table1(dataset)
    return csv_text([TABLE1_COLUMNS, *([row[column] for column in TABLE1_COLUMNS] for row in rows)],
                    lineterminator="\n")
