"""The writes of the import jobs (cpu queue; their bodies are gan/kinds/import_videos.py and
import_manifest.py): a folder or uploaded archive of videos (here), or a CSV manifest of sound/image
files (manifest_import.py); what both share is here too.

Each source (video file, manifest row) is one ImportRecord: imported with its pairs, or failed with a
reason. One bad source never stops the others, and a source that fails leaves no file behind. Pairs
are created with ignore_conflicts on the (dataset, sound, image) constraint and imported sources are
skipped on a re-run, so a cancelled or crashed import can simply be run again without duplicating
anything. New pairs are 'pending' until the `clean` job decides. A job that creates a dataset and
imports nothing into it (every source failed, or it failed or was cancelled first) removes it again.

What an import may read and store (paths inside the source folder, text that fits its column) is
import_sources.py.
"""
from __future__ import annotations

import os
import re
import shutil
import tarfile
import zipfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from jobs.context import JobContext
from jobs.engine import create_job
from jobs.errors import JobError
from jobs.models import Job

from ..media_paths import media_path
from ..ml.media import DEFAULT_MAX_PIXELS, VIDEO_EXTENSIONS, MediaError, extract, split_segments, write_lossless, write_png
from ..models import Dataset, ImportRecord, ImportStatus, Pair, PairStatus
from .datasets import refresh_class_names
from .import_sources import GROUP_MAX, LABEL_MAX, SourceError, contained_file, fitted, printable, safe_name
from .limits import decode_limits

MAX_ARCHIVE_BYTES = 50 * 1024**3  # unpacked size refused above this (an archive bomb, or a mistake)
UNLABELLED = "unlabelled"
DATASET_NAME = r"[-a-zA-Z0-9_]{1,100}"


# --- shared by the video and the manifest import ---------------------------------------------------

def check_dataset_name(name: str) -> str:
    if not re.fullmatch(DATASET_NAME, name or ""):
        raise JobError(f"dataset name must be a slug (letters, digits, - and _; at most 100), not {printable(name or '', 60)!r}")
    return name


@contextmanager
def import_target(name: str, *, source: str, image_size: int, channels: int = 3, description: str = ""):
    """The dataset an import job fills: created if new (and then removed again, files and all, when
    the job ends without a pair in it), else the existing one, whose settings are left alone."""
    check_dataset_name(name)
    dataset, created = Dataset.objects.get_or_create(
        name=name, defaults=dict(source=source, root=f"datasets/{name}", image_size=image_size, channels=channels,
                                 description=description))
    try:
        yield dataset
    except BaseException:  # failed or cancelled: a dataset this job made must not stay behind empty
        if created:
            drop_if_empty(dataset)
        raise
    if created and drop_if_empty(dataset):
        raise JobError(f"nothing was imported, so no dataset {name!r} was made; "
                       f"every source failed (the job log says why)")


def drop_if_empty(dataset: Dataset) -> bool:
    """Remove a dataset without pairs, with its records and files; True if it was removed."""
    if dataset.pairs.exists():
        return False
    root = media_path(dataset.root)
    dataset.delete()
    shutil.rmtree(root, ignore_errors=True)
    return True


def record(dataset, job_id, source: str, status, *, code="", reason="", pairs=0, info=None):
    """One ImportRecord per source, updated on a re-run. `source` must already fit (fitted())."""
    ImportRecord.objects.update_or_create(dataset=dataset, source=source, defaults=dict(
        job_id=job_id, status=status, code=code, reason=printable(reason, 2000), pairs=pairs, info=info or {}))


def create_pairs(pairs: list[Pair]) -> int:
    """Insert, skipping pairs already there (a re-run); returns how many are new."""
    if not pairs:
        return 0
    dataset = pairs[0].dataset
    before = Pair.objects.filter(dataset=dataset).count()
    Pair.objects.bulk_create(pairs, ignore_conflicts=True)
    return Pair.objects.filter(dataset=dataset).count() - before


def summary(counts: Counter, codes: Counter, total: int) -> dict:
    return {"sources": total, "imported": counts["imported"], "imported_truncated": counts["truncated"],
            "failed": counts["failed"], "already_imported": counts["skipped"], "pairs_created": counts["pairs"],
            "failures_by_kind": dict(sorted(codes.items()))}


def finish_dataset(dataset: Dataset, kind: str, params: dict, result: dict) -> None:
    """Record the import on the dataset; class_names keep their order (see refresh_class_names)."""
    dataset.refresh_from_db()
    refresh_class_names(dataset)
    imports = list(dataset.info.get("imports", []))[-19:] + [{"kind": kind, "params": params, **result}]
    dataset.info = dict(dataset.info, imports=imports, pairs=dataset.pairs.count())
    dataset.save(update_fields=["class_names", "info"])


def log_failure(ctx: JobContext, counts: Counter, codes: Counter, code: str, message: str) -> None:
    codes[code] += 1
    counts["failed"] += 1
    ctx.log(f"failed: {printable(message, 300)}")


# --- videos ----------------------------------------------------------------------------------------

def unpack_archive(archive: Path, target: Path) -> Path:
    """Unpack a .zip / .tar(.gz|.bz2|.xz) upload; members outside the target, links to outside and
    oversized contents are refused."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            size = sum(info.file_size for info in handle.infolist())
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as handle:
            size = sum(member.size for member in handle.getmembers())
    else:
        raise JobError(f"{archive.name}: not a zip or tar archive")
    if size > MAX_ARCHIVE_BYTES:
        raise JobError(f"{archive.name}: unpacks to {size / 1024**3:.1f} GB, above the {MAX_ARCHIVE_BYTES / 1024**3:.0f} GB limit")
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                handle.extractall(target)  # zipfile drops absolute paths and '..' from member names
        else:
            with tarfile.open(archive) as handle:
                handle.extractall(target, filter="data")  # refuses links/paths outside the target
    except (tarfile.TarError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise JobError(f"{archive.name}: cannot be unpacked: {exc}") from exc
    return target


def find_videos(folder: Path) -> list[Path]:
    """Files with a video extension under `folder`, hidden ones left out. A link among them may lead
    anywhere: the import checks each with contained_file() before opening it."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


@dataclass
class VideoImportParams:
    dataset: str
    folder: str = ""
    archive: str = ""
    n_frames: int = 4
    frame_size: int = 64
    segment_seconds: float = 0.0  # 0: the whole sound track is one clip; ~30 splits long tracks
    max_pixels: int = DEFAULT_MAX_PIXELS
    label_from_folder: bool = True  # videos in dog/... get the label 'dog' until cleaning relabels

    def __post_init__(self):
        if bool(self.folder) == bool(self.archive):
            raise ValueError("give exactly one of folder or archive")
        if not 1 <= self.n_frames <= 64:
            raise ValueError(f"n_frames must be in 1..64, got {self.n_frames}")
        if not 8 <= self.frame_size <= 1024:
            raise ValueError(f"frame_size must be in 8..1024, got {self.frame_size}")
        if self.segment_seconds < 0 or 0 < self.segment_seconds < 5:
            raise ValueError("segment_seconds must be 0 (no split) or at least 5")
        if not 1 <= self.max_pixels <= DEFAULT_MAX_PIXELS:
            raise ValueError(f"max_pixels must be in 1..{DEFAULT_MAX_PIXELS}, got {self.max_pixels}")


def launch_video_import(user=None, enqueue: bool = True, **params) -> Job:
    p = VideoImportParams(**params)
    check_dataset_name(p.dataset)
    if p.folder and not Path(p.folder).is_dir():  # said now, not after a worker picked the job up
        raise JobError(f"folder {p.folder} does not exist or is not a folder")
    if p.archive and not Path(p.archive).is_file():
        raise JobError(f"archive {p.archive} does not exist")
    return create_job("import_videos", params, user=user, enqueue=enqueue)


@dataclass
class StoredVideo:
    """One video's pairs and files, written to a staging folder until its rows are committed."""

    pairs: list[Pair]
    info: dict
    staging: Path
    final: Path

    def commit(self) -> None:
        """Called inside the transaction that inserts the pairs: the files take their final names."""
        if self.final.exists():
            shutil.rmtree(self.final)  # what a crashed earlier run left (no pair points into it)
        os.replace(self.staging, self.final)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _store_video(dataset: Dataset, video: Path, relative: str, p: VideoImportParams) -> StoredVideo:
    media = extract(video, n_frames=p.n_frames, frame_size=p.frame_size, max_pixels=p.max_pixels,
                    limits=decode_limits())  # header first, then enforced while decoding
    folder_rel = f"{dataset.root}/videos/{safe_name(relative)}"
    final = media_path(folder_rel)
    staging = final.with_name(f".{final.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    parent = Path(relative).parent.name
    label = fitted(parent, LABEL_MAX) if p.label_from_folder and parent else UNLABELLED
    group, shown = fitted(relative, GROUP_MAX), printable(relative, 1000)
    try:
        segments = split_segments(media.audio, media.sample_rate, p.segment_seconds or None)
        pairs = []
        for seg_index, (start, wave) in enumerate(segments):
            end = start + wave.size / media.sample_rate
            last = seg_index == len(segments) - 1
            sound_name = "sound.flac" if len(segments) == 1 else f"sound_{seg_index:03d}.flac"
            write_lossless(staging / sound_name, wave, media.sample_rate)
            for index, (frame, when) in enumerate(zip(media.frames, media.frame_times)):
                if len(segments) > 1 and not (start <= when < end or (last and when >= start)):
                    continue  # each frame goes with the segment it was taken from
                image_name = f"frame_{index}.png"
                if not (staging / image_name).exists():
                    write_png(staging / image_name, frame)
                pairs.append(Pair(dataset=dataset, sound=f"{folder_rel}/{sound_name}", image=f"{folder_rel}/{image_name}",
                                  label=label, group=group, status=PairStatus.PENDING,
                                  clean_report={"source": shown, "frame_time": round(when, 3),
                                                "segment_start": round(start, 3)}))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    info = dict(media.info, duration=round(media.duration, 3), audio_seconds=round(media.audio_seconds, 3),
                sample_rate=media.sample_rate, frame_times=[round(t, 3) for t in media.frame_times],
                segments=len(segments))
    return StoredVideo(pairs, info, staging, final)


def import_one_video(ctx: JobContext, dataset: Dataset, folder: Path, video: Path, source: str,
                     p: VideoImportParams, counts: Counter, codes: Counter) -> None:
    """Store one video's pairs and its import record in one transaction, or record why it failed
    (the import_videos job, gan/kinds/import_videos.py, calls this for each video)."""
    relative = video.relative_to(folder).as_posix()
    try:
        real = contained_file(folder, video)
        stored = _store_video(dataset, real, relative, p)
    except SourceError as exc:
        record(dataset, ctx.job_id, source, ImportStatus.FAILED, code=exc.code, reason=f"{relative}: {exc}")
        log_failure(ctx, counts, codes, exc.code, f"{relative}: {exc}")
        return
    except MediaError as exc:
        record(dataset, ctx.job_id, source, ImportStatus.FAILED, code=exc.code, reason=str(exc))
        log_failure(ctx, counts, codes, exc.code, str(exc))
        return
    except Exception as exc:  # an unforeseen decoder failure is still one file's problem
        message = f"{relative}: {type(exc).__name__}: {exc}"
        record(dataset, ctx.job_id, source, ImportStatus.FAILED, code="error", reason=message)
        log_failure(ctx, counts, codes, "error", message)
        return
    try:
        with transaction.atomic():
            counts["pairs"] += create_pairs(stored.pairs)
            truncated = stored.info.get("truncated", "")
            record(dataset, ctx.job_id, source, ImportStatus.IMPORTED, pairs=len(stored.pairs), info=stored.info,
                   code="truncated" if truncated else "", reason=truncated)
            stored.commit()
    finally:
        stored.discard()  # gone already after a commit; after a failure, nothing stays behind
    counts["truncated"] += bool(stored.info.get("truncated"))
    counts["imported"] += 1


# Where the admin stores uploaded archives (gan/admin/datasets.py), under generated names.
UPLOADS_FOLDER = "uploads"


def is_upload(archive: Path) -> bool:
    """An archive the admin stored for an import (not a researcher's own file named on the command line)."""
    return archive.resolve().parent == media_path(UPLOADS_FOLDER).resolve()
