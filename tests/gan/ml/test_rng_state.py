"""Every random stream of a run (gan/ml/rng_state.py), captured and put back, draws the same numbers
again: the two generators of the trainer and torch's, numpy's and Python's global states."""
import random

import numpy as np
import torch

from gan.ml.rng_state import capture, restore

CPU = torch.device("cpu")


def _draws(noise, augment):
    return (torch.randn(3, generator=noise).tolist(), torch.rand(2, generator=augment).tolist(),
            torch.rand(2).tolist(), np.random.rand(2).tolist(), [random.random() for _ in range(2)])


def test_restoring_a_capture_replays_every_stream():
    noise, augment = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    _draws(noise, augment)  # not at the start of any stream
    state = capture(noise, augment, CPU)
    assert state["torch_cuda"] == [] and len(state["python"]) == 3
    first = _draws(noise, augment)
    assert _draws(noise, augment) != first
    restore(state, noise, augment, CPU)
    assert _draws(noise, augment) == first


def test_a_state_from_before_the_augment_stream_leaves_that_stream_alone():
    noise, augment = torch.Generator().manual_seed(5), torch.Generator().manual_seed(6)
    state = capture(noise, augment, CPU)
    del state["augment"]
    expected_noise = torch.randn(2, generator=noise).tolist()
    after = torch.rand(1, generator=augment).tolist()
    restore(state, noise, augment, CPU)
    assert torch.randn(2, generator=noise).tolist() == expected_noise
    assert torch.rand(1, generator=augment).tolist() != after  # it went on from where it was
