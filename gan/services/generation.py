"""Generation: launch a `generate` job (images for sounds x checkpoints x volumes x seeds).

The job's body is gan/kinds/generate.py."""
from __future__ import annotations

from dataclasses import dataclass, field

from jobs.engine import create_job
from jobs.errors import JobError

from ..models import Checkpoint, Split
from ..selectors.datasets import usable_pairs
from . import limits

# The paper's Table 3: each test sound played at these volume factors (1.0 is the sound as recorded).
TABLE3_VOLUMES = (0.5, 1.0, 2.0, 3.0)


@dataclass
class GenerateParams:
    checkpoint_ids: list = field(default_factory=list)
    split: str = "test"
    volumes: list = field(default_factory=lambda: [1.0])
    seeds: list = field(default_factory=lambda: [0])
    clip: bool = True
    max_sounds: int = 0  # 0 = every sound of the split

    def __post_init__(self):
        if not self.checkpoint_ids or not all(isinstance(i, int) for i in self.checkpoint_ids):
            raise ValueError("checkpoint_ids must be a non-empty list of checkpoint ids")
        if self.split not in Split.values:
            raise ValueError(f"split must be one of {Split.values}")
        if not self.volumes or not all(isinstance(v, (int, float)) and 0 < v <= 100 for v in self.volumes):
            raise ValueError("volumes must be a non-empty list of factors in (0, 100]")
        if not self.seeds or not all(isinstance(s, int) and s >= 0 for s in self.seeds):
            raise ValueError("seeds must be a non-empty list of non-negative integers")
        if self.max_sounds < 0:
            raise ValueError("max_sounds must be >= 0")


def launch_generation(checkpoints, *, volumes=(1.0,), seeds=(0,), split="test", clip=True,
                      max_sounds=0, user=None, enqueue=True):
    ids = [c.pk for c in checkpoints]
    limits.check("the number of checkpoints", len(ids), "max_generate_checkpoints")
    found = list(Checkpoint.objects.filter(pk__in=ids).select_related("run__dataset"))
    missing = set(ids) - {c.pk for c in found}
    if missing:
        raise JobError(f"checkpoints {sorted(missing)} do not exist")
    # The job makes one image per distinct sound of the split, per checkpoint, volume and seed.
    sounds = max((usable_pairs(c.run.dataset, split).order_by().values("sound").distinct().count() for c in found), default=0)
    limits.check_generation(len(ids), list(volumes), list(seeds), min(sounds, max_sounds) if max_sounds else sounds)
    return create_job("generate", {"checkpoint_ids": ids, "volumes": [float(v) for v in volumes],
                                   "seeds": list(seeds), "split": split, "clip": clip,
                                   "max_sounds": max_sounds}, user=user, enqueue=enqueue)
