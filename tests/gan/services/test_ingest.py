"""Video imports (gan/services/ingest.py) on real files: videos made here from Tux Paint photos and
recordings, the bad inputs of the issue, an archive upload, cancel and re-run, long tracks cut into
segments, the commands and the admin's forms. Manifests: tests/gan/services/test_manifest_import.py."""
import zipfile
from pathlib import Path

import pytest
import soundfile
from PIL import Image

from gan.models import Dataset, ImportRecord, ImportStatus, Pair, PairStatus
from jobs.engine import execute_job
from jobs.models import Job, JobStatus
from tests.gan.import_helpers import run
from tests.gan.media_fixtures import make_bad_inputs, make_video, needs_media_tools

pytestmark = [pytest.mark.django_db, needs_media_tools]

GOOD = {"dog/dog.mp4": "animals/mammals/dogs/dog", "dog/fox.mp4": "animals/mammals/dogs/fox",
        "strings/violin.mp4": "hobbies/music/string/violin"}


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    for name, stamp in GOOD.items():
        make_video(folder / name, stamp, stamp, seconds=2.0)
    bad = make_bad_inputs(folder / "bad")
    return folder, {f"bad/{name}": code for name, code in bad.items()}


def test_folder_import_keeps_going_past_every_bad_file_and_counts_them(media_root, video_folder):
    folder, bad = video_folder
    job = run("import_videos", {"dataset": "vids", "folder": str(folder)})
    assert job.status == JobStatus.SUCCEEDED, job.error
    m = job.metrics
    assert (m["sources"], m["imported"], m["failed"], m["pairs_created"]) == (9, 3, 6, 12)
    assert m["ignored_files"] == 0 and m["imported_truncated"] == 0
    assert m["failures_by_kind"] == {"corrupt": 1, "no_audio": 1, "no_video": 1, "not_media": 1,
                                     "too_large": 1, "zero_length": 1}
    dataset = Dataset.objects.get(name="vids")
    records = {r.source: r for r in ImportRecord.objects.filter(dataset=dataset)}
    for source, code in bad.items():
        assert records[source].status == ImportStatus.FAILED and records[source].code == code
        assert source.split("/")[-1] in records[source].reason
    assert "has no audio track" in records["bad/no_audio.mp4"].reason
    assert "text file, not a video" in records["bad/notes.mp4"].reason
    # each good video: 4 pending pairs sharing one FLAC sound at the recording's own rate
    pairs = list(Pair.objects.filter(dataset=dataset, group="dog/fox.mp4"))
    assert len(pairs) == 4 and {p.status for p in pairs} == {PairStatus.PENDING} and {p.label for p in pairs} == {"dog"}
    assert len({p.sound.name for p in pairs}) == 1 and len({p.image.name for p in pairs}) == 4
    info = soundfile.info(str(media_root / pairs[0].sound.name))
    assert info.format == "FLAC" and info.channels == 1 and info.samplerate == 44100
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert Image.open(media_root / pairs[0].image.name).size == (64, 64)
    assert records["dog/fox.mp4"].info["frame_times"] == sorted(records["dog/fox.mp4"].info["frame_times"])
    assert dataset.class_names == ["dog", "strings"]


def test_cancelled_import_re_runs_without_duplicates(media_root, video_folder, settings, monkeypatch):
    folder, _ = video_folder
    settings.JOB_PROGRESS_MIN_INTERVAL = 0  # every progress write also looks at the cancel flag
    from gan.services import ingest

    original, calls = ingest._store_video, []

    def store_then_cancel(dataset, video, relative, params):
        out = original(dataset, video, relative, params)
        calls.append(relative)
        if len(calls) == 2:  # a researcher presses cancel while the second video is being imported
            Job.objects.filter(status=JobStatus.RUNNING).update(cancel_requested=True)
        return out

    monkeypatch.setattr(ingest, "_store_video", store_then_cancel)
    first = run("import_videos", {"dataset": "vids", "folder": str(folder)})
    assert first.status == JobStatus.CANCELLED
    assert Pair.objects.count() == 8 and ImportRecord.objects.filter(status=ImportStatus.IMPORTED).count() == 2

    second = run("import_videos", {"dataset": "vids", "folder": str(folder)})
    assert second.status == JobStatus.SUCCEEDED
    assert second.metrics["already_imported"] == 2 and second.metrics["imported"] == 1
    assert Pair.objects.count() == 12
    third = run("import_videos", {"dataset": "vids", "folder": str(folder)})
    assert third.metrics["pairs_created"] == 0 and Pair.objects.count() == 12
    assert ImportRecord.objects.count() == 9  # one record per file, updated, never duplicated


def test_uploaded_archive_is_unpacked_and_imported(media_root, video_folder, tmp_path):
    folder, _ = video_folder
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for name in GOOD:
            handle.write(folder / name, f"clips/{name}")
    job = run("import_videos", {"dataset": "zipped", "archive": str(archive), "n_frames": 2, "frame_size": 32})
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.metrics["imported"], job.metrics["pairs_created"]) == (3, 6)
    pair = Pair.objects.filter(dataset__name="zipped").first()
    assert Image.open(media_root / pair.image.name).size == (32, 32)


def test_an_archive_that_is_not_one_fails_the_job_clearly(media_root, tmp_path):
    fake = tmp_path / "videos.zip"
    fake.write_text("not an archive")
    job = run("import_videos", {"dataset": "x", "archive": str(fake)})
    assert job.status == JobStatus.FAILED and "not a zip or tar archive" in job.error


def test_long_sound_tracks_are_split_into_segments(media_root, tmp_path):
    make_video(tmp_path / "v" / "long.mp4", "animals/mammals/dogs/dog", "animals/mammals/dogs/dog", seconds=12.0,
               size=(96, 96), fps=4)
    job = run("import_videos", {"dataset": "seg", "folder": str(tmp_path / "v"), "segment_seconds": 5.0})
    assert job.status == JobStatus.SUCCEEDED, job.error
    pairs = list(Pair.objects.filter(dataset__name="seg").order_by("id"))
    sounds = sorted({p.sound.name for p in pairs})
    assert len(sounds) == 2  # 0-5 s and 5-12 s (a 2 s tail joins the last piece)
    durations = [soundfile.info(str(media_root / s)).duration for s in sounds]
    track = ImportRecord.objects.get(source="long.mp4").info["audio_seconds"]  # ~11.7 s of looped dog
    assert durations[0] == pytest.approx(5.0, abs=0.01)
    assert durations[1] == pytest.approx(track - 5.0, abs=0.01) and durations[1] > 6.5  # the tail joined
    for pair in pairs:  # each frame goes with the segment it was taken from
        start = pair.clean_report["segment_start"]
        assert start <= pair.clean_report["frame_time"] < (5.0 if start == 0 else 12.0)
    assert len(pairs) == 4


@pytest.mark.django_db(transaction=True)  # the command runs the job in a thread with its own connection
def test_import_and_split_commands(media_root, video_folder, monkeypatch):
    from io import StringIO

    from django.core.management import CommandError, call_command

    folder, _ = video_folder
    out = StringIO()
    call_command("import_videos", "cmd", str(folder), "--frames", "2", "--inline", stdout=out, stderr=StringIO())
    assert "succeeded" in out.getvalue() and '"failed": 6' in out.getvalue()
    assert Pair.objects.filter(dataset__name="cmd").count() == 6
    out = StringIO()
    call_command("split_dataset", "cmd", "--include-discarded", "--test-fraction", "0.5", "--inline", stdout=out,
                 stderr=StringIO())
    assert "succeeded" in out.getvalue()
    assert Dataset.objects.get(name="cmd").info["split"]["include_discarded"] is True
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        call_command("split_dataset", "nope", stdout=StringIO())
    sent = []  # without --inline the job goes to a worker: catch the message instead of sending it
    monkeypatch.setattr("jobs.engine.dispatch", lambda job_id, queue: sent.append((job_id, queue)))
    call_command("import_videos", "queued", str(folder), stdout=StringIO())
    job = Job.objects.get(kind="import_videos", status=JobStatus.QUEUED)
    assert sent == [(job.pk, "cpu")]


def test_admin_forms_launch_import_jobs(client, staff_user, media_root, video_folder, monkeypatch, tmp_path,
                                        django_capture_on_commit_callbacks):
    from django.urls import reverse

    sent = []
    monkeypatch.setattr("jobs.engine.dispatch", lambda job_id, queue: sent.append(job_id))
    folder, _ = video_folder
    client.force_login(staff_user)
    url = reverse("admin:gan_dataset_import_videos")
    form = {"dataset": "from-admin", "n_frames": 4, "frame_size": 64, "segment_seconds": 0, "label_from_folder": "on"}
    page = client.post(url, form)  # neither folder nor archive
    assert page.status_code == 200 and "Give a folder or an archive" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, dict(form, folder=str(folder)))
    job = Job.objects.get(kind="import_videos")
    assert response.status_code == 302 and response["Location"] == reverse("admin:jobs_job_change", args=[job.pk])
    assert job.params["folder"] == str(folder) and job.params["n_frames"] == 4
    archive = tmp_path / "clips.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(folder / "dog/dog.mp4", "dog/dog.mp4")
    with open(archive, "rb") as upload, django_capture_on_commit_callbacks(execute=True):
        client.post(url, dict(form, archive=upload))
    uploaded = Job.objects.filter(kind="import_videos").latest("id")
    stored = Path(uploaded.params["archive"])
    assert stored.parent == media_root / "uploads" and stored.name.endswith(".archive")  # not the browser's name
    assert sent == [job.pk, uploaded.pk]
    execute_job(uploaded.pk, "test")
    uploaded.refresh_from_db()
    assert uploaded.status == JobStatus.SUCCEEDED and uploaded.metrics["pairs_created"] == 4
    assert not any(p.is_file() for p in (media_root / "uploads").rglob("*"))  # deleted once imported
