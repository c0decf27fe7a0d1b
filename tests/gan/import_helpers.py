"""What the import tests share (manifest rows: tests/gan/services/test_manifest_import.py; videos:
tests/gan/kinds/test_import_videos.py and tests/gan/services/test_ingest.py): running an import job
in-process, a folder of real stamp recordings and photos with a secret outside it, manifests
written byte for byte, and the media files stored versus the files the pairs name. Fixtures are
imported by name into each test module that uses them."""
import shutil

import pytest

from gan.models import ImportRecord, ImportStatus, Pair
from jobs.engine import create_job, execute_job
from tests.gan.media_fixtures import STAMPS

DOG, FOX, VIOLIN = "animals/mammals/dogs/dog", "animals/mammals/dogs/fox", "hobbies/music/string/violin"
PASSWD_LINE = "root:x:0:0:root:/root:/bin/bash"


def run(kind, params):
    """Store a job of `kind` and run it here, as a worker would; returns the finished Job row."""
    job = create_job(kind, params, enqueue=False)
    execute_job(job.pk, "test")
    job.refresh_from_db()
    return job


@pytest.fixture
def stamp_files(tmp_path):
    """folder/ with dog and violin recordings + photos; outside/ with a valid pair and a secret."""
    folder, outside = tmp_path / "folder", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    for stamp in (DOG, VIOLIN):
        shutil.copy(STAMPS / f"{stamp}.ogg", folder)
        shutil.copy(STAMPS / f"{stamp}.png", folder)
    shutil.copy(STAMPS / f"{FOX}.ogg", outside / "other.ogg")
    shutil.copy(STAMPS / f"{FOX}.png", outside / "other.png")
    (outside / "secret.txt").write_text(PASSWD_LINE + "\n")
    return folder, outside


def write_manifest(folder, rows, header="sound,image,label", encoding="utf-8", name="manifest.csv"):
    """Rows are written as given (bytes allowed), so that broken files can be made on purpose."""
    lines = [header.encode(encoding)] + [r if isinstance(r, bytes) else r.encode(encoding) for r in rows]
    (folder / name).write_bytes(b"\n".join(lines) + b"\n")
    return folder / name


def media_files(media_root):
    return sorted(p.relative_to(media_root).as_posix() for p in media_root.rglob("*") if p.is_file())


def referenced_files():
    return sorted({name for pair in Pair.objects.all() for name in (pair.sound.name, pair.image.name)})


def failures():
    """The failed import records by their key's first part ("line 3" for a manifest row)."""
    return {r.source.split(":")[0]: r for r in ImportRecord.objects.filter(status=ImportStatus.FAILED)}
