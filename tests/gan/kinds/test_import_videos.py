"""The `import_videos` job (gan/kinds/import_videos.py): a folder or an uploaded archive of videos
becomes pairs, one video at a time. A folder or archive that is not there fails the job in one
line; files without a video extension are counted and named, never opened; a rerun skips the videos
already imported; an uploaded archive is deleted once the job has run, even when it failed; links
out of the folder are not followed and nothing they lead to is quoted. The per-video writes
(frames, the FLAC track, segments) are tests/gan/services/test_ingest.py's."""
import os
import zipfile

import pytest

from gan.models import Dataset, ImportRecord, Pair
from gan.services.ingest import UPLOADS_FOLDER
from jobs.models import JobStatus
from tests.gan.import_helpers import DOG, PASSWD_LINE, VIOLIN, media_files, referenced_files, run
from tests.gan.media_fixtures import make_video, needs_media_tools

pytestmark = [pytest.mark.django_db, needs_media_tools]


def test_a_folder_or_archive_that_is_not_there_fails_the_job_in_one_line(media_root, tmp_path):
    job = run("import_videos", {"dataset": "gone", "folder": str(tmp_path / "no-such-folder")})
    assert job.status == JobStatus.FAILED
    assert f"folder {tmp_path / 'no-such-folder'} does not exist or is not a folder" in job.error
    (tmp_path / "a-file").write_text("not a folder")
    job = run("import_videos", {"dataset": "gone", "folder": str(tmp_path / "a-file")})
    assert job.status == JobStatus.FAILED and "is not a folder" in job.error
    job = run("import_videos", {"dataset": "gone", "archive": str(tmp_path / "clips.zip")})
    assert job.status == JobStatus.FAILED and f"archive {tmp_path / 'clips.zip'} does not exist" in job.error
    assert "Traceback" not in job.error and not Dataset.objects.exists() and media_files(media_root) == []


def test_an_uploaded_archive_is_deleted_even_when_its_import_fails(media_root, tmp_path):
    upload = media_root / UPLOADS_FOLDER / "a1b2.archive"   # where the admin stores one, under a generated name
    upload.parent.mkdir()
    with zipfile.ZipFile(upload, "w") as handle:
        handle.writestr("clips/broken.mp4", b"\x00" * 2048)
    own = tmp_path / "mine.zip"   # a researcher's own archive named on the command line: left alone
    own.write_bytes(upload.read_bytes())
    for archive in (upload, own):
        job = run("import_videos", {"dataset": "zipped", "archive": str(archive)})
        assert job.status == JobStatus.FAILED and "nothing was imported" in job.error
    assert not upload.exists() and own.is_file()
    assert not Dataset.objects.exists() and media_files(media_root) == []   # nor its unpacked copy


def test_other_files_are_counted_not_opened_and_a_rerun_skips_what_was_imported(media_root, tmp_path):
    folder = tmp_path / "clips"
    make_video(folder / "dog" / "dog.mp4", DOG, DOG, seconds=1.0)
    (folder / "dog" / "README.txt").write_text("recorded in the garden\n")
    (folder / "cover.jpg").write_bytes(b"\xff\xd8 not looked at")
    first = run("import_videos", {"dataset": "garden", "folder": str(folder), "n_frames": 2})
    assert first.status == JobStatus.SUCCEEDED, first.error
    assert (first.metrics["sources"], first.metrics["imported"], first.metrics["pairs_created"]) == (1, 1, 2)
    assert first.metrics["ignored_files"] == 2 and "2 file(s) without a video extension" in first.log_tail
    assert not ImportRecord.objects.filter(source__in=["dog/README.txt", "cover.jpg"]).exists()
    make_video(folder / "violin" / "violin.mp4", VIOLIN, VIOLIN, seconds=1.0)
    second = run("import_videos", {"dataset": "garden", "folder": str(folder), "n_frames": 2})
    m = second.metrics
    assert (m["sources"], m["already_imported"], m["imported"], m["pairs_created"]) == (2, 1, 1, 2)
    assert "2 video files in" in second.log_tail and "1 already imported" in second.log_tail
    assert second.message == "2/2 videos" and second.progress == 1.0
    dataset = Dataset.objects.get(name="garden")
    assert dataset.class_names == ["dog", "violin"] and dataset.pairs.count() == 4
    assert [entry["pairs_created"] for entry in dataset.info["imports"]] == [2, 2]


@pytest.fixture
def video_folder(tmp_path):
    folder, outside = tmp_path / "videos", tmp_path / "elsewhere"
    make_video(folder / "dog" / "dog.mp4", DOG, DOG, seconds=2.0)
    make_video(outside / "violin.mp4", VIOLIN, VIOLIN, seconds=2.0)
    (outside / "passwd").write_text(PASSWD_LINE + "\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n")
    os.symlink(outside / "passwd", folder / "evil.mp4")
    os.symlink(outside / "violin.mp4", folder / "dog" / "borrowed.mp4")
    os.symlink(outside, folder / "linked_dir")  # not searched (rglob does not follow folder links)
    (folder / "notes.mp4").write_text(PASSWD_LINE + "\n")
    return folder


def test_links_out_of_a_video_folder_are_not_followed_and_nothing_is_quoted(media_root, video_folder):
    job = run("import_videos", {"dataset": "vids", "folder": str(video_folder), "n_frames": 2})
    assert job.status == JobStatus.SUCCEEDED, job.error
    m = job.metrics
    assert (m["imported"], m["failed"]) == (1, 3)
    assert m["failures_by_kind"] == {"not_media": 1, "outside_folder": 2}
    records = {r.source: r for r in ImportRecord.objects.all()}
    assert "symbolic link that leads outside the import folder" in records["evil.mp4"].reason
    assert "symbolic link that leads outside" in records["dog/borrowed.mp4"].reason
    assert "is a text file, not a video" in records["notes.mp4"].reason
    for text in [job.log_tail, *(r.reason for r in records.values())]:
        assert "root:" not in text and "daemon" not in text
    assert Pair.objects.count() == 2 and set(Pair.objects.values_list("group", flat=True)) == {"dog/dog.mp4"}
    assert media_files(media_root) == referenced_files()


def test_a_video_import_that_imports_nothing_leaves_no_dataset(media_root, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"\x00" * 2048)
    (folder / "b.mp4").write_text("not a video\n")
    job = run("import_videos", {"dataset": "broken", "folder": str(folder)})
    assert job.status == JobStatus.FAILED and "nothing was imported" in job.error
    assert not Dataset.objects.exists() and media_files(media_root) == []


def test_a_failed_video_insert_leaves_no_files(media_root, video_folder, monkeypatch):
    from gan.services import ingest

    monkeypatch.setattr(ingest, "create_pairs", lambda pairs: (_ for _ in ()).throw(RuntimeError("disk full")))
    job = run("import_videos", {"dataset": "nofiles", "folder": str(video_folder), "n_frames": 2})
    assert job.status == JobStatus.FAILED and "disk full" in job.error
    assert not Dataset.objects.exists() and media_files(media_root) == []


def test_long_video_paths_fit_their_columns(media_root, tmp_path):
    deep = tmp_path / "v" / ("a" * 120) / ("b" * 120)
    make_video(deep / ("c" * 100 + ".mp4"), DOG, DOG, seconds=1.0)
    job = run("import_videos", {"dataset": "deep", "folder": str(tmp_path / "v"), "n_frames": 1})
    assert job.status == JobStatus.SUCCEEDED, job.error
    pair = Pair.objects.get()
    assert len(pair.group) == 200 and len(pair.label) == 100  # the folder name (120 chars) as label, fitted
    assert len(ImportRecord.objects.get().source) == 346


def test_an_uploaded_archive_is_unpacked_only_for_the_job(media_root, tmp_path):
    import zipfile

    make_video(tmp_path / "dog.mp4", DOG, DOG, seconds=1.0)
    archive = tmp_path / "clips.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(tmp_path / "dog.mp4", "dog/dog.mp4")
        handle.writestr("../../escape.mp4", b"x")  # zipfile drops the '..'
    job = run("import_videos", {"dataset": "zipped", "archive": str(archive), "n_frames": 1})
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not (media_root / "uploads").exists() or not any((media_root / "uploads").rglob("*.mp4"))
    assert not (tmp_path.parent / "escape.mp4").exists()
    assert media_files(media_root) == referenced_files()


