"""Reads of datasets: the pairs a model may use, and the paper's Table 1."""
from __future__ import annotations

from django.db.models import Count

from ..csv_safety import csv_text
from ..ml.cleaning import UNMAPPED
from ..ml.paired_arrays import class_index
from ..models import Dataset, PairStatus, Split


def usable_pairs(dataset: Dataset, split: str):
    """The dataset's kept pairs of one split, in a stable order."""
    return dataset.pairs.filter(split=split, status=PairStatus.KEPT).order_by("id")


def class_order_key(class_names):
    """Sort key (label, pk) -> the paper's order: class by class, in the dataset's class order."""
    index = class_index(class_names)
    return lambda label, pk: (index.get(label, len(index)), pk)


def real_pairs(dataset: Dataset, split: str) -> list:
    """Kept pairs of a split ('all' = train and test), class by class (the paper's image order)."""
    splits = [Split.TRAIN, Split.TEST] if split == "all" else [split]
    pairs = [p for s in splits for p in usable_pairs(dataset, s)]
    key = class_order_key(dataset.class_names)
    return sorted(pairs, key=lambda p: key(p.label, p.pk))


# Two tables answer the paper's Table 1 ("number of training data in different classes"); each has
# one title wherever it is shown. This one is the cleaning's (admin, API, `manage.py table1`); the
# report's, per split, is reports.tables.CountTable.TITLE.
TABLE1_TITLE = "Table 1. Pairs per class, kept and discarded by cleaning"


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


# Splits every usable dataset needs; the others ('val', 'heldout') are checked only once in use.
REQUIRED_SPLITS = (Split.TRAIN, Split.TEST)


def split_table(dataset: Dataset) -> dict:
    """Kept pairs and sources (groups) per class and split, for the splits in use:
    {"splits": [...], "rows": [{"class": c, "<split>_pairs": n, "<split>_groups": g, ...}, ...]}."""
    from collections import defaultdict

    kept = dataset.pairs.filter(status=PairStatus.KEPT)
    pairs = {(r["label"], r["split"]): r["n"] for r in kept.values("label", "split").annotate(n=Count("id"))}
    groups = {(r["label"], r["split"]): r["n"]
              for r in kept.values("label", "split").annotate(n=Count("group", distinct=True))}
    in_use = {split for _, split in pairs}
    splits = [s for s in Split.values if s in REQUIRED_SPLITS or s in in_use]
    classes = [c for c in dataset.class_names if any((c, s) in pairs for s in Split.values)]
    classes += sorted({label for label, _ in pairs} - set(classes))
    rows = []
    for label in classes:
        row = defaultdict(int, {"class": label})
        for split in splits:
            row[f"{split}_pairs"] = pairs.get((label, split), 0)
            row[f"{split}_groups"] = groups.get((label, split), 0)
        rows.append(dict(row))
    return {"splits": splits, "rows": rows}


def split_warnings(dataset: Dataset, table: dict | None = None) -> list[str]:
    """One line per empty cell of the split table that will bite later: a required split with no
    pair at all, or a class with no pair in a split that is in use (no test images of that class to
    score, or nothing to train it on)."""
    table = table or split_table(dataset)
    if not table["rows"]:
        return [f"dataset {dataset.name!r} has no kept pairs: clean it (clean_dataset) or import curated labels"]
    out = []
    for split in table["splits"]:
        if not any(row[f"{split}_pairs"] for row in table["rows"]):
            out.append(f"the {split} split is empty: no kept pair is in it (split the dataset: split_dataset "
                       f"{dataset.name})")
    for row in table["rows"]:
        sources = sum(row[f"{s}_groups"] for s in table["splits"])
        for split in table["splits"]:
            if row[f"{split}_pairs"] == 0 and any(r[f"{split}_pairs"] for r in table["rows"]):
                hint = (f"; it has {sources} source(s) and a source never straddles the split, so it needs more "
                        f"sources" if sources < 2 else "")
                out.append(f"class {row['class']!r} has no {split} pairs{hint}")
    return out


def kept_count(dataset: Dataset) -> int:
    return dataset.pairs.filter(status=PairStatus.KEPT).count()


def pairs_per_class_and_split(dataset: Dataset) -> dict[str, dict[str, int]]:
    """{label: {split: pairs}}, labels in alphabetical order (splits without pairs left out)."""
    table: dict[str, dict[str, int]] = {}
    for row in dataset.pairs.values("label", "split").annotate(n=Count("id")).order_by("label", "split"):
        table.setdefault(row["label"], {})[row["split"]] = row["n"]
    return table


def import_counts(dataset: Dataset) -> dict[str, int]:
    """How many of the dataset's imported files ended in each status (imported, failed)."""
    return dict(dataset.import_records.values_list("status").annotate(n=Count("id")))
