"""Reads behind a report that are not a suite's rows (those are selectors/suite.py): a dataset's
pair counts (Table 1 per split), its newest scored result checkpoints, their scores and the real
images' scores, and the suite jobs themselves."""
from __future__ import annotations

from django.db.models import Count

from jobs.models import Job

from ..models import Checkpoint, Dataset, Evaluation, Metric


def pair_counts(dataset: Dataset):
    """Pairs per (label, split, status): dicts with n."""
    return dataset.pairs.values("label", "split", "status").annotate(n=Count("id"))


def latest_scored_results(dataset: Dataset) -> dict[tuple[str, str], Checkpoint]:
    """Per (variant, feature kind), the newest result checkpoint an evaluate job scored."""
    latest: dict[tuple[str, str], Checkpoint] = {}
    finals = Checkpoint.objects.select_related("run").filter(run__dataset=dataset, is_final=True,
                                                              evaluations__metric__in=Metric.values).distinct()
    for checkpoint in finals.order_by("-created_at", "-id"):
        latest.setdefault((checkpoint.run.variant, checkpoint.run.feature_spec.get("kind", "")), checkpoint)
    return latest


def scores_at_volume_one(checkpoint: Checkpoint) -> list[Evaluation]:
    """The checkpoint's scores of its test images at volume 1, seed 0 (newest first)."""
    return list(checkpoint.evaluations.filter(volume=1.0, seed=0, split="test"))


def real_image_scores(dataset: Dataset) -> list[Evaluation]:
    return list(Evaluation.objects.filter(dataset=dataset, source="real"))


def job_by_id(job_id: int) -> Job | None:
    return Job.objects.filter(pk=job_id).first()


def dataset_of(job: Job) -> Dataset | None:
    """The dataset a job's params name, if it still exists."""
    return Dataset.objects.filter(pk=(job.params or {}).get("dataset_id")).first()


def suites_of(dataset: Dataset):
    return Job.objects.filter(kind="suite", params__dataset_id=dataset.pk).order_by("-created_at")
