"""Import jobs (cpu queue): a folder or uploaded archive of videos, or a CSV manifest of sound/image files.

Each source (video file, manifest row) is one ImportRecord: imported with its pairs, or failed with a
reason. One bad source never stops the others. Pairs are created with ignore_conflicts on the
(dataset, sound, image) constraint and imported sources are skipped on a re-run, so a cancelled or
crashed import can simply be run again without duplicating anything. New pairs are 'pending' until
the `clean` job decides.
"""
from __future__ import annotations

import csv
import hashlib
import re
import shutil
import tarfile
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from django.db import transaction
from PIL import Image, UnidentifiedImageError

from jobs.engine import JobContext, create_job
from jobs.errors import JobError
from jobs.models import Job

from ..media_paths import media_path
from ..ml.audio import AudioError, load_audio
from ..ml.media import DEFAULT_MAX_PIXELS, VIDEO_EXTENSIONS, MediaError, extract, split_segments, write_lossless
from ..models import Dataset, ImportRecord, ImportStatus, Pair, PairStatus, Split

MAX_ARCHIVE_BYTES = 50 * 1024**3  # unpacked size refused above this (an archive bomb, or a mistake)
UNLABELLED = "unlabelled"


def dataset_for_import(name: str, source: str, image_size: int) -> Dataset:
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", name or ""):
        raise JobError(f"dataset name must be a slug (letters, digits, - and _), not {name!r}")
    dataset, _ = Dataset.objects.get_or_create(
        name=name, defaults=dict(source=source, root=f"datasets/{name}", image_size=image_size, channels=3))
    return dataset


def safe_name(relative: str) -> str:
    """A flat, unique folder name for a source path (readable prefix + hash of the full path)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", relative)[-60:].strip("._") or "file"
    return f"{stem}-{hashlib.sha1(relative.encode()).hexdigest()[:8]}"


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
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
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


def launch_video_import(user=None, enqueue: bool = True, **params) -> Job:
    return create_job("import_videos", params, user=user, enqueue=enqueue)


def _store_video(dataset: Dataset, video: Path, relative: str, p: VideoImportParams) -> tuple[list[Pair], dict]:
    media = extract(video, n_frames=p.n_frames, frame_size=p.frame_size, max_pixels=p.max_pixels)
    folder_rel = f"{dataset.root}/videos/{safe_name(relative)}"
    folder = media_path(folder_rel)
    folder.mkdir(parents=True, exist_ok=True)
    parent = Path(relative).parent.name
    label = parent if p.label_from_folder and parent else UNLABELLED
    segments = split_segments(media.audio, media.sample_rate, p.segment_seconds or None)
    pairs = []
    for seg_index, (start, wave) in enumerate(segments):
        end = start + wave.size / media.sample_rate
        last = seg_index == len(segments) - 1
        sound_rel = f"{folder_rel}/sound.flac" if len(segments) == 1 else f"{folder_rel}/sound_{seg_index:03d}.flac"
        write_lossless(media_path(sound_rel), wave, media.sample_rate)
        for index, (frame, when) in enumerate(zip(media.frames, media.frame_times)):
            if len(segments) > 1 and not (start <= when < end or (last and when >= start)):
                continue  # each frame goes with the segment it was taken from
            image_rel = f"{folder_rel}/frame_{index}.png"
            if not media_path(image_rel).exists():
                Image.fromarray(frame).save(media_path(image_rel))
            pairs.append(Pair(dataset=dataset, sound=sound_rel, image=image_rel, label=label, group=relative,
                              status=PairStatus.PENDING,
                              clean_report={"source": relative, "frame_time": round(when, 3),
                                            "segment_start": round(start, 3)}))
    info = dict(media.info, duration=round(media.duration, 3), audio_seconds=round(media.audio_seconds, 3),
                sample_rate=media.sample_rate, frame_times=[round(t, 3) for t in media.frame_times],
                segments=len(segments))
    return pairs, info


def _record(dataset, job_id, source, status, *, code="", reason="", pairs=0, info=None):
    ImportRecord.objects.update_or_create(dataset=dataset, source=source[:500], defaults=dict(
        job_id=job_id, status=status, code=code, reason=reason, pairs=pairs, info=info or {}))


def _create_pairs(pairs: list[Pair]) -> int:
    """Insert, skipping pairs already there (a re-run); returns how many are new."""
    if not pairs:
        return 0
    dataset = pairs[0].dataset
    before = Pair.objects.filter(dataset=dataset).count()
    Pair.objects.bulk_create(pairs, ignore_conflicts=True)
    return Pair.objects.filter(dataset=dataset).count() - before


def _summary(ctx: JobContext, counts: Counter, codes: Counter, total: int) -> dict:
    return {"sources": total, "imported": counts["imported"], "imported_truncated": counts["truncated"],
            "failed": counts["failed"],
            "already_imported": counts["skipped"], "pairs_created": counts["pairs"],
            "failures_by_kind": dict(sorted(codes.items()))}


def run_video_import(ctx: JobContext, p: VideoImportParams) -> dict:
    dataset = dataset_for_import(p.dataset, "videos", p.frame_size)
    if p.archive:
        archive = Path(p.archive)
        if not archive.is_file():
            raise JobError(f"archive {archive} does not exist")
        folder = unpack_archive(archive, media_path(f"uploads/{dataset.name}/{safe_name(archive.name)}"))
    else:
        folder = Path(p.folder)
        if not folder.is_dir():
            raise JobError(f"folder {folder} does not exist or is not a folder")
    videos = find_videos(folder)
    ignored = sum(1 for f in folder.rglob("*") if f.is_file() and f.suffix.lower() not in VIDEO_EXTENSIONS)
    if ignored:
        ctx.log(f"{ignored} file(s) without a video extension ({', '.join(VIDEO_EXTENSIONS)}) were not looked at")
    done_sources = set(dataset.import_records.filter(status=ImportStatus.IMPORTED).values_list("source", flat=True))
    ctx.log(f"{len(videos)} video files in {folder}; {len(done_sources)} already imported")
    counts, codes = Counter(), Counter()
    for index, video in enumerate(videos):
        ctx.check_cancelled()
        relative = video.relative_to(folder).as_posix()
        if relative in done_sources:
            counts["skipped"] += 1
        else:
            try:
                pairs, info = _store_video(dataset, video, relative, p)
            except MediaError as exc:
                codes[exc.code] += 1
                counts["failed"] += 1
                _record(dataset, ctx.job_id, relative, ImportStatus.FAILED, code=exc.code, reason=str(exc))
                ctx.log(f"failed: {exc}")
            except Exception as exc:  # an unforeseen decoder failure is still one file's problem
                codes["error"] += 1
                counts["failed"] += 1
                _record(dataset, ctx.job_id, relative, ImportStatus.FAILED, code="error",
                        reason=f"{video}: {type(exc).__name__}: {exc}")
                ctx.log(f"failed: {video}: {type(exc).__name__}: {exc}")
            else:
                with transaction.atomic():
                    counts["pairs"] += _create_pairs(pairs)
                    _record(dataset, ctx.job_id, relative, ImportStatus.IMPORTED, pairs=len(pairs), info=info,
                            code="truncated" if "truncated" in info else "", reason=info.get("truncated", ""))
                if "truncated" in info:
                    counts["truncated"] += 1
                counts["imported"] += 1
        ctx.progress(index + 1, len(videos), metrics=_summary(ctx, counts, codes, len(videos)),
                     message=f"{index + 1}/{len(videos)} videos")
    summary = dict(_summary(ctx, counts, codes, len(videos)), ignored_files=ignored)
    _finish_dataset(dataset, "import_videos", asdict(p), summary)
    return summary


def _finish_dataset(dataset: Dataset, kind: str, params: dict, summary: dict) -> None:
    dataset.class_names = sorted(set(dataset.pairs.values_list("label", flat=True)))
    imports = list(dataset.info.get("imports", []))[-19:] + [{"kind": kind, "params": params, **summary}]
    dataset.info = dict(dataset.info, imports=imports, pairs=dataset.pairs.count())
    dataset.save(update_fields=["class_names", "info"])


# --- CSV manifest: sound, image, optional label (and split, group) --------------------------------

@dataclass
class ManifestImportParams:
    dataset: str
    manifest: str  # path of the CSV; relative paths in it are relative to its folder
    image_size: int = 64
    trust_labels: bool = False  # True: pairs are 'kept' as labelled (curated data, the demo sets)

    def __post_init__(self):
        if not 8 <= self.image_size <= 1024:
            raise ValueError(f"image_size must be in 8..1024, got {self.image_size}")


def launch_manifest_import(user=None, enqueue: bool = True, **params) -> Job:
    return create_job("import_manifest", params, user=user, enqueue=enqueue)


class RowError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def _resolve(base: Path, value: str, column: str) -> Path:
    value = (value or "").strip()
    if not value:
        raise RowError("broken_row", f"empty {column} column")
    path = Path(value) if Path(value).is_absolute() else base / value
    if not path.is_file():
        raise RowError("missing_file", f"{column} file {value!r} does not exist")
    return path


def _check_shape(row: dict) -> None:
    """A row with more or fewer fields than the header is broken, whatever its first columns say."""
    if None in row:  # csv puts the surplus fields of a too-long row under the key None
        raise RowError("broken_row", f"{len(row[None])} field(s) more than the header")
    if any(value is None for value in row.values()):
        raise RowError("broken_row", "fewer fields than the header")


def _check_row(base: Path, row: dict) -> tuple[Path, Path]:
    _check_shape(row)
    sound, image = _resolve(base, row.get("sound"), "sound"), _resolve(base, row.get("image"), "image")
    try:
        load_audio(sound)
    except AudioError as exc:
        raise RowError("bad_sound", str(exc)) from exc
    try:
        with Image.open(image) as handle:
            handle.load()  # a full decode: verify() misses truncated files
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise RowError("bad_image", f"{image}: not a readable image ({exc})") from exc
    if row.get("split") and row["split"] not in Split.values:
        raise RowError("broken_row", f"split must be train or test, not {row['split']!r}")
    return sound, image


def _copy_in(dataset: Dataset, path: Path) -> str:
    relative = f"{dataset.root}/files/{safe_name(str(path.resolve()))}{path.suffix.lower()}"
    target = media_path(relative)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return relative


def run_manifest_import(ctx: JobContext, p: ManifestImportParams) -> dict:
    manifest = Path(p.manifest)
    if not manifest.is_file():
        raise JobError(f"manifest {manifest} does not exist")
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("sound", "image") if c not in (reader.fieldnames or [])]
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise JobError(f"{manifest}: not a readable CSV file ({exc})") from exc
    if missing:
        raise JobError(f"{manifest}: the header lacks the column(s) {missing} (need sound, image, optional label)")
    dataset = dataset_for_import(p.dataset, "manifest", p.image_size)
    done = set(dataset.import_records.filter(status=ImportStatus.IMPORTED).values_list("source", flat=True))
    counts, codes = Counter(), Counter()
    for index, row in enumerate(rows):
        ctx.check_cancelled()
        line = index + 2  # the header is line 1
        source = f"{(row.get('sound') or '').strip()} | {(row.get('image') or '').strip()}"
        if source in done and None not in row and None not in row.values():
            counts["skipped"] += 1
        else:
            try:
                sound, image = _check_row(manifest.parent, row)
            except RowError as exc:
                codes[exc.code] += 1
                counts["failed"] += 1
                _record(dataset, ctx.job_id, f"line {line}: {source}", ImportStatus.FAILED, code=exc.code,
                        reason=f"{manifest.name} line {line}: {exc}")
            else:
                label = (row.get("label") or "").strip() or UNLABELLED
                pair = Pair(dataset=dataset, sound=_copy_in(dataset, sound), image=_copy_in(dataset, image),
                            label=label, split=row.get("split") or Split.TRAIN,
                            group=(row.get("group") or "").strip() or source,
                            status=PairStatus.KEPT if p.trust_labels else PairStatus.PENDING,
                            clean_report={"source": source, "manifest_line": line})
                with transaction.atomic():
                    counts["pairs"] += _create_pairs([pair])
                    ImportRecord.objects.filter(dataset=dataset, source__startswith=f"line {line}: ").delete()
                    _record(dataset, ctx.job_id, source, ImportStatus.IMPORTED, pairs=1, info={"line": line})
                counts["imported"] += 1
        ctx.progress(index + 1, len(rows), metrics=_summary(ctx, counts, codes, len(rows)),
                     message=f"{index + 1}/{len(rows)} rows")
    _finish_dataset(dataset, "import_manifest", asdict(p), _summary(ctx, counts, codes, len(rows)))
    return _summary(ctx, counts, codes, len(rows))
