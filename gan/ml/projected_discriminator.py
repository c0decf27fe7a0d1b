"""A projected discriminator: small trainable heads on frozen pretrained features (row h).

Sauer, Chitta, Müller & Geiger, "Projected GANs Converge Faster" (NeurIPS 2021). A discriminator
trained from scratch on a few hundred images needs most of its budget to learn what an image is;
projecting real and fake images into the feature space of a frozen ImageNet network gives it that
knowledge for free. Three parts matter, and all three are here:

* **Several scales.** Features of four stages of EfficientNet-Lite1 (frozen, eval mode), from
  texture (stride 4) to object parts (stride 32), each judged by its own head.
* **Fixed random mixing.** Cross-channel mixing (CCM): a random 1x1 conv per stage; cross-scale mixing
  (CSM): coarse-to-fine, each deeper mixed map is upsampled and added to the next shallower one, then
  a random 3x3 conv. Both are drawn once and never trained: they spread the pretrained information
  over all channels so no head can rely on a few dominant features (without them the paper's D, and
  our first attempt, collapsed G to one image per class).
* **Small spectrally normalised heads** per scale, each down to a few patches, with a per-patch
  projection on the sound (Miyato & Koyama's projection discriminator, as in rows f and g): the logit
  of a patch is ``w . h + <W s, h> / sqrt(d)``.

Loss: hinge on every patch logit of every scale (the trainer averages them). The feature network is
Lite1; the judges of realism and class consistency are Lite0 and the dataset's own classifier, never
the network D trains on (Kynkäänniemi et al., ICLR 2023, show that judges sharing D's features are
inflated).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .classifiers.efficientnet_lite import INPUT_MEAN, INPUT_STD, load_lite_network
from .networks import LEAK, SoundStandardizer
from .variants import ModelConfig, Variant

FEATURE_STAGES = (1, 2, 4, 5)          # of EfficientNet-Lite's 7 stages: strides 4, 8, 16, 32
MIX_CHANNELS = (64, 128, 256, 512)     # CCM output per scale (Sauer et al.'s cout * 2^i, cout = 64)
HEAD_CHANNELS = 64                     # the per-patch embedding a head projects the sound onto
MIN_PATCHES = 4                        # heads downsample to this side (or stay, if already below)
MIX_SEED = 20211206                    # CCM/CSM are random but the same for every run (part of the recipe)


class FeatureNetwork(nn.Module):
    """Frozen EfficientNet-Lite stages + the fixed random CCM/CSM; images in [-1, 1] at any size."""

    def __init__(self, network: str = "efficientnet-lite1", input_size: int = 64, device: str | torch.device | None = "cpu"):
        super().__init__()
        self.input_size = input_size
        self.backbone = load_lite_network(network.removeprefix("efficientnet-"), device="cpu")
        stage_channels = [self._stage_channels(s) for s in FEATURE_STAGES]
        rng = torch.Generator().manual_seed(MIX_SEED)
        self.ccm = nn.ModuleList(nn.Conv2d(c, m, 1) for c, m in zip(stage_channels, MIX_CHANNELS))
        # CSM: the mixed map at scale i (after adding the upsampled coarser one) goes through a 3x3
        # conv whose output has scale i-1's width, so it can be added to the next shallower map.
        self.csm = nn.ModuleList(nn.Conv2d(MIX_CHANNELS[i], MIX_CHANNELS[max(i - 1, 0)], 3, padding=1)
                                 for i in range(len(MIX_CHANNELS)))
        for conv in (*self.ccm, *self.csm):
            # Kaiming-uniform like torch's default, drawn from our own generator so the mixing is the
            # same on every machine and every run.
            bound = 1.0 / math.sqrt(conv.weight[0].numel())
            with torch.no_grad():
                conv.weight.copy_(torch.rand(conv.weight.shape, generator=rng) * 2 * bound - bound)
                conv.bias.copy_(torch.rand(conv.bias.shape, generator=rng) * 2 * bound - bound)
        self.requires_grad_(False)
        self.eval()
        self.out_channels = [MIX_CHANNELS[max(i - 1, 0)] for i in range(len(MIX_CHANNELS))]
        self.to(device)

    def _stage_channels(self, stage: int) -> int:
        return self.backbone._blocks[self.backbone.stage_ends[stage]]._project_conv.out_channels

    def train(self, mode: bool = True):
        # Frozen: BatchNorm keeps its ImageNet statistics whatever the trainer asks for.
        return super().train(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        # [-1, 1] -> the Lite models' (x - 127) / 128 on 0..255.
        x = ((images + 1.0) * 127.5 - INPUT_MEAN) / INPUT_STD
        if x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        mixed = [ccm(f) for ccm, f in zip(self.ccm, self.backbone.stage_features(x, FEATURE_STAGES))]
        out: list[torch.Tensor] = [None] * len(mixed)   # type: ignore[list-item]
        carry = None
        for i in reversed(range(len(mixed))):
            h = mixed[i] if carry is None else mixed[i] + F.interpolate(carry, size=mixed[i].shape[-2:],
                                                                        mode="bilinear", align_corners=False)
            carry = self.csm[i](h)
            out[i] = carry
        return out


class PatchHead(nn.Module):
    """One scale's discriminator: SN 4x4 stride-2 convs down to MIN_PATCHES, then per-patch logits
    with a projection on the sound."""

    def __init__(self, in_channels: int, spatial: int, embed_dim: int):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        while spatial > MIN_PATCHES:
            out = min(channels * 2, 256) if layers else min(channels, 256)
            layers += [spectral_norm(nn.Conv2d(channels, out, 4, stride=2, padding=1)), nn.LeakyReLU(LEAK, inplace=True)]
            channels, spatial = out, spatial // 2
        layers += [spectral_norm(nn.Conv2d(channels, HEAD_CHANNELS, 3, padding=1)), nn.LeakyReLU(LEAK, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.out = spectral_norm(nn.Conv2d(HEAD_CHANNELS, 1, 1))
        self.sound_projection = spectral_norm(nn.Linear(embed_dim, HEAD_CHANNELS, bias=False))

    def forward(self, features: torch.Tensor, sound_embedding: torch.Tensor) -> torch.Tensor:
        h = self.body(features)
        projection = (h * self.sound_projection(sound_embedding)[:, :, None, None]).sum(dim=1, keepdim=True)
        return (self.out(h) + projection / math.sqrt(HEAD_CHANNELS)).flatten(1)   # (B, patches)


class ProjectedDiscriminator(nn.Module):
    """(image, sound) -> (patch logits of every scale, concatenated (B, P), None): the trainer's D
    interface, with no auxiliary classifier."""

    def __init__(self, cfg: ModelConfig, variant: Variant):
        super().__init__()
        if cfg.channels != 3:
            raise ValueError("the projected discriminator's ImageNet features need RGB images (channels = 3)")
        self.cfg, self.variant = cfg, variant
        self.sound_norm = SoundStandardizer(cfg.sound_dim)
        # Not a submodule: the frozen network is rebuilt from its package and MIX_SEED, so it is kept
        # out of state_dict() (checkpoints stay small) and out of parameters() (no optimiser state).
        self.__dict__["features"] = FeatureNetwork(variant.feature_network, input_size=variant.feature_input_size)
        with torch.no_grad():
            sizes = [f.shape[-1] for f in self.features(torch.zeros(1, 3, cfg.image_size, cfg.image_size))]
        self.sound_embed = nn.Sequential(spectral_norm(nn.Linear(cfg.sound_dim, cfg.embed_dim)),
                                         nn.LeakyReLU(LEAK, inplace=True))
        self.heads = nn.ModuleList(PatchHead(c, s, cfg.embed_dim) for c, s in zip(self.features.out_channels, sizes))

    def _apply(self, fn, *args, **kwargs):
        self.features._apply(fn)            # .to(device / memory format) reaches the frozen network too
        return super()._apply(fn, *args, **kwargs)

    def forward(self, image: torch.Tensor, sound: torch.Tensor) -> tuple[torch.Tensor, None]:
        embedding = self.sound_embed(self.sound_norm(sound))
        logits = [head(f, embedding) for head, f in zip(self.heads, self.features(image))]
        return torch.cat(logits, dim=1), None
