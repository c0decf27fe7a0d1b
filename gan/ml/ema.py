"""An exponential moving average of the generator's weights, used for every image it makes.

Karras et al. (Progressive GANs, 2018) and Yazıcı et al. ("The Unusual Effectiveness of Averaging in
GAN Training", ICLR 2019): the generator's weights oscillate around a good solution as G and D chase
each other; their running average sits nearer it and draws cleaner, steadier images at no training
cost. Buffers (BatchNorm's running statistics, the sound standardiser) are copied, not averaged.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


def make_average(model: nn.Module) -> nn.Module:
    """A frozen copy to hold the average (starts equal to the model, in eval mode)."""
    average = copy.deepcopy(model).eval()
    average.requires_grad_(False)
    return average


def warmed_up_decay(decay: float, updates: int) -> float:
    """min(decay, (1 + n) / (10 + n)) after n updates, as TensorFlow's ExponentialMovingAverage does
    with num_updates: a fixed 0.999 would still weigh the random initial weights by 0.999^1000 = 37%
    after a thousand steps, which is all a CPU budget gives."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


@torch.no_grad()
def update_average(average: nn.Module, model: nn.Module, decay: float) -> None:
    """average = decay * average + (1 - decay) * model, for every parameter; buffers copied."""
    for avg_param, param in zip(average.parameters(), model.parameters()):
        avg_param.lerp_(param.detach(), 1.0 - decay)
    for avg_buffer, buffer in zip(average.buffers(), model.buffers()):
        avg_buffer.copy_(buffer)
