"""The `suite` job: the parent of the paper's experiment suite (see gan/services/suite.py for the
plan and why it cannot deadlock). Stages run in order: train every cell (a table row x a seed), then
generate, then evaluate, then the analyses no single child makes (the linear-probe ceiling of each
feature, how much the image changes with the volume). Each cell is a SuiteCell row naming its run,
checkpoint and child jobs (written through services/suite_rows.py as soon as a child is launched), so
a resumed suite finds every child again; the analyses are Evaluation rows whose job is the suite. The
job's metrics keep only the plan's settings. A row whose training diverged is recorded as such and
skipped by the later stages, so it is reported, never averaged in."""
from __future__ import annotations

import torch

from jobs.context import JobContext
from jobs.errors import JobError
from jobs.models import Job
from jobs.runner import ChildJobs

from ..models import (CellStatus, Checkpoint, Dataset, Evaluation, RunStatus, Split, SuiteMetric,
                      SuiteUpperBound, TrainingRun)
from ..services import suite_rows
from ..services.generation import TABLE3_VOLUMES, launch_generation
from ..services.scoring import EvaluationError, launch_evaluation
from ..services.suite import SuiteParams, build_plan, plan_settings
from ..services.training import launch_training
from .suite_analysis import probe_ceilings, volume_sensitivity


def _torch_threads(threads: int | None):
    """What a child run here does first: the preset's torch intra-op threads (0 = torch's default)."""
    if not threads:
        return None
    return lambda: torch.set_num_threads(threads)


def _diverged(job: Job) -> bool:
    """A training job that failed because its losses diverged (the run's summary says so)."""
    return job.kind == "train" and TrainingRun.objects.filter(job_id=job.pk, summary__status=RunStatus.DIVERGED.value).exists()


def run_suite(ctx: JobContext, p: SuiteParams) -> dict:
    dataset = Dataset.objects.get(pk=p.dataset_id)
    full = ctx.metrics.get("plan") or build_plan(p, dataset)   # a resumed suite keeps its plan and its rows
    plan = plan_settings(full)
    with ctx.fence():   # rows made once; a plan saved before there were rows (migrated) still lists its cells
        cells = suite_rows.create_cells(ctx.job_id, lambda: full.get("cells") or build_plan(p, dataset)["cells"])
    splits = plan.get("splits", [Split.TEST])
    total = len(cells) * (1 + len(splits) * 2) + len(splits) + 1
    runner = ChildJobs(ctx, total, inline=plan["children"] == "inline", steal_after_s=p.steal_after_s,
                       before_run=_torch_threads(plan.get("torch_threads")), parallel=plan.get("parallel", 1))
    ctx.progress(0, total, metrics={"plan": plan})   # written with the next save
    enqueue = plan["children"] == "dispatch"
    for note in plan["notes"]:
        ctx.log(note)
    ctx.log(f"{len(cells)} runs ({plan['preset']} preset, seeds {plan.get('seeds')}, children {plan['children']})")

    for cell in cells:
        if not cell.train_job_id:
            run = launch_training(dataset, variant=cell.variant, feature={"kind": cell.feature, **p.feature_options},
                                  model=plan["model"], train={**plan["train"], "seed": cell.seed},
                                  validation=plan.get("validation") or None, enqueue=enqueue,
                                  name=f"suite #{ctx.job_id} {cell.key} seed {cell.seed}", user=None)
            with ctx.fence():
                suite_rows.set_training(cell, run)
    runner.save("training")
    diverged = set(runner.see_through([c.train_job_id for c in cells], "train", tolerate=_diverged))
    with ctx.fence():
        for cell in cells:
            suite_rows.record_training(cell, cell.train_job_id in diverged)
    live = [c for c in cells if c.status != CellStatus.DIVERGED]
    total = runner.total = runner.done + len(live) * 2 * len(splits) + len(splits) + 1   # diverged rows stop here

    for cell in live:
        if not cell.generate_job_id:
            final = Checkpoint.objects.filter(run_id=cell.run_id, is_final=True).first()
            if final is None:
                raise JobError(f"run #{cell.run_id} ({cell.key}) finished without a final checkpoint")
            jobs = {"checkpoint": final,
                    "generate_job": launch_generation([final], volumes=TABLE3_VOLUMES, seeds=(0,), enqueue=enqueue)}
            if Split.HELDOUT in splits:
                jobs["generate_heldout_job"] = launch_generation([final], split=Split.HELDOUT, seeds=(0,),
                                                                 enqueue=enqueue)
            with ctx.fence():
                suite_rows.set_children(cell, **jobs)
    runner.save("generating")
    runner.see_through([j for c in live for j in (c.generate_job_id, c.generate_heldout_job_id) if j], "generate")

    scoring = dict(classifier=p.classifier, class_map=p.class_map, splits=p.splits, order=p.order,
                   enqueue=enqueue)
    # In-domain test sounds get every metric; held-out-source sounds class consistency and FID.
    heldout_metrics = [m for m in plan["metrics"] if m in ("class_consistency", "fid")]
    bounds = {b.heldout: b.evaluate_job_id for b in SuiteUpperBound.objects.filter(suite_id=ctx.job_id)}
    try:
        for cell in live:
            checkpoint = Checkpoint.objects.get(pk=cell.checkpoint_id)
            if not cell.evaluate_job_id:
                job = launch_evaluation(checkpoint=checkpoint, metrics=plan["metrics"], **scoring)
                with ctx.fence():
                    suite_rows.set_children(cell, evaluate_job=job)
            if Split.HELDOUT in splits and heldout_metrics and not cell.evaluate_heldout_job_id:
                job = launch_evaluation(checkpoint=checkpoint, metrics=heldout_metrics, split=Split.HELDOUT, **scoring)
                with ctx.fence():
                    suite_rows.set_children(cell, evaluate_heldout_job=job)
        if not bounds.get(False):
            job = launch_evaluation(dataset=dataset, split=p.upper_bound_split, metrics=plan["metrics"], **scoring)
            with ctx.fence():
                bounds[False] = suite_rows.set_upper_bound(ctx.job_id, False, job).evaluate_job_id
        if Split.HELDOUT in splits and heldout_metrics and not bounds.get(True):
            job = launch_evaluation(dataset=dataset, split=Split.HELDOUT, metrics=["class_consistency"], **scoring)
            with ctx.fence():
                bounds[True] = suite_rows.set_upper_bound(ctx.job_id, True, job).evaluate_job_id
    except EvaluationError as exc:
        raise JobError(f"cannot score: {exc}") from exc
    runner.save("scoring")
    evaluate_jobs = [j for c in live for j in (c.evaluate_job_id, c.evaluate_heldout_job_id) if j]
    runner.see_through(evaluate_jobs + [bounds[k] for k in sorted(bounds) if bounds[k]], "evaluate")

    ctx.progress(runner.done, total, message="analysis: linear-probe ceilings and volume sensitivity", force=True)
    analysed = Evaluation.objects.filter(job_id=ctx.job_id)
    if not analysed.filter(metric=SuiteMetric.PROBE_CEILING).exists():
        probe = probe_ceilings(dataset, plan, p.feature_options, splits, log=ctx.log)
        with ctx.fence():
            for kind, results in probe.items():
                suite_rows.record_probe(ctx.job_id, dataset, kind, results)
    for cell in live:
        if not analysed.filter(metric=SuiteMetric.VOLUME_SENSITIVITY, checkpoint_id=cell.checkpoint_id).exists():
            checkpoint = Checkpoint.objects.select_related("run").get(pk=cell.checkpoint_id)
            volume = volume_sensitivity(checkpoint, TABLE3_VOLUMES)
            if volume:   # {}: too few volumes or sounds; nothing to store (and cheap to find again)
                with ctx.fence():
                    suite_rows.record_volume(ctx.job_id, checkpoint, volume)
    runner.done += 1
    runner.save("done")
    return {"plan": plan, "children": total}
