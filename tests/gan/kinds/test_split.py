"""The `split_dataset` job (gan/kinds/split.py): the split service run as a job, its metrics the
split's summary without the per-class table, every warning of the split one line of the job's log."""
import pytest

from gan.models import Dataset, Pair, PairStatus, Split
from gan.services.splitting import SplitError, split_dataset
from jobs.engine import create_job, execute_job
from jobs.models import JobStatus

pytestmark = pytest.mark.django_db


def test_the_split_job_reports_the_split_and_logs_each_warning(media_root):
    dataset = Dataset.objects.create(name="warned", source="videos", root="datasets/warned")
    for video in range(5):  # dog: four sources (one goes to test); drum: one source (it cannot straddle)
        for frame in range(3):
            Pair.objects.create(dataset=dataset, sound=f"v{video}.flac", image=f"v{video}_{frame}.png",
                                label="dog" if video < 4 else "drum", group=f"v{video}.mp4", status=PairStatus.KEPT)
    job = create_job("split_dataset", {"dataset_id": dataset.pk, "test_fraction": 0.25, "seed": 4}, enqueue=False)
    assert execute_job(job.pk, "test") == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 1.0
    assert "per_class" not in job.metrics
    assert (job.metrics["train_pairs"], job.metrics["test_pairs"], job.metrics["groups"]) == (12, 3, 5)
    assert job.metrics["seed"] == 4 and job.metrics["test_fraction"] == 0.25
    assert job.metrics["warnings"] == ["class 'drum' has no test pairs; it has 1 source(s) and a source never "
                                       "straddles the split, so it needs more sources"]
    assert f"warning: {job.metrics['warnings'][0]}" in job.log_tail
    assert set(dataset.pairs.filter(label="drum").values_list("split", flat=True)) == {Split.TRAIN}
    dataset.refresh_from_db()
    assert dataset.info["split"]["per_class"]["dog"] == {"train_pairs": 9, "test_pairs": 3, "train_groups": 3,
                                                         "test_groups": 1}


def test_split_job_records_the_split_on_the_dataset(media_root):
    dataset = Dataset.objects.create(name="s", source="videos", root="datasets/s")
    for video in range(6):
        for frame in range(4):
            Pair.objects.create(dataset=dataset, sound=f"v{video}.flac", image=f"v{video}_{frame}.png",
                                label="dog" if video < 3 else "drum", group=f"v{video}.mp4", status=PairStatus.KEPT)
    job = create_job("split_dataset", {"dataset_id": dataset.pk, "test_fraction": 0.34, "seed": 1}, enqueue=False)
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    dataset.refresh_from_db()
    assert dataset.split_seed == 1 and dataset.info["split"]["per_class"]["dog"]["test_groups"] == 1
    assert job.metrics["test_pairs"] == 8 and job.metrics["train_pairs"] == 16
    for video in range(6):
        assert len(set(dataset.pairs.filter(group=f"v{video}.mp4").values_list("split", flat=True))) == 1
    empty = Dataset.objects.create(name="e", source="videos", root="datasets/e")
    with pytest.raises(SplitError, match="no kept pairs"):
        split_dataset(empty)
