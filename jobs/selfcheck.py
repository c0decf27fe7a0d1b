"""A built-in job kind that exercises the engine with real numeric work, before any GAN exists.

It runs power iteration on a seeded random symmetric matrix, one iteration per step, and reports
the eigenvalue estimate against numpy's exact answer. Steps can be slowed down to watch progress,
cancel it, or kill its worker.
"""
import time
from dataclasses import dataclass

import numpy as np

from .context import JobContext
from .registry import register_kind


@dataclass
class SelfCheckParams:
    steps: int = 50
    step_seconds: float = 0.1
    size: int = 64
    seed: int = 0
    fail_at_step: int = -1  # >= 0 raises at that step, to see how a failure is recorded

    def __post_init__(self):
        if not 1 <= self.steps <= 1_000_000:
            raise ValueError("steps must be between 1 and 1,000,000")
        if not 0 <= self.step_seconds <= 60:
            raise ValueError("step_seconds must be between 0 and 60")
        if not 2 <= self.size <= 2048:
            raise ValueError("size must be between 2 and 2048")


def run_selfcheck(ctx: JobContext, p: SelfCheckParams) -> dict:
    rng = np.random.default_rng(p.seed)
    a = rng.standard_normal((p.size, p.size))
    matrix = a @ a.T  # symmetric positive semi-definite: power iteration converges
    exact = float(np.linalg.eigvalsh(matrix)[-1])
    vector = np.ones(p.size) / np.sqrt(p.size)
    estimate = 0.0
    for step in range(1, p.steps + 1):
        if step == p.fail_at_step:
            raise RuntimeError(f"deliberate failure at step {step} (fail_at_step)")
        w = matrix @ vector
        estimate = float(vector @ w)
        vector = w / np.linalg.norm(w)
        if p.step_seconds:
            ctx_sleep(ctx, p.step_seconds)
        ctx.progress(step, p.steps, metrics={"estimate": estimate, "exact": exact},
                     message=f"step {step}/{p.steps}")
    error = abs(estimate - exact) / exact
    ctx.log(f"largest eigenvalue {estimate:.6g} vs exact {exact:.6g} (relative error {error:.2e})")
    return {"estimate": estimate, "exact": exact, "relative_error": error}


def ctx_sleep(ctx: JobContext, seconds: float) -> None:
    """Sleep in small slices so a cancel is noticed within a fraction of a step."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))
        ctx.check_cancelled()


register_kind("selfcheck", run=run_selfcheck, queue="cpu", params=SelfCheckParams,
              label="Self-check (power iteration)")
