"""What every demo dataset builder writes: a folder of PNG images, WAV sounds and a `manifest.csv`
(sound, image, label, split, group, ...; paths relative to the folder), which
gan.services.manifest_import.import_manifest turns into Dataset/Pair rows.

A dataset is built in a temporary sibling folder and renamed into place at the end, so a failed or
interrupted build never leaves a half-written dataset behind (staged_output).
"""
from __future__ import annotations

import csv
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

ProgressCallback = Callable[[int, int], None]
MANIFEST_NAME = "manifest.csv"
BASE_COLUMNS = ("sound", "image", "label", "split", "group")
@dataclass
class BuildResult:
    """What a builder wrote: the folder, its manifest and the rows in it."""

    root: Path
    manifest: Path
    rows: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why it was left out)

    @property
    def labels(self) -> list[str]:
        return sorted({row["label"] for row in self.rows})

    def count(self, split: str | None = None) -> int:
        return sum(1 for row in self.rows if split is None or row["split"] == split)


def report_progress(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


@contextmanager
def staged_output(out_dir: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """Yield an empty temp folder beside `out_dir`; on success it replaces `out_dir` atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ValueError(f"{out_dir} already exists and is not empty; pass overwrite=True to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        yield staging
        if out_dir.exists():
            retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, retired)
            os.replace(staging, out_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_manifest(root: Path, rows: list[dict]) -> Path:
    """manifest.csv with the base columns first, then any extra columns in first-seen order."""
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    path = root / MANIFEST_NAME
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_manifest(root: str | os.PathLike) -> list[dict]:
    with open(Path(root) / MANIFEST_NAME, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
