"""The `suite` job: the parent of the paper's experiment suite (see gan/services/suite.py for the
plan and why it cannot deadlock). Stages run in order: train every cell, then generate, then
evaluate; the plan, with the child job of each cell, is saved in the parent's metrics."""
from __future__ import annotations

import torch

from jobs.engine import JobContext
from jobs.errors import JobError
from jobs.runner import ChildJobs

from ..models import Checkpoint, Dataset
from ..services.generation import launch_generation
from ..services.scoring import EvaluationError, launch_evaluation
from ..services.suite import TABLE3_VOLUMES, SuiteParams, build_plan
from ..services.training import launch_training


def _torch_threads(threads: int | None):
    """What a child run here does first: the preset's torch intra-op threads (0 = torch's default)."""
    if not threads:
        return None
    return lambda: torch.set_num_threads(threads)


def run_suite(ctx: JobContext, p: SuiteParams) -> dict:
    dataset = Dataset.objects.get(pk=p.dataset_id)
    plan = ctx.metrics.get("plan") or build_plan(p, dataset)  # a resumed suite keeps its children
    cells = plan["cells"]
    total = 3 * len(cells) + 1
    runner = ChildJobs(ctx, total, inline=plan["children"] == "inline", steal_after_s=p.steal_after_s,
                       metrics={"plan": plan}, before_run=_torch_threads(plan.get("torch_threads")))
    enqueue = plan["children"] == "dispatch"
    for note in plan["notes"]:
        ctx.log(note)
    ctx.log(f"{len(cells)} runs ({plan['preset']} preset, children {plan['children']})")

    for cell in cells:
        if not cell["jobs"].get("train"):
            run = launch_training(dataset, variant=cell["variant"], feature={"kind": cell["feature"],
                                                                             **p.feature_options},
                                  model=plan["model"], train=plan["train"], enqueue=enqueue,
                                  name=f"suite #{ctx.job_id} {cell['key']}", user=None)
            cell["run_id"], cell["jobs"]["train"] = run.pk, run.job_id
    runner.save("training")
    runner.see_through([c["jobs"]["train"] for c in cells], "train")

    for cell in cells:
        if not cell["jobs"].get("generate"):
            final = Checkpoint.objects.filter(run_id=cell["run_id"], is_final=True).first()
            if final is None:
                raise JobError(f"run #{cell['run_id']} ({cell['key']}) finished without a final checkpoint")
            cell["checkpoint_id"] = final.pk
            cell["jobs"]["generate"] = launch_generation([final], volumes=TABLE3_VOLUMES, seeds=(0,),
                                                         enqueue=enqueue).pk
    runner.save("generating")
    runner.see_through([c["jobs"]["generate"] for c in cells], "generate")

    scoring = dict(metrics=plan["metrics"], classifier=p.classifier, class_map=p.class_map, splits=p.splits,
                   order=p.order, enqueue=enqueue)
    try:
        for cell in cells:
            if not cell["jobs"].get("evaluate"):
                checkpoint = Checkpoint.objects.get(pk=cell["checkpoint_id"])
                cell["jobs"]["evaluate"] = launch_evaluation(checkpoint=checkpoint, **scoring).pk
        if not plan["real"]["jobs"].get("evaluate"):
            plan["real"]["jobs"]["evaluate"] = launch_evaluation(dataset=dataset, split=p.upper_bound_split,
                                                                 **scoring).pk
    except EvaluationError as exc:
        raise JobError(f"cannot score: {exc}") from exc
    runner.save("scoring")
    runner.see_through([c["jobs"]["evaluate"] for c in cells] + [plan["real"]["jobs"]["evaluate"]], "evaluate")
    runner.save("done")
    return {"plan": plan, "children": total}
