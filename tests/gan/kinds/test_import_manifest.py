"""The `import_manifest` job (gan/kinds/import_manifest.py): every row becomes a pair, a rerun skips
the rows already imported and imports the new ones, unused columns are named in the log, and the
dataset records each import."""
import csv

import pytest

from gan.models import Dataset, ImportRecord, ImportStatus
from jobs.engine import create_job, execute_job
from jobs.models import JobStatus
from tests.gan.synthetic import write_tone_dataset

pytestmark = pytest.mark.django_db


def _with_notes(folder, keep: int):
    """The tone dataset's manifest cut to its first `keep` rows, with a column the importer does not use."""
    with open(folder / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))[:keep]
    path = folder / f"manifest-{keep}.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0], "notes"])
        writer.writeheader()
        writer.writerows({**row, "notes": "recorded indoors"} for row in rows)
    return path


def _run(manifest):
    job = create_job("import_manifest", {"dataset": "tones", "manifest": str(manifest), "image_size": 16},
                     enqueue=False)
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def test_a_rerun_imports_only_the_new_rows_and_the_dataset_keeps_both_imports(media_root, tmp_path):
    folder = write_tone_dataset(tmp_path / "tones", per_class=2, test_per_class=0)  # 3 classes x 2 rows
    first = _run(_with_notes(folder, 4))
    assert (first.metrics["sources"], first.metrics["imported"], first.metrics["pairs_created"]) == (4, 4, 4)
    assert "columns not used: notes" in first.log_tail
    assert first.progress == 1.0 and first.message == "4/4 rows"
    second = _run(_with_notes(folder, 6))
    m = second.metrics
    assert (m["sources"], m["already_imported"], m["imported"], m["pairs_created"], m["failed"]) == (6, 4, 2, 2, 0)
    dataset = Dataset.objects.get(name="tones")
    assert dataset.pairs.count() == 6 and dataset.image_size == 16
    assert sorted(dataset.class_names) == ["high", "low", "mid"]
    assert [entry["pairs_created"] for entry in dataset.info["imports"]] == [4, 2]
    assert ImportRecord.objects.filter(dataset=dataset, status=ImportStatus.IMPORTED).count() == 6
