"""CSV manifests of sound/image files: the one importer, with one set of rules for every caller.

A manifest is a UTF-8 CSV whose header names the columns `sound` and `image` (required) and
`label`, `split`, `group` (optional); other columns are ignored (and named in the log), except ones
that look like a misspelt known column. File paths are relative to the manifest's folder (absolute
ones are allowed when they lead inside it) and must stay inside it after following links.

Each row is checked (cells that every database stores, files inside the folder, the sound decodes,
the image is within the pixel cap, read from its header, and decodes) before anything is copied.
Two callers:
- the `import_manifest` job (researchers' data): a bad row is recorded with its line and reason
  and the others are imported; nothing is copied for a bad row.
- `import_manifest()` (curated sets: the demo builders, tests): every row must pass, else nothing
  is stored and DatasetImportError lists the problems.
"""
from __future__ import annotations

import csv
import difflib
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from jobs.engine import create_job
from jobs.errors import JobError
from jobs.models import Job

from ..media_paths import media_path
from ..ml.audio import AudioError, load_audio
from ..ml.media import DEFAULT_MAX_PIXELS, MediaError, check_image
from ..models import Dataset, ImportStatus, Pair, PairStatus, Split
from .datasets import DatasetImportError, refresh_class_names
from .import_sources import (GROUP_MAX, LABEL_MAX, SOURCE_MAX, SourceError, check_cell, content_name,
                             decoded_suffix, fitted, printable, resolve_inside)
from .ingest import UNLABELLED, check_dataset_name, create_pairs, log_failure, record
from .limits import decode_limits

MANIFEST_NAME = "manifest.csv"
REQUIRED_COLUMNS = ("sound", "image")
OPTIONAL_COLUMNS = ("label", "split", "group")
MAX_MANIFEST_BYTES = 512 * 1024**2  # read whole into memory; a manifest of millions of rows is ~100 MB


class ManifestError(JobError):
    """The manifest as a whole cannot be read (missing, not CSV, wrong header); nothing was imported."""


@dataclass
class Manifest:
    path: Path
    folder: Path
    columns: list[str]
    ignored_columns: list[str]
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (line number, {column: value})


def manifest_file(path: str | Path) -> Path:
    path = Path(path)
    return path / MANIFEST_NAME if path.is_dir() and (path / MANIFEST_NAME).is_file() else path


def read_manifest(path: str | Path) -> Manifest:
    """Read and check the whole file and its header; raise ManifestError with one clear line."""
    path = manifest_file(path)
    shown = printable(str(path), 300)
    if not path.exists():
        raise ManifestError(f"manifest {shown} does not exist")
    if path.is_dir():
        raise ManifestError(f"{shown} is a folder without a {MANIFEST_NAME}; give the CSV file itself")
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest {shown} is {size / 1024**2:.0f} MB, above the {MAX_MANIFEST_BYTES // 1024**2} MB "
                            f"limit; split it")
    # Decoded leniently so that one row in Latin-1 is that row's problem (check_cell says so), not
    # the whole file's; the header must be UTF-8.
    text = path.read_bytes().decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ManifestError(f"{shown} line 1: not a readable CSV header ({exc})") from None
    if not header or not any(cell.strip() for cell in header):
        raise ManifestError(f"manifest {shown} is empty; its first line must be the header "
                            f"sound,image[,label,split,group]")
    columns = [cell.strip().lower() for cell in header]
    _check_header(shown, header, columns)
    manifest = Manifest(path, path.parent.resolve(), columns,
                        [c for c in columns if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS])
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines (a trailing newline, a spacer) are not rows
            cells = dict(zip(columns, row))
            if len(row) > len(columns):
                cells[None] = row[len(columns):]
            elif len(row) < len(columns):
                cells.update({c: None for c in columns[len(row):]})
            manifest.rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise ManifestError(f"{shown} line {reader.line_num}: not readable as CSV ({exc})") from None
    if not manifest.rows:
        raise ManifestError(f"manifest {shown} has a header but no rows")
    return manifest


def _check_header(shown: str, header: list[str], columns: list[str]) -> None:
    as_written = ",".join(printable(cell, 40) for cell in header)
    if any("\udc80" <= ch <= "\udcff" for cell in header for ch in cell):
        raise ManifestError(f"{shown} line 1: the header is not UTF-8 text; save the manifest as UTF-8")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    misspelt = {c: close[0] for c in columns if c and c not in known
                for close in [difflib.get_close_matches(c, [k for k in known if k not in columns], 1, 0.75)] if close}
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if missing or misspelt or duplicated:
        why = []
        if missing:
            why.append(f"it lacks {' and '.join(missing)}")
        if misspelt:
            why.append(", ".join(f"{c!r} looks like a misspelt {k!r}" for c, k in misspelt.items()))
        if duplicated:
            why.append(f"{', '.join(duplicated)} appear(s) twice")
        raise ManifestError(f"{shown} line 1: the header is {as_written!r}: {'; '.join(why)} "
                            f"(columns: sound, image, and optionally label, split, group)")


def check_manifest(path: str | Path) -> Manifest:
    """What a launch checks before queueing: the file and its header (rows are the job's work)."""
    return read_manifest(path)


@dataclass(frozen=True)
class CheckedRow:
    line: int
    source: str  # the ImportRecord key: "sound | image" as written, fitted to its column
    sound: Path  # real paths, inside the manifest's folder
    image: Path
    label: str
    split: str
    group: str


def row_source(row: dict) -> str:
    return fitted(f"{(row.get('sound') or '').strip()} | {(row.get('image') or '').strip()}", SOURCE_MAX)


def check_row(manifest: Manifest, line: int, row: dict, *, max_pixels: int = DEFAULT_MAX_PIXELS,
              require_label: bool = False) -> CheckedRow:
    """Every rule a row must pass, cheapest first; raises SourceError naming the problem."""
    if None in row:  # the fields beyond the header
        raise SourceError("broken_row", f"{len(row[None])} field(s) more than the header")
    if any(value is None for value in row.values()):
        raise SourceError("broken_row", "fewer fields than the header")
    label = check_cell(row.get("label"), "label", LABEL_MAX)
    if require_label and not label:
        raise SourceError("broken_row", "empty label")
    split = check_cell(row.get("split"), "split", 16).lower() or Split.TRAIN
    if split not in Split.values:
        raise SourceError("broken_row", f"split must be one of {', '.join(Split.values)}, not {printable(split, 20)!r}")
    group = check_cell(row.get("group"), "group", GROUP_MAX)
    sound = resolve_inside(manifest.folder, row.get("sound"), "sound")
    image = resolve_inside(manifest.folder, row.get("image"), "image")
    try:
        load_audio(sound, limits=decode_limits())  # a hostile file is refused from its header or cut off
    except AudioError as exc:
        raise SourceError(exc.code, str(exc)) from None
    try:
        check_image(image, max_pixels)
    except MediaError as exc:
        raise SourceError("too_large" if exc.code == "too_large" else "bad_image", str(exc)) from None
    source = row_source(row)
    return CheckedRow(line, source, sound, image, label or UNLABELLED, split, group or fitted(source, GROUP_MAX))


def _copy_in(dataset: Dataset, path: Path, created: list[Path], kind: str) -> str:
    """Copy a checked file under the dataset (once per content); new files are added to `created`
    so that the caller can take them back if the row is not stored after all. The stored name is
    generated (a hash of the bytes) and its extension is the decoded format's: a manifest's file
    names, and extensions like .html, never reach MEDIA_ROOT."""
    relative = f"{dataset.root}/files/{content_name(path)}{decoded_suffix(path, kind)}"
    target = media_path(relative)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, partial)
        partial.replace(target)  # a crash mid-copy leaves a .partial, never a half file under the name
        created.append(target)
    return relative


def _pair(dataset: Dataset, checked: CheckedRow, *, kept: bool, created: list[Path]) -> Pair:
    return Pair(dataset=dataset, sound=_copy_in(dataset, checked.sound, created, "sound"),
                image=_copy_in(dataset, checked.image, created, "image"), label=checked.label, split=checked.split,
                group=checked.group, status=PairStatus.KEPT if kept else PairStatus.PENDING,
                clean_report={"source": checked.source, "manifest_line": checked.line})


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


# --- the job ---------------------------------------------------------------------------------------

@dataclass
class ManifestImportParams:
    dataset: str
    manifest: str  # path of the CSV (or of its folder); relative paths in it are relative to its folder
    image_size: int = 64
    channels: int = 3
    trust_labels: bool = False  # True: pairs are 'kept' as labelled (curated data)
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self):
        if not 8 <= self.image_size <= 1024:
            raise ValueError(f"image_size must be in 8..1024, got {self.image_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if not 1 <= self.max_pixels <= DEFAULT_MAX_PIXELS:
            raise ValueError(f"max_pixels must be in 1..{DEFAULT_MAX_PIXELS}, got {self.max_pixels}")


def launch_manifest_import(user=None, enqueue: bool = True, **params) -> Job:
    p = ManifestImportParams(**params)
    check_dataset_name(p.dataset)
    check_manifest(p.manifest)  # a missing file or a wrong header is said now, not by a failed job
    return create_job("import_manifest", params, user=user, enqueue=enqueue)


def import_row(ctx, dataset, manifest, line, row, p, counts, codes) -> None:
    """Store one manifest row's pair and its import record in one transaction, or record why it
    failed (the import_manifest job, gan/kinds/import_manifest.py, calls this for each row)."""
    failed_key = fitted(f"line {line}: {row_source(row)}", SOURCE_MAX)
    try:
        checked = check_row(manifest, line, row, max_pixels=p.max_pixels)
    except SourceError as exc:
        message = f"{manifest.path.name} line {line}: {exc}"
        record(dataset, ctx.job_id, failed_key, ImportStatus.FAILED, code=exc.code, reason=message)
        log_failure(ctx, counts, codes, exc.code, message)
        return
    except Exception as exc:  # an unforeseen decoder failure is still one row's problem, not the import's
        message = f"{manifest.path.name} line {line}: {type(exc).__name__}: {exc}"
        record(dataset, ctx.job_id, failed_key, ImportStatus.FAILED, code="error", reason=message)
        log_failure(ctx, counts, codes, "error", message)
        return
    created: list[Path] = []
    try:
        with transaction.atomic():
            counts["pairs"] += create_pairs([_pair(dataset, checked, kept=p.trust_labels, created=created)])
            dataset.import_records.filter(source__startswith=f"line {line}: ").delete()
            record(dataset, ctx.job_id, checked.source, ImportStatus.IMPORTED, pairs=1, info={"line": line})
    except BaseException:
        _remove(created)  # the row is not stored, so neither are its files
        raise
    counts["imported"] += 1


# --- curated sets, synchronously -------------------------------------------------------------------

def import_manifest(name: str, folder: str | Path, *, source: str, description: str = "", image_size: int = 64,
                    channels: int = 3, info: dict | None = None, replace: bool = False,
                    max_pixels: int = DEFAULT_MAX_PIXELS) -> Dataset:
    """Import a curated folder (manifest.csv + files) as a dataset of kept pairs, with the job's row
    rules; every row must pass (and have a label), else nothing is stored."""
    try:
        check_dataset_name(name)
        manifest = read_manifest(folder)
    except JobError as exc:
        raise DatasetImportError(str(exc)) from None
    checked, problems = [], []
    for line, row in manifest.rows:
        try:
            checked.append(check_row(manifest, line, row, max_pixels=max_pixels, require_label=True))
        except SourceError as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise DatasetImportError(f"{len(problems)} problem(s) in {printable(str(manifest.path), 300)}: "
                                 + "; ".join(problems[:10]) + (" ..." if len(problems) > 10 else ""))
    existing = Dataset.objects.filter(name=name).first()
    if existing is not None and not replace:
        raise DatasetImportError(f"a dataset named {name!r} already exists")
    old_files = set() if existing is None else {
        media_path(name) for pair in existing.pairs.only("sound", "image") for name in (pair.sound.name, pair.image.name)}
    created: list[Path] = []
    try:
        with transaction.atomic():
            if existing is not None:
                existing.delete()
            dataset = Dataset.objects.create(name=name, source=source, description=description,
                                             root=f"datasets/{name}", image_size=image_size, channels=channels,
                                             info=dict(info or {}, pairs=len(checked)))
            create_pairs([_pair(dataset, row, kept=True, created=created) for row in checked])
            refresh_class_names(dataset)
            dataset.save(update_fields=["class_names"])
    except BaseException:
        _remove(created)
        raise
    # The replaced dataset's files go once the new one is stored (some may be the same files).
    _remove(sorted(old_files - {media_path(n) for pair in dataset.pairs.only("sound", "image")
                                for n in (pair.sound.name, pair.image.name)}))
    return dataset
