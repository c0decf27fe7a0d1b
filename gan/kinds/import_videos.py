"""The `import_videos` job: every video of a folder or an uploaded archive becomes pairs (frames and
the sound track) of a dataset, one video at a time, resumable (a video already imported is skipped).
The writes for each video are gan.services.ingest.import_one_video's."""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from jobs.context import JobContext
from jobs.errors import JobError

from ..media_paths import media_path
from ..ml.media import VIDEO_EXTENSIONS
from ..models import Dataset, ImportStatus
from ..services.import_sources import SOURCE_MAX, fitted, printable, safe_name
from ..services.ingest import (UPLOADS_FOLDER, VideoImportParams, find_videos, finish_dataset, import_one_video,
                               import_target, is_upload, summary, unpack_archive)


def run_video_import(ctx: JobContext, p: VideoImportParams) -> dict:
    """Import the videos; an uploaded archive is deleted once the import has run, successful or not
    (its pairs have their own files, and a failed import needs a fresh upload anyway). Only a worker
    that died keeps it, so the requeued run finds it."""
    try:
        return _run_video_import(ctx, p)
    finally:
        if p.archive and is_upload(Path(p.archive)):
            Path(p.archive).unlink(missing_ok=True)


def _run_video_import(ctx: JobContext, p: VideoImportParams) -> dict:
    unpacked = None
    with import_target(p.dataset, source="videos", image_size=p.frame_size) as dataset:
        if p.archive:
            archive = Path(p.archive)
            if not archive.is_file():
                raise JobError(f"archive {archive} does not exist")
            unpacked = media_path(f"{UPLOADS_FOLDER}/{dataset.name}/{safe_name(archive.name)}")
            folder = unpack_archive(archive, unpacked)
        else:
            folder = Path(p.folder)
            if not folder.is_dir():
                raise JobError(f"folder {folder} does not exist or is not a folder")
        try:
            result = _import_videos(ctx, dataset, folder, p)
        finally:
            if unpacked is not None:  # only a copy of the upload; the pairs have their own files
                shutil.rmtree(unpacked, ignore_errors=True)
    finish_dataset(dataset, "import_videos", asdict(p), result)
    return result


def _import_videos(ctx: JobContext, dataset: Dataset, folder: Path, p: VideoImportParams) -> dict:
    videos = find_videos(folder)
    ignored = sum(1 for f in folder.rglob("*") if f.is_file() and f.suffix.lower() not in VIDEO_EXTENSIONS)
    if ignored:
        ctx.log(f"{ignored} file(s) without a video extension ({', '.join(VIDEO_EXTENSIONS)}) were not looked at")
    done = set(dataset.import_records.filter(status=ImportStatus.IMPORTED).values_list("source", flat=True))
    ctx.log(f"{len(videos)} video files in {printable(str(folder), 300)}; {len(done)} already imported")
    counts, codes = Counter(), Counter()
    for index, video in enumerate(videos):
        ctx.check_cancelled()
        source = fitted(video.relative_to(folder).as_posix(), SOURCE_MAX)
        if source in done:
            counts["skipped"] += 1
        else:
            import_one_video(ctx, dataset, folder, video, source, p, counts, codes)
        ctx.progress(index + 1, len(videos), metrics=summary(counts, codes, len(videos)),
                     message=f"{index + 1}/{len(videos)} videos")
    return dict(summary(counts, codes, len(videos)), ignored_files=ignored)
