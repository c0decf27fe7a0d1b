"""Reads of a paper suite's rows (gan/models/suite.py): its cells with their checkpoints, scores and
Table 3 figures, the real images' scores (row a) and the linear-probe ceilings, as plain dicts a
report is assembled from (gan/reports/collect.py)."""
from __future__ import annotations

from ..models import Evaluation, SuiteCell, SuiteMetric, SuiteUpperBound
from .figures import figures_of_job


def _evaluations_by_job(job_ids: list[int]) -> dict[int, list[Evaluation]]:
    by_job: dict[int, list[Evaluation]] = {}
    for evaluation in Evaluation.objects.filter(job_id__in=[i for i in job_ids if i]):
        by_job.setdefault(evaluation.job_id, []).append(evaluation)
    return by_job


def suite_cells(suite_id: int) -> list[dict]:
    """The suite's table rows in plan order: dicts of key, variant, feature, tables, images (the
    figures of the first seed with a checkpoint) and cells, one per seed: seed, status, step,
    iterations, elapsed_s, run_id, checkpoint_id, checkpoint, evaluations (its evaluate jobs' scores,
    in-domain first) and volume (Table 3's figures for its checkpoint, when computed)."""
    cells = list(SuiteCell.objects.filter(suite_id=suite_id).select_related("checkpoint__run"))
    by_job = _evaluations_by_job([j for c in cells for j in (c.evaluate_job_id, c.evaluate_heldout_job_id)])
    volumes = {}
    for evaluation in Evaluation.objects.filter(job_id=suite_id, metric=SuiteMetric.VOLUME_SENSITIVITY).order_by("id"):
        volumes[evaluation.checkpoint_id] = evaluation.details   # the newest of a checkpoint wins
    rows: dict[str, dict] = {}
    for cell in cells:
        row = rows.setdefault(cell.key, {"key": cell.key, "variant": cell.variant, "feature": cell.feature,
                                         "tables": cell.tables, "cells": [], "first": cell})
        if row["first"].checkpoint_id is None and cell.checkpoint_id is not None:
            row["first"] = cell
        entry = {"seed": cell.seed, "status": cell.status, "step": cell.step, "iterations": cell.iterations,
                 "elapsed_s": cell.elapsed_s, "run_id": cell.run_id, "checkpoint_id": cell.checkpoint_id,
                 "checkpoint": cell.checkpoint,
                 "evaluations": by_job.get(cell.evaluate_job_id, []) + by_job.get(cell.evaluate_heldout_job_id, [])}
        if volumes.get(cell.checkpoint_id):
            entry["volume"] = volumes[cell.checkpoint_id]
        row["cells"].append(entry)
    for row in rows.values():
        first = row.pop("first")
        row["images"] = figures_of_job(first.generate_job_id, first.checkpoint_id)
    return list(rows.values())


def upper_bound_evaluations(suite_id: int) -> list[Evaluation]:
    """Scores of the real images (Table 4, row a): the in-domain set's, then the held-out source's."""
    jobs = list(SuiteUpperBound.objects.filter(suite_id=suite_id).values_list("evaluate_job_id", flat=True))
    by_job = _evaluations_by_job(jobs)
    return [e for job_id in jobs for e in by_job.get(job_id, [])]


def probe_ceilings(suite_id: int) -> dict[str, dict]:
    """{feature kind: {split: {accuracy, n, ci}}}: the linear-probe ceilings the suite measured."""
    out: dict[str, dict] = {}
    for evaluation in Evaluation.objects.filter(job_id=suite_id, metric=SuiteMetric.PROBE_CEILING).order_by("id"):
        out.setdefault(evaluation.details["feature"], {})[evaluation.split] = {
            "accuracy": evaluation.value, "n": evaluation.n_images, "ci": evaluation.details["ci"]}
    return out


def cell_seeds(suite_id: int, variant: str, status: str) -> list[int]:
    """Seeds of one variant's cells with a given status, e.g. which seeds of row f converged."""
    return list(SuiteCell.objects.filter(suite_id=suite_id, variant=variant, status=status)
                .values_list("seed", flat=True))
