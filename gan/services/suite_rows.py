"""Writes of the paper suite's rows (gan/models/suite.py): its cells, the child jobs that serve them,
how each cell's training ended, and the analyses the suite makes itself (stored as Evaluation rows
whose job is the suite). The suite's body (gan/kinds/suite.py) calls these under its fence, so an
attempt that lost the suite cannot write over its replacement's rows."""
from __future__ import annotations

import math

from ..models import (CellStatus, Checkpoint, Dataset, Evaluation, ImageSource, Split, SuiteCell, SuiteMetric,
                      SuiteUpperBound, TrainingRun)

PROBE_CLASSIFIER = "linear probe (logistic regression on the training sounds' features)"
VOLUME_CLASSIFIER = "mean absolute pixel change from volume 1"


def create_cells(suite_id: int, planned) -> list[SuiteCell]:
    """One row per planned cell (`planned()` gives dicts of variant, feature, seed and tables), unless
    the suite has its rows already (a resumed suite keeps its cells and their children)."""
    existing = list(SuiteCell.objects.filter(suite_id=suite_id))
    if existing:
        return existing
    SuiteCell.objects.bulk_create([
        SuiteCell(suite_id=suite_id, position=i, variant=c["variant"], feature=c["feature"], seed=c["seed"],
                  in_table2="2" in c["tables"], in_table4="4" in c["tables"])
        for i, c in enumerate(planned())])
    return list(SuiteCell.objects.filter(suite_id=suite_id))


def set_training(cell: SuiteCell, run: TrainingRun) -> None:
    cell.run, cell.train_job_id = run, run.job_id
    cell.save(update_fields=["run", "train_job"])


def record_training(cell: SuiteCell, diverged: bool) -> None:
    """The cell's status and schedule from its run's summary, once its training job has ended."""
    summary = TrainingRun.objects.get(pk=cell.run_id).summary   # as the finished job left it
    cell.status = cell_status(summary, diverged)
    cell.step = summary.get("best_step") or summary.get("step")
    cell.iterations = summary.get("step")
    cell.elapsed_s = round(summary.get("elapsed_s") or 0.0, 1)
    cell.save(update_fields=["status", "step", "iterations", "elapsed_s"])


def cell_status(summary: dict, diverged: bool) -> str:
    """converged (validation plateaued), cap (stopped by the iteration cap; 'still improving' when the
    best score came in the last validations), completed (no model selection) or diverged."""
    from ..models import RunStatus

    if diverged or summary.get("status") == RunStatus.DIVERGED:
        return CellStatus.DIVERGED
    if summary.get("status") == RunStatus.EARLY_STOPPED:
        return CellStatus.CONVERGED
    if "best_step" in summary:
        return CellStatus.CAP_IMPROVING if summary.get("improving_at_end") else CellStatus.CAP
    return CellStatus.COMPLETED


def set_children(cell: SuiteCell, **jobs) -> None:
    """Record child jobs (and the checkpoint they serve): fields of SuiteCell, e.g. generate_job=job."""
    for name, value in jobs.items():
        setattr(cell, name, value)
    cell.save(update_fields=list(jobs))


def set_upper_bound(suite_id: int, heldout: bool, evaluate_job) -> SuiteUpperBound:
    row, _ = SuiteUpperBound.objects.update_or_create(suite_id=suite_id, heldout=heldout,
                                                      defaults={"evaluate_job": evaluate_job})
    return row


def record_probe(suite_id: int, dataset: Dataset, feature: str, results: dict) -> None:
    """The linear-probe ceiling of one feature: {split: {accuracy, n, ci}} as one row per split."""
    Evaluation.objects.filter(job_id=suite_id, metric=SuiteMetric.PROBE_CEILING, details__feature=feature).delete()
    Evaluation.objects.bulk_create([
        Evaluation(dataset=dataset, source=ImageSource.FEATURES, split=split, metric=SuiteMetric.PROBE_CEILING,
                   classifier=PROBE_CLASSIFIER, n_images=r["n"], value=r["accuracy"], job_id=suite_id,
                   details={"feature": feature, "ci": list(r["ci"])})
        for split, r in results.items()])


def record_volume(suite_id: int, checkpoint: Checkpoint, volume: dict) -> None:
    """Table 3 for one checkpoint (ml.metrics.volume_change's dict, kept whole in details). An empty
    dict (too few volumes or sounds) is stored too, so a resumed suite does not compute it again."""
    rho = volume.get("spearman_rho")
    Evaluation.objects.filter(job_id=suite_id, checkpoint=checkpoint, metric=SuiteMetric.VOLUME_SENSITIVITY).delete()
    Evaluation.objects.create(
        dataset_id=checkpoint.run.dataset_id, source=ImageSource.GENERATED, checkpoint=checkpoint, split=Split.TEST,
        seed=0, metric=SuiteMetric.VOLUME_SENSITIVITY, classifier=VOLUME_CLASSIFIER,
        n_images=volume.get("n_sounds", 0),
        # rho is undefined (NaN) when no image changed at all; the column holds a number, details the truth
        value=rho if isinstance(rho, float) and math.isfinite(rho) else 0.0, job_id=suite_id, details=volume)
