"""Every random stream a training run draws from, as a checkpoint stores it, so a run stopped at
step N and resumed continues exactly as a straight run would.

The trainer's own two generators (batches, mismatched sounds, flips, z, the gradient-penalty mix;
DiffAugment's stream) carry almost all of it; torch's, numpy's and Python's global states are kept
too, for anything a library draws behind the trainer's back. Stored as plain lists and tensors, so
the checkpoint loads with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import random

import numpy as np
import torch


def capture(noise: torch.Generator, augment_noise: torch.Generator, device: torch.device) -> dict:
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    return {"noise": noise.get_state(), "augment": augment_noise.get_state(), "torch_cpu": torch.get_rng_state(),
            "torch_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
            "numpy": [x.tolist() if isinstance(x, np.ndarray) else x for x in numpy_state],
            "python": [python_state[0], list(python_state[1]), python_state[2]]}


def restore(rng: dict, noise: torch.Generator, augment_noise: torch.Generator, device: torch.device) -> None:
    """Put back what `capture` stored (a checkpoint from before DiffAugment has no 'augment' stream)."""
    noise.set_state(rng["noise"])
    if "augment" in rng:
        augment_noise.set_state(rng["augment"])
    torch.set_rng_state(rng["torch_cpu"])
    if device.type == "cuda" and rng.get("torch_cuda"):
        torch.cuda.set_rng_state_all(rng["torch_cuda"])
    np.random.set_state(tuple(np.array(x, dtype=np.uint32) if i == 1 else x for i, x in enumerate(rng["numpy"])))
    random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))
