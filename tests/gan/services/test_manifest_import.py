"""CSV manifests into pairs (gan/services/manifest_import.py): the file and its header are read
whole and refused in one line, each row is checked before anything is copied, a bad row is recorded
with its line and reason while the others are imported, and a curated import stores all rows or
nothing. Most inputs are what a stranger or a careless user hands over: paths out of the folder,
links to /etc/passwd, NUL bytes and over-long cells (PostgreSQL refuses both), Latin-1 manifests,
wrong headers, pixel bombs, jobs that fail or import nothing. Each case: recorded per source,
nothing copied for it, no orphan file, no empty dataset, no file content in any message."""
import csv
import os
import shutil

import numpy as np
import pytest
import soundfile
from PIL import Image

from gan.models import Dataset, ImportRecord, ImportStatus, Pair, PairStatus
from gan.services.datasets import DatasetImportError, refresh_class_names
from gan.services.manifest_import import ManifestError, import_manifest, launch_manifest_import, read_manifest
from jobs.engine import create_job, execute_job
from jobs.models import Job, JobStatus
from tests.gan.import_helpers import (failures, media_files, referenced_files, run, stamp_files,  # noqa: F401
                                      write_manifest)
from tests.gan.media_fixtures import needs_media_tools
from tests.gan.synthetic import write_tone_dataset

pytestmark = [pytest.mark.django_db, needs_media_tools]


def test_manifest_paths_outside_the_folder_are_refused_and_nothing_is_copied(media_root, stamp_files):
    folder, outside = stamp_files
    os.symlink(outside / "secret.txt", folder / "link.ogg")
    os.symlink(outside / "other.png", folder / "link.png")
    manifest = write_manifest(folder, [
        "dog.ogg,dog.png,dog",
        "../../../../etc/passwd,dog.png,dog",
        "/etc/passwd,dog.png,dog",
        f"{outside}/other.ogg,{outside}/other.png,dog",  # a valid pair, but not in the folder
        "../outside/other.ogg,../outside/other.png,dog",
        "link.ogg,dog.png,dog",  # a link to a file outside
        "dog.ogg,link.png,dog",
        f"{folder}/violin.ogg,violin.png,violin",  # absolute, but inside: fine
    ])
    job = run("import_manifest", {"dataset": "paths", "manifest": str(manifest)})
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.metrics["imported"], job.metrics["failed"]) == (2, 6)
    assert job.metrics["failures_by_kind"] == {"outside_folder": 6}
    reasons = {line: r.reason for line, r in failures().items()}
    assert "sound '../../../../etc/passwd' is a path outside the manifest's folder" in reasons["line 3"]
    assert "sound '/etc/passwd' is a path outside" in reasons["line 4"]
    assert "sound 'link.ogg' is a symbolic link that leads outside" in reasons["line 7"]
    assert "image 'link.png' is a symbolic link that leads outside" in reasons["line 8"]
    for text in [*reasons.values(), job.log_tail, job.error]:
        assert "root:" not in text
    # only the two good pairs' files were copied in, and each is a real copy of a file in the folder
    assert media_files(media_root) == referenced_files() and len(referenced_files()) == 4
    copied = {(media_root / name).read_bytes() for name in referenced_files()}
    assert (outside / "other.png").read_bytes() != (folder / "dog.png").read_bytes()
    assert copied == {(folder / n).read_bytes() for n in ("dog.ogg", "dog.png", "violin.ogg", "violin.png")}


def test_bad_cells_are_recorded_per_row_on_postgresql_and_the_rest_imported(media_root, stamp_files):
    folder, _ = stamp_files
    long_folder = folder / ("d" * 200) / ("e" * 200)
    long_folder.mkdir(parents=True)
    shutil.copy(folder / "violin.ogg", long_folder / ("v" * 150 + ".ogg"))
    long_sound = f"{'d' * 200}/{'e' * 200}/{'v' * 150}.ogg"  # 556 characters: longer than the columns
    manifest = write_manifest(folder, [
        b"dog.ogg,dog.png,d\x00g",
        b"dog.ogg\x00,dog.png,dog",
        ("violin.ogg,violin.png," + "x" * 101).encode(),
        b"violin.ogg,violin.png,caf\xe9",  # a Latin-1 accent in a UTF-8 file
        f"{long_sound},violin.png,violin".encode(),
        b"dog.ogg,dog.png,dog",
    ])
    job = run("import_manifest", {"dataset": "cells", "manifest": str(manifest)})
    assert job.status == JobStatus.SUCCEEDED, job.error
    m = job.metrics
    assert (m["imported"], m["failed"], m["pairs_created"]) == (2, 4, 2)
    assert m["failures_by_kind"] == {"bad_encoding": 1, "broken_row": 2, "too_long": 1}
    reasons = {line: r.reason for line, r in failures().items()}
    assert "the label column contains a NUL byte" in reasons["line 2"]
    assert "the sound column contains a NUL byte" in reasons["line 3"]
    assert "the label column has 101 characters; at most 100" in reasons["line 4"]
    assert "not UTF-8 text (byte 0xe9" in reasons["line 5"] and "save the manifest as UTF-8" in reasons["line 5"]
    long_pair = Pair.objects.get(label="violin")
    assert len(long_pair.group) == 200 and long_pair.group.startswith("ddd")
    assert len(ImportRecord.objects.get(pairs=1, info__line=6).source) == 500
    assert media_files(media_root) == referenced_files()


def test_a_latin1_manifest_gets_one_clear_reason_per_row(media_root, stamp_files):
    folder, _ = stamp_files
    shutil.copy(folder / "dog.ogg", folder / "chien_café.ogg")
    manifest = write_manifest(folder, ["chien_café.ogg,dog.png,chien", "violin.ogg,violin.png,violon"],
                              encoding="latin-1")
    job = run("import_manifest", {"dataset": "latin", "manifest": str(manifest)})
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.metrics["failures_by_kind"] == {"bad_encoding": 1} and job.metrics["imported"] == 1
    assert "the sound column is not UTF-8 text (byte 0xe9" in failures()["line 2"].reason


def test_manifest_rows_are_checked_one_by_one(media_root, stamp_files):
    folder, _ = stamp_files
    (folder / "fake.png").write_text("not a picture")
    soundfile.write(folder / "silence.wav", np.zeros(8000, np.float32), 16000)
    manifest = write_manifest(folder, [
        "dog.ogg,dog.png,dog",
        "violin.ogg,violin.png,",  # no label: fine, cleaning gives one
        "missing.ogg,dog.png,dog",
        "dog.ogg,gone.png,dog",
        "dog.ogg,dog.png,dog,surplus",
        ",dog.png,dog",
        "dog.ogg,fake.png,dog",
        "silence.wav,violin.png,violin",
    ])
    job = run("import_manifest", {"dataset": "man", "manifest": str(manifest)})
    assert job.status == JobStatus.SUCCEEDED, job.error
    m = job.metrics
    assert (m["sources"], m["imported"], m["failed"], m["pairs_created"]) == (8, 2, 6, 2)
    assert m["failures_by_kind"] == {"bad_image": 1, "bad_sound": 1, "broken_row": 2, "missing_file": 2}
    reasons = {line: r.reason for line, r in failures().items()}
    assert "sound file 'missing.ogg' does not exist" in reasons["line 4"]
    assert "image file 'gone.png' does not exist" in reasons["line 5"]
    assert "1 field(s) more than the header" in reasons["line 6"]
    assert "empty sound column" in reasons["line 7"]
    assert "not a readable image" in reasons["line 8"]
    assert "silent" in reasons["line 9"]
    labels = sorted(Pair.objects.filter(dataset__name="man").values_list("label", flat=True))
    assert labels == ["dog", "unlabelled"]
    again = run("import_manifest", {"dataset": "man", "manifest": str(manifest)})
    assert again.metrics["already_imported"] == 2 and again.metrics["pairs_created"] == 0
    assert Pair.objects.count() == 2


def test_a_manifest_without_the_needed_columns_fails_the_job_clearly(media_root, tmp_path):
    manifest = write_manifest(tmp_path, ["a.wav"], header="audio")
    job = run("import_manifest", {"dataset": "m2", "manifest": str(manifest)})
    assert job.status == JobStatus.FAILED and "the header is 'audio': it lacks sound and image" in job.error


@pytest.mark.parametrize("header, phrase", [
    ("audio,picture", "it lacks sound and image"),
    ("sound,imgae,label", "'imgae' looks like a misspelt 'image'"),
    ("sound,image,lable", "'lable' looks like a misspelt 'label'"),
    ("sound,image,sound", "sound appear(s) twice"),
])
def test_a_wrong_header_is_refused_before_queueing_in_one_line(media_root, stamp_files, header, phrase):
    folder, _ = stamp_files
    manifest = write_manifest(folder, ["dog.ogg,dog.png,dog"], header=header)
    with pytest.raises(ManifestError) as caught:
        launch_manifest_import(dataset="h", manifest=str(manifest))
    assert phrase in str(caught.value) and "\n" not in str(caught.value)
    assert "line 1: the header is" in str(caught.value)
    assert not Job.objects.exists() and not Dataset.objects.exists()


def test_headers_ignore_case_and_extra_columns(media_root, stamp_files):
    folder, _ = stamp_files
    manifest = write_manifest(folder, ["dog.ogg,dog.png,Dog,alice"], header="\ufeffSound, Image ,Label,voice")
    read = read_manifest(manifest)
    assert read.columns == ["sound", "image", "label", "voice"] and read.ignored_columns == ["voice"]
    job = run("import_manifest", {"dataset": "case", "manifest": str(folder)})  # the folder finds manifest.csv
    assert job.status == JobStatus.SUCCEEDED and job.metrics["imported"] == 1
    assert "columns not used: voice" in job.log_tail


@pytest.mark.parametrize("content, phrase", [
    (None, "does not exist"), (b"", "is empty"), (b"sound,image,label\n", "has a header but no rows"),
    (b"\xe9l\xe9ment,image\n", "the header is not UTF-8"),
])
def test_unusable_manifest_files(media_root, tmp_path, content, phrase):
    path = tmp_path / "m.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ManifestError, match=phrase):
        read_manifest(path)


def test_a_pixel_bomb_in_a_manifest_is_refused_from_its_header(media_root, stamp_files, monkeypatch):
    folder, _ = stamp_files
    Image.new("1", (12000, 12000), 1).save(folder / "bomb.png", optimize=True)
    decoded = []
    original_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size) or original_load(self))
    manifest = write_manifest(folder, ["dog.ogg,bomb.png,dog", "dog.ogg,dog.png,dog"])
    job = run("import_manifest", {"dataset": "bomb", "manifest": str(manifest)})
    assert job.metrics["failures_by_kind"] == {"too_large": 1} and job.metrics["imported"] == 1
    assert "12000x12000 is above the limit of 33,177,600 pixels" in failures()["line 2"].reason
    assert (12000, 12000) not in decoded  # the header said enough
    assert media_files(media_root) == referenced_files() and len(referenced_files()) == 2


def test_a_job_that_imports_nothing_leaves_no_dataset_and_no_file(media_root, stamp_files):
    folder, _ = stamp_files
    manifest = write_manifest(folder, ["gone.ogg,dog.png,dog", "/etc/passwd,dog.png,dog"])
    job = run("import_manifest", {"dataset": "nothing", "manifest": str(manifest)})
    assert job.status == JobStatus.FAILED and "nothing was imported, so no dataset 'nothing' was made" in job.error
    assert "Traceback" not in job.error and "\n" not in job.error.strip()
    assert "gone.ogg" in job.log_tail  # the reasons stay in the job's log
    assert not Dataset.objects.exists() and not ImportRecord.objects.exists() and media_files(media_root) == []


def test_a_job_that_crashes_midway_leaves_no_orphan_file(media_root, stamp_files, monkeypatch):
    folder, _ = stamp_files
    manifest = write_manifest(folder, ["dog.ogg,dog.png,dog", "violin.ogg,violin.png,violin"])
    from gan.services import manifest_import

    original, calls = manifest_import.create_pairs, []

    def fail_second(pairs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return original(pairs)

    monkeypatch.setattr(manifest_import, "create_pairs", fail_second)
    job = run("import_manifest", {"dataset": "crash", "manifest": str(manifest)})
    assert job.status == JobStatus.FAILED and "the database went away" in job.error
    assert Pair.objects.count() == 1
    assert media_files(media_root) == referenced_files() and len(media_files(media_root)) == 2
    # the same crash on the first row of a new dataset: no dataset, no file
    calls.clear()
    calls.append(1)
    job = run("import_manifest", {"dataset": "crash2", "manifest": str(manifest)})
    assert job.status == JobStatus.FAILED and not Dataset.objects.filter(name="crash2").exists()
    assert media_files(media_root) == referenced_files()


def test_a_job_cancelled_before_its_first_pair_leaves_no_dataset(media_root, stamp_files, settings):
    folder, _ = stamp_files
    settings.JOB_PROGRESS_MIN_INTERVAL = 0
    manifest = write_manifest(folder, ["dog.ogg,dog.png,dog"])
    job = create_job("import_manifest", {"dataset": "cancelled", "manifest": str(manifest)}, enqueue=False)
    from gan.services import manifest_import

    original = manifest_import.check_row

    def cancel_then_check(*args, **kwargs):
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        raise manifest_import.SourceError("broken_row", "stopped here")

    manifest_import.check_row = cancel_then_check
    try:
        execute_job(job.pk, "test")
    finally:
        manifest_import.check_row = original
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and not Dataset.objects.exists() and media_files(media_root) == []


def test_class_names_are_stable_across_re_imports(media_root, stamp_files):
    folder, _ = stamp_files
    manifest = write_manifest(folder, ["violin.ogg,violin.png,violin", "dog.ogg,dog.png,"])
    run("import_manifest", {"dataset": "stable", "manifest": str(manifest)})
    dataset = Dataset.objects.get(name="stable")
    assert dataset.class_names == ["unlabelled", "violin"]  # pending: the provisional labels
    # cleaning kept the violin and discarded the other pair as 'unmapped'
    Pair.objects.filter(label="violin").update(status=PairStatus.KEPT)
    Pair.objects.filter(label="unlabelled").update(status=PairStatus.DISCARDED, label="unmapped")
    refresh_class_names(dataset)
    dataset.save()
    assert dataset.class_names == ["violin"]
    again = run("import_manifest", {"dataset": "stable", "manifest": str(manifest)})
    assert again.metrics["pairs_created"] == 0
    dataset.refresh_from_db()
    assert dataset.class_names == ["violin"]  # was ['unmapped', 'violin']


def test_a_curated_manifest_with_missing_files_imports_nothing(tmp_path, media_root):
    folder = write_tone_dataset(tmp_path / "broken")
    (folder / "low_0.wav").unlink()
    with pytest.raises(DatasetImportError, match="low_0.wav"):
        import_manifest("broken", folder, source="test")
    assert not Dataset.objects.exists()


def test_a_curated_import_stores_nothing_when_a_row_is_bad(media_root, stamp_files):
    folder, _ = stamp_files
    write_manifest(folder, ["dog.ogg,dog.png,dog", "../outside/other.ogg,dog.png,dog", "violin.ogg,violin.png,"])
    with pytest.raises(DatasetImportError) as caught:
        import_manifest("curated", folder, source="test")
    assert "2 problem(s)" in str(caught.value) and "line 3: sound '../outside/other.ogg' is a path outside" in str(caught.value)
    assert "line 4: empty label" in str(caught.value)
    assert not Dataset.objects.exists() and media_files(media_root) == []
    write_manifest(folder, ["dog.ogg,dog.png,dog", "violin.ogg,violin.png,violin"])
    dataset = import_manifest("curated", folder, source="test")
    assert dataset.class_names == ["dog", "violin"] and set(dataset.pairs.values_list("status", flat=True)) == {"kept"}
    write_manifest(folder, ["violin.ogg,violin.png,violin"])
    with pytest.raises(DatasetImportError, match="already exists"):
        import_manifest("curated", folder, source="test")
    replaced = import_manifest("curated", folder, source="test", replace=True)
    assert replaced.pairs.count() == 1 and media_files(media_root) == referenced_files()


def test_the_digits_demo_goes_through_the_same_manifest_import(media_root, tmp_path):
    from demo.builders.digits import build_digits
    from demo.builders.manifest import read_manifest as read_demo_manifest

    build = build_digits(tmp_path / "digits", n_voices=4, test_fraction=0.25, n_human_voices=1, n_neural_voices=1)
    rows = read_demo_manifest(build.root)
    job = run("import_manifest", {"dataset": "digits", "manifest": str(build.manifest), "image_size": 32,
                                  "trust_labels": True})
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.metrics["imported"] == len(rows) > 0 and job.metrics["failed"] == 0
    dataset = Dataset.objects.get(name="digits")
    assert dataset.class_names == sorted({row["label"] for row in rows})
    stored = {(p.group, p.split, p.label, p.status) for p in dataset.pairs.all()}
    assert stored == {(row["group"], row["split"], row["label"], PairStatus.KEPT) for row in rows}


def test_import_records_can_be_read_back_as_csv_safely(media_root, stamp_files):
    """What the admin and API show of a failure is printable text (no NUL, no raw bytes)."""
    folder, _ = stamp_files
    manifest = write_manifest(folder, [b"dog\x00.ogg,dog.png,dog", b"dog.ogg,dog.png,dog"])
    run("import_manifest", {"dataset": "shown", "manifest": str(manifest)})
    record = ImportRecord.objects.get(status=ImportStatus.FAILED)
    assert "\x00" not in record.source + record.reason and "\\x00" in record.source
    rows = list(csv.reader([record.reason]))
    assert rows and "NUL byte" in rows[0][0]
