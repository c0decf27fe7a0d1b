"""Datasets: import a folder with a manifest.csv as Dataset/Pair rows; decode pairs' images."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from ..media_paths import media_path
from ..models import Dataset, Pair, PairStatus, Split

MANIFEST_COLUMNS = ("sound", "image", "label")


class DatasetImportError(ValueError):
    """The manifest or its files cannot become a dataset; nothing was stored."""


def import_manifest(name: str, folder: str | Path, *, source: str, description: str = "",
                    image_size: int = 64, channels: int = 3, info: dict | None = None,
                    replace: bool = False) -> Dataset:
    """Copy a dataset folder (manifest.csv + files) under MEDIA_ROOT/datasets/<name>/ and store rows.

    Columns: sound, image, label, and optionally split (train/test) and group. All rows are checked
    before anything is written, so a bad manifest stores nothing.
    """
    folder = Path(folder)
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        raise DatasetImportError(f"{manifest} does not exist")
    with open(manifest, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetImportError(f"{manifest} lacks the column(s) {missing}")
        rows = list(reader)
    if not rows:
        raise DatasetImportError(f"{manifest} has no rows")
    problems = []
    for line, row in enumerate(rows, start=2):
        for column in ("sound", "image"):
            if not (folder / row[column]).is_file():
                problems.append(f"line {line}: {column} file {row[column]!r} does not exist")
        if not row["label"].strip():
            problems.append(f"line {line}: empty label")
        if row.get("split", "train") not in Split.values:
            problems.append(f"line {line}: split must be train or test, not {row.get('split')!r}")
    if problems:
        raise DatasetImportError(f"{len(problems)} problem(s) in {manifest}: " + "; ".join(problems[:10]))

    root = f"datasets/{name}"
    with transaction.atomic():
        existing = Dataset.objects.filter(name=name).first()
        if existing and not replace:
            raise DatasetImportError(f"a dataset named {name!r} already exists")
        if existing:
            existing.pairs.all().delete()
            existing.delete()
        target = media_path(root)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
        class_names = sorted({row["label"] for row in rows})
        dataset = Dataset.objects.create(
            name=name, source=source, description=description, root=root, class_names=class_names,
            image_size=image_size, channels=channels, info=dict(info or {}, pairs=len(rows)),
        )
        Pair.objects.bulk_create([
            Pair(dataset=dataset, sound=f"{root}/{row['sound']}", image=f"{root}/{row['image']}",
                 label=row["label"], split=row.get("split") or Split.TRAIN,
                 group=row.get("group", ""), status=PairStatus.KEPT)
            for row in rows
        ])
    return dataset


def load_images(pairs, image_size: int, channels: int) -> np.ndarray:
    """Decode the pairs' images to (N, C, H, W) uint8 at the model's size and channel count."""
    mode = "L" if channels == 1 else "RGB"
    out = np.empty((len(pairs), channels, image_size, image_size), dtype=np.uint8)
    for i, pair in enumerate(pairs):
        path = media_path(pair.image.name)
        try:
            with Image.open(path) as im:
                im = im.convert("RGBA")
                flat = Image.new("RGBA", im.size, (255, 255, 255, 255))  # cut-outs on white
                flat.alpha_composite(im)
                arr = np.asarray(flat.convert(mode).resize((image_size, image_size), Image.BICUBIC))
        except (OSError, UnidentifiedImageError) as exc:
            raise DatasetImportError(f"image of pair #{pair.pk} ({path}) cannot be read: {exc}") from exc
        out[i] = arr[None] if channels == 1 else arr.transpose(2, 0, 1)
    return out
