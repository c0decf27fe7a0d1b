"""The `evaluate` job (gan/kinds/evaluate.py): stored scores match the metric functions on the same
classifier outputs; the domain classifier is trained once per dataset; FID and diversity against the
real test images; a job that finds too few images fails and stores nothing."""
import pytest

from gan.kinds import evaluate
from gan.ml import metrics
from gan.models import Evaluation
from gan.services.scoring import launch_evaluation
from jobs.engine import create_job, execute_job
from jobs.models import JobStatus
from tests.gan.trained_fixtures import generated, tones  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True)]


def run(job):
    execute_job(job.pk, "test")
    job.refresh_from_db()
    return job


@pytest.mark.slow
def test_generated_images_are_scored_as_the_metric_functions_score_them(generated):
    job = run(launch_evaluation(checkpoint=generated, splits=3, enqueue=False))
    assert job.status == JobStatus.SUCCEEDED, job.error
    rows = {e.metric: e for e in Evaluation.objects.filter(job=job)}
    assert set(rows) == {"inception_score", "class_consistency"}
    is_row, cc_row = rows["inception_score"], rows["class_consistency"]
    assert is_row.n_images == 6 and is_row.splits == 3 and is_row.order == "paper"
    assert is_row.checkpoint == generated and is_row.source == "generated" and is_row.volume == 1.0
    assert is_row.classifier == "domain-cnn (tones)"
    # the same classifier on the same images in class order gives the same numbers
    dataset = generated.run.dataset
    classifier, info = evaluate.domain_classifier(dataset)
    images = evaluate.load_generated(generated, "test", 1.0, 0, channels=3)
    assert images.labels.tolist() == [0, 0, 1, 1, 2, 2]  # class-ordered: high, low, mid
    probs = classifier.predict_proba(images.images)
    expected = metrics.inception_score(probs, splits=3, order="paper")
    assert is_row.value == pytest.approx(expected.mean, abs=1e-9)
    assert is_row.std == pytest.approx(expected.std, abs=1e-9)
    assert is_row.per_split == pytest.approx(list(expected.per_split))
    consistency = metrics.class_consistency(probs.argmax(axis=1), images.labels, dataset.class_names)
    assert cc_row.value == pytest.approx(consistency.overall)
    assert {k: v["n"] for k, v in cc_row.per_class.items()} == {"high": 2, "low": 2, "mid": 2}
    assert is_row.details["classifier"]["test_accuracy"] == info["test_accuracy"]


@pytest.mark.slow
def test_real_images_give_the_upper_bound_and_the_domain_classifier_is_cached(tones, media_root):
    job = run(launch_evaluation(dataset=tones, splits=3, enqueue=False))
    assert job.status == JobStatus.SUCCEEDED, job.error
    cc = Evaluation.objects.get(job=job, metric="class_consistency")
    assert cc.source == "real" and cc.checkpoint is None and cc.n_images == 6
    # on real test images class consistency is the classifier's held-out accuracy
    assert cc.value == pytest.approx(cc.details["classifier"]["test_accuracy"])
    assert cc.value == 1.0  # three colours: the tone dataset's images are trivially separable
    is_row = Evaluation.objects.get(job=job, metric="inception_score")
    assert 1.0 <= is_row.value <= 3.0  # at most the number of classes
    cached = evaluate.domain_classifier_path(tones)
    stamp = cached.stat().st_mtime_ns
    again = run(launch_evaluation(dataset=tones, splits=2, order="shuffled", order_seed=7, enqueue=False))
    assert again.status == JobStatus.SUCCEEDED
    assert cached.stat().st_mtime_ns == stamp and "training the domain classifier" not in again.log_tail
    shuffled = Evaluation.objects.get(job=again, metric="inception_score")
    assert shuffled.order == "shuffled" and shuffled.order_seed == 7 and shuffled.splits == 2
    # the paper's upper bound: every real image, train and test
    everything = run(launch_evaluation(dataset=tones, split="all", splits=3, enqueue=False))
    assert Evaluation.objects.get(job=everything, metric="inception_score").n_images == 24


@pytest.mark.slow
def test_fid_of_real_train_images_against_test_images(tones):
    job = run(launch_evaluation(dataset=tones, metrics=["fid"], enqueue=False))
    assert job.status == JobStatus.SUCCEEDED, job.error
    fid = Evaluation.objects.get(job=job, metric="fid")
    assert fid.metric == "fid" and fid.split == "train" and fid.n_images == 18
    assert fid.details["n_reference"] == 6 and fid.value > 0
    assert "inception-v3-tf2015-pool3" in fid.classifier
    # per-class FID for every class with two or more images on both sides
    assert fid.per_class and all(v["fid"] >= 0 and v["n"] >= 2 and v["n_reference"] >= 2
                                 for v in fid.per_class.values())
    # within-class diversity of the same features, beside the real test images' own
    diversity = Evaluation.objects.get(job=job, metric="diversity")
    assert diversity.value > 0 and diversity.details["real_test"] > 0
    assert diversity.details["ratio_to_real"] == pytest.approx(diversity.value / diversity.details["real_test"])


def test_a_job_that_finds_too_few_images_fails_and_stores_nothing(tones):
    # bypass the launch checks, as a job created by hand (admin's generic form) would
    job = run(create_job("evaluate", {"dataset_id": tones.pk, "splits": 50}, enqueue=False))
    assert job.status == JobStatus.FAILED
    assert "cannot be cut into 50" in job.error
    assert not Evaluation.objects.exists()
