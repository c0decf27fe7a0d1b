"""The `suite` job: the parent of the paper's experiment suite (see gan/services/suite.py for the
plan and why it cannot deadlock). Stages run in order: train every cell (a table row x a seed), then
generate, then evaluate, then the analyses no single child makes (the linear-probe ceiling of each
feature, how much the image changes with the volume); the plan, with the child jobs of each cell, is
saved in the parent's metrics. A row whose training diverged is recorded as such and skipped by the
later stages, so it is reported, never averaged in."""
from __future__ import annotations

import torch

from jobs.engine import JobContext
from jobs.errors import JobError
from jobs.models import Job
from jobs.runner import ChildJobs

from ..models import Checkpoint, Dataset, RunStatus, Split, TrainingRun
from ..services.generation import TABLE3_VOLUMES, launch_generation
from ..services.scoring import EvaluationError, launch_evaluation
from ..services.suite import SuiteParams, build_plan
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
    plan = ctx.metrics.get("plan") or build_plan(p, dataset)  # a resumed suite keeps its children
    cells = plan["cells"]
    splits = plan.get("splits", [Split.TEST])
    total = len(cells) * (1 + len(splits) * 2) + len(splits) + 1
    runner = ChildJobs(ctx, total, inline=plan["children"] == "inline", steal_after_s=p.steal_after_s,
                       metrics={"plan": plan}, before_run=_torch_threads(plan.get("torch_threads")),
                       parallel=plan.get("parallel", 1))
    enqueue = plan["children"] == "dispatch"
    for note in plan["notes"]:
        ctx.log(note)
    ctx.log(f"{len(cells)} runs ({plan['preset']} preset, seeds {plan.get('seeds')}, children {plan['children']})")

    for cell in cells:
        if not cell["jobs"].get("train"):
            run = launch_training(dataset, variant=cell["variant"], feature={"kind": cell["feature"],
                                                                             **p.feature_options},
                                  model=plan["model"], train={**plan["train"], "seed": cell["seed"]},
                                  validation=plan.get("validation") or None, enqueue=enqueue,
                                  name=f"suite #{ctx.job_id} {cell['key']} seed {cell['seed']}", user=None)
            cell["run_id"], cell["jobs"]["train"] = run.pk, run.job_id
    runner.save("training")
    diverged = set(runner.see_through([c["jobs"]["train"] for c in cells], "train", tolerate=_diverged))
    for cell in cells:
        run = TrainingRun.objects.get(pk=cell["run_id"])
        cell["status"] = _run_status(run, cell["jobs"]["train"] in diverged)
        cell["step"] = run.summary.get("best_step") or run.summary.get("step")
        cell["iterations"] = run.summary.get("step")
        cell["elapsed_s"] = round(run.summary.get("elapsed_s") or 0.0, 1)
    live = [c for c in cells if c["status"] != "diverged"]
    total = runner.total = runner.done + len(live) * 2 * len(splits) + len(splits) + 1   # diverged rows stop here

    for cell in live:
        if not cell["jobs"].get("generate"):
            final = Checkpoint.objects.filter(run_id=cell["run_id"], is_final=True).first()
            if final is None:
                raise JobError(f"run #{cell['run_id']} ({cell['key']}) finished without a final checkpoint")
            cell["checkpoint_id"] = final.pk
            cell["jobs"]["generate"] = launch_generation([final], volumes=TABLE3_VOLUMES, seeds=(0,),
                                                         enqueue=enqueue).pk
            if Split.HELDOUT in splits:
                cell["jobs"]["generate_heldout"] = launch_generation([final], split=Split.HELDOUT, seeds=(0,),
                                                                     enqueue=enqueue).pk
    runner.save("generating")
    runner.see_through([c["jobs"][k] for c in live for k in ("generate", "generate_heldout") if k in c["jobs"]],
                       "generate")

    scoring = dict(classifier=p.classifier, class_map=p.class_map, splits=p.splits, order=p.order,
                   enqueue=enqueue)
    # In-domain test sounds get every metric; held-out-source sounds class consistency and FID.
    heldout_metrics = [m for m in plan["metrics"] if m in ("class_consistency", "fid")]
    try:
        for cell in live:
            checkpoint = Checkpoint.objects.get(pk=cell["checkpoint_id"])
            if not cell["jobs"].get("evaluate"):
                cell["jobs"]["evaluate"] = launch_evaluation(checkpoint=checkpoint, metrics=plan["metrics"],
                                                             **scoring).pk
            if Split.HELDOUT in splits and heldout_metrics and not cell["jobs"].get("evaluate_heldout"):
                cell["jobs"]["evaluate_heldout"] = launch_evaluation(
                    checkpoint=checkpoint, metrics=heldout_metrics, split=Split.HELDOUT, **scoring).pk
        real_jobs = plan["real"]["jobs"]
        if not real_jobs.get("evaluate"):
            real_jobs["evaluate"] = launch_evaluation(dataset=dataset, split=p.upper_bound_split,
                                                      metrics=plan["metrics"], **scoring).pk
        if Split.HELDOUT in splits and heldout_metrics and not real_jobs.get("evaluate_heldout"):
            real_jobs["evaluate_heldout"] = launch_evaluation(dataset=dataset, split=Split.HELDOUT,
                                                              metrics=["class_consistency"], **scoring).pk
    except EvaluationError as exc:
        raise JobError(f"cannot score: {exc}") from exc
    runner.save("scoring")
    evaluate_jobs = [c["jobs"][k] for c in live for k in ("evaluate", "evaluate_heldout") if k in c["jobs"]]
    runner.see_through(evaluate_jobs + list(plan["real"]["jobs"].values()), "evaluate")

    ctx.progress(runner.done, total, message="analysis: linear-probe ceilings and volume sensitivity", force=True)
    analysis = plan.setdefault("analysis", {})
    if "probe" not in analysis:
        analysis["probe"] = probe_ceilings(dataset, plan, p.feature_options, splits, log=ctx.log)
    for cell in live:
        if "volume" not in cell:
            cell["volume"] = volume_sensitivity(Checkpoint.objects.get(pk=cell["checkpoint_id"]), TABLE3_VOLUMES)
    runner.done += 1
    runner.save("done")
    return {"plan": plan, "children": total}


def _run_status(run: TrainingRun, diverged: bool) -> str:
    """converged (validation plateaued), cap (stopped by the iteration cap; 'still improving' when the
    best score came in the last validations), completed (no model selection) or diverged."""
    summary = run.summary
    if diverged or summary.get("status") == RunStatus.DIVERGED:
        return "diverged"
    if summary.get("status") == RunStatus.EARLY_STOPPED:
        return "converged"
    if "best_step" in summary:
        return "cap, still improving" if summary.get("improving_at_end") else "cap"
    return "completed"
