"""The one device rule: the device asked for, else CUDA when present, else the CPU.

Decided at call time, never at import (a worker forked before CUDA initialised must not inherit a
choice); every job, trainer and classifier asks here.
"""
from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """`device` as a torch.device; None: CUDA when present, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
