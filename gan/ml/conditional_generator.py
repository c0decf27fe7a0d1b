"""Row h's generator: upsample + 3x3 convolutions, the sound in a conditional BatchNorm at every block.

Two changes to the paper's generator (gan/ml/networks.py), each for a measured failure of it on our
data:

* **No transposed convolutions.** A 5x5 stride-2 transposed conv paints a checkerboard whenever its
  kernel overlaps unevenly (Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts",
  Distill 2016); our 2-CPU generators drew exactly that. Each block here is nearest-neighbour
  upsampling then 3x3 convolutions, with a residual path (BigGAN's block, Brock et al. 2019).
* **The sound at every scale.** The paper feeds the sound once, into the first linear layer, and
  later layers can forget it. Conditional BatchNorm (de Vries et al. 2017; Miyato & Koyama 2018 for
  GANs) sets every BatchNorm's gain and bias from an embedding of the sound and z, so every block
  knows what it is drawing.

Widths: 8w at 4x4, halving per block (as in the paper's generator) down to w/2 at full resolution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .networks import BASE_SIZE, SoundStandardizer, _upsampling_layers, check_generator_inputs
from .variants import ModelConfig

CONDITION_DIM = 128        # the shared embedding of (sound, z) every conditional BN reads


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine; gain 1 + f(c) and bias g(c) from the condition c."""

    def __init__(self, channels: int, condition_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(condition_dim, channels)
        self.bias = nn.Linear(condition_dim, channels)
        for layer in (self.gain, self.bias):      # start as plain BatchNorm: gain 1, bias 0
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain = 1.0 + self.gain(condition)[:, :, None, None]
        return self.norm(x) * gain + self.bias(condition)[:, :, None, None]


class UpBlock(nn.Module):
    """CBN-ReLU-upsample-conv3x3-CBN-ReLU-conv3x3, plus an upsampled 1x1 shortcut."""

    def __init__(self, in_ch: int, out_ch: int, condition_dim: int):
        super().__init__()
        self.norm1 = ConditionalBatchNorm(in_ch, condition_dim)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm2 = ConditionalBatchNorm(out_ch, condition_dim)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, condition)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), condition)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ConditionalGenerator(nn.Module):
    """Sound vector (+ noise) -> image in [-1, 1]; the same interface as networks.Generator."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.sound_norm = SoundStandardizer(cfg.sound_dim)
        n_up = _upsampling_layers(cfg.image_size)
        # 8w 4w 2w w w/2 at 64 px: the last block runs at full resolution, where 3x3 convs cost the most.
        widths = [max(cfg.g_width * 2 ** (n_up - 1 - i), 1) if i < n_up else max(cfg.g_width // 2, 1)
                  for i in range(n_up + 1)]
        self.top_channels = widths[0]
        self.embed = nn.Sequential(nn.Linear(cfg.sound_dim + cfg.z_dim, CONDITION_DIM), nn.ReLU(inplace=True))
        self.fc = nn.Linear(CONDITION_DIM, BASE_SIZE * BASE_SIZE * widths[0])
        self.blocks = nn.ModuleList(UpBlock(widths[i], widths[i + 1], CONDITION_DIM) for i in range(n_up))
        self.out_norm = nn.BatchNorm2d(widths[-1])
        self.out = nn.Conv2d(widths[-1], cfg.channels, 3, padding=1)

    def forward(self, sound: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        check_generator_inputs(self.cfg, sound, z)
        s = self.sound_norm(sound)
        if self.cfg.z_dim:
            s = torch.cat([s, z.to(s.dtype)], dim=1)
        condition = self.embed(s)
        h = self.fc(condition).view(-1, self.top_channels, BASE_SIZE, BASE_SIZE)
        for block in self.blocks:
            h = block(h, condition)
        return torch.tanh(self.out(F.relu(self.out_norm(h))))
