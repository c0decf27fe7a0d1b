"""Differentiable augmentation of every image a discriminator sees (DiffAugment).

Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN Training"
(NeurIPS 2020): with few training images D memorises them and G's gradient collapses; augmenting
only the real images teaches G to draw the augmentations. Applying the *same family* of random,
differentiable transforms to real and fake images in every D call (D's step and G's step alike)
keeps D from memorising while G still receives gradients through the transforms.

Three policies, as in the paper: ``translation`` (shift by up to 1/8 of the side, zero padding),
``cutout`` (one zeroed square of half the side, placed anywhere) and ``color`` (brightness +-0.5,
saturation x[0, 2], contrast x[0.5, 1.5]). The authors' class-conditional scripts use translation
and cutout only; colour is optional here because colour is class evidence in our data (a brass
trumpet is yellow).

Images are NCHW in [-1, 1]. All randomness comes from a caller-owned ``torch.Generator`` so a
resumed run continues exactly. Written here (not taken from the authors' repository): each transform
is a few tensor operations.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(n: int, generator: torch.Generator, device: torch.device, low: float, high: float) -> torch.Tensor:
    return (torch.rand(n, 1, 1, 1, generator=generator) * (high - low) + low).to(device)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    n, device = x.shape[0], x.device
    x = x + _uniform(n, generator, device, -0.5, 0.5)                        # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _uniform(n, generator, device, 0.0, 2.0) + mean        # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(n, generator, device, 0.5, 1.5) + mean     # contrast


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side in x and y; vacated pixels are zero (grey)."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(-sx, sx + 1, (n,), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device)[None, :] - dy[:, None]         # source row of each output row
    cols = torch.arange(w, device=x.device)[None, :] - dx[:, None]
    padded = F.pad(x, (1, 1, 1, 1))                                          # index 0 / -1 are the zeros
    rows = (rows + 1).clamp(0, h + 1)
    cols = (cols + 1).clamp(0, w + 1)
    batch = torch.arange(n, device=x.device)[:, None, None]
    # gather per sample: padded[b, :, rows[b, i], cols[b, j]]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero one square of ``ratio`` of the side per image, centred anywhere (it may cross the edge)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n,), generator=generator).to(x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n,), generator=generator).to(x.device)
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    inside_y = (ys >= (cy - ch // 2)[:, None]) & (ys < (cy - ch // 2 + ch)[:, None])
    inside_x = (xs >= (cx - cw // 2)[:, None]) & (xs < (cx - cw // 2 + cw)[:, None])
    mask = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return x * mask[:, None].to(x.dtype)


_TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def check_policy(policy: Sequence[str]) -> None:
    unknown = [p for p in policy if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; valid: {', '.join(POLICIES)}")


def diff_augment(x: torch.Tensor, policy: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Apply the policies in the canonical order (colour, translation, cutout); () returns x itself."""
    for name in POLICIES:
        if name in policy:
            x = _TRANSFORMS[name](x, generator)
    return x
