"""Model selection by validation: which checkpoint is a run's result, and when a run has converged.

A run with ``validate_every`` scores its generator every that many iterations (higher is better);
the best score beyond ``min_delta`` is the result, and with ``patience`` the run stops once that many
validations in a row brought no improvement. The record is a plain dict (it goes into every
checkpoint): best score, its step, validations since it, and every (step, score).
"""
from __future__ import annotations

from typing import Any


def new_record() -> dict[str, Any]:
    return {"best": None, "best_step": None, "stale": 0, "history": []}


def record_score(record: dict[str, Any], step: int, score: float, min_delta: float) -> bool:
    """Add one validation; True when it is a new best (an improvement beyond min_delta)."""
    record["history"].append([step, score])
    improved = record["best"] is None or score > record["best"] + min_delta
    if improved:
        record["best"], record["best_step"], record["stale"] = score, step, 0
    else:
        record["stale"] += 1
    return improved


def converged(record: dict[str, Any], patience: int) -> bool:
    """With a patience, whether that many validations in a row brought no improvement."""
    return bool(patience) and record["stale"] >= patience


def summary(record: dict[str, Any], patience: int) -> dict[str, Any]:
    """The result's step and score, and whether the run was still improving at its cap: the best
    score came in the last `patience` (or 2) validations."""
    history = record["history"]
    window = max(patience, 2)
    improving = bool(history) and record["best_step"] in [step for step, _ in history[-window:]]
    return {"best_step": record["best_step"], "best_score": record["best"], "validations": len(history),
            "validation_history": history, "improving_at_end": improving}
