"""The `split_dataset` job: gan/services/splitting.py's split, as a job."""
from jobs.context import JobContext

from ..models import Dataset
from ..services.splitting import SplitParams, split_dataset


def run_split(ctx: JobContext, p: SplitParams) -> dict:
    summary = split_dataset(Dataset.objects.get(pk=p.dataset_id), test_fraction=p.test_fraction, seed=p.seed,
                            include_discarded=p.include_discarded)
    for warning in summary["warnings"]:
        ctx.log(f"warning: {warning}")
    ctx.progress(1, 1)
    return {k: v for k, v in summary.items() if k != "per_class"}
