"""The paper's generator and the discriminators of every Table 4 row (pure PyTorch).

Generator: linear(sound [+ z]) -> 4x4x(8w) -> BN/ReLU -> 5x5 stride-2 transposed convs -> tanh.
Discriminator: 5x5 stride-2 convs (LeakyReLU 0.2) down to 4x4, then one of two heads:
  * 'concat' (Reed et al. GAN-CLS): the sound embedding is tiled over the 4x4 map, concatenated,
    mixed by a 1x1 conv and read out by a linear layer;
  * 'projection' (Miyato & Koyama): score = w.phi + <W s, phi> with phi the 128-d image embedding.
An auxiliary classifier linear(phi -> classes) is added when the variant asks for it.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .variants import ModelConfig, Variant

BASE_SIZE = 4            # spatial size of G's first feature map and of D's last one
KERNEL = 5
LEAK = 0.2


def _upsampling_layers(image_size: int) -> int:
    """Stride-2 layers between 4x4 and the image: 4 at 64x64 (the paper), 3 at 32x32."""
    return int(math.log2(image_size // BASE_SIZE))


class SoundStandardizer(nn.Module):
    """Per-dimension z-scoring of the sound vectors, with statistics of the training set.

    Raw features differ in scale by orders of magnitude (MFCC c0 is in the hundreds, SoundNet
    activations near 1); unscaled, the first linear layers see one huge input and the GAN ignores
    the rest of the sound. The statistics are buffers, so every checkpoint carries them and
    generation from raw features needs no extra step.

    Two guards keep sounds unlike the training set in range. A dimension that barely varies in
    training (a SoundNet channel that is dead on every training clip) gets a spread floor of
    ``SPREAD_FLOOR`` times the median spread of all dimensions instead of its own ~0: with a fixed
    1e-6 floor such a channel, once active on a louder or unfamiliar clip, became |z| ~ 1e7. And
    every z is clamped to +-``Z_CLAMP``, far outside what training data produces (|z| < 5 for
    nearly all of it), so no single input can saturate the first layer.
    """

    SPREAD_FLOOR = 0.1
    Z_CLAMP = 10.0

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    @torch.no_grad()
    def fit(self, features) -> None:
        x = torch.as_tensor(features, dtype=torch.float64)
        self.mean.copy_(x.mean(dim=0).to(self.mean.dtype))
        self.scale.copy_(robust_scale(x.std(dim=0, unbiased=False)).to(self.scale.dtype))

    def unclamped(self, sound: torch.Tensor) -> torch.Tensor:
        return (sound - self.mean.to(sound.dtype)) / self.scale.to(sound.dtype)

    def forward(self, sound: torch.Tensor) -> torch.Tensor:
        return self.unclamped(sound).clamp(-self.Z_CLAMP, self.Z_CLAMP)


def robust_scale(spread: torch.Tensor) -> torch.Tensor:
    """Per-dimension spreads with a floor relative to the typical spread: the median over the
    dimensions that vary at all (so a feature with many dead channels still gets a sensible floor).
    If every dimension is constant the floor is 1, so the vectors are only centred.
    """
    varying = spread[spread > 1e-12 * float(spread.max())] if spread.numel() and float(spread.max()) > 0 else spread[:0]
    floor = SoundStandardizer.SPREAD_FLOOR * float(varying.median()) if varying.numel() else 1.0
    return spread.clamp_min(floor)


def check_generator_inputs(cfg: ModelConfig, sound: torch.Tensor, z: torch.Tensor | None) -> None:
    """The shapes every generator takes: sound (B, sound_dim) and, when z_dim > 0, z (B, z_dim)."""
    if sound.ndim != 2 or sound.shape[1] != cfg.sound_dim:
        raise ValueError(f"Generator expects sound vectors of shape (B, {cfg.sound_dim}); got {tuple(sound.shape)}")
    if cfg.z_dim and (z is None or z.shape != (sound.shape[0], cfg.z_dim)):
        raise ValueError(f"Generator expects z of shape ({sound.shape[0]}, {cfg.z_dim}); "
                         f"got {None if z is None else tuple(z.shape)}")


class Generator(nn.Module):
    """Sound vector (+ noise) -> image in [-1, 1], shape (B, channels, image_size, image_size)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.sound_norm = SoundStandardizer(cfg.sound_dim)
        n_up = _upsampling_layers(cfg.image_size)
        top = cfg.g_width * 2 ** (n_up - 1)          # 8w at 64x64, 4w at 32x32
        self.fc = nn.Linear(cfg.sound_dim + cfg.z_dim, BASE_SIZE * BASE_SIZE * top, bias=False)
        self.fc_norm = nn.BatchNorm2d(top)
        self.top_channels = top
        blocks: list[nn.Module] = []
        channels = top
        for i in range(n_up):
            last = i == n_up - 1
            out = cfg.channels if last else channels // 2
            blocks.append(nn.ConvTranspose2d(channels, out, KERNEL, stride=2, padding=KERNEL // 2,
                                             output_padding=1, bias=last))
            if not last:
                blocks += [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        self.deconv = nn.Sequential(*blocks)

    def forward(self, sound: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        check_generator_inputs(self.cfg, sound, z)
        sound = self.sound_norm(sound)
        if self.cfg.z_dim:
            sound = torch.cat([sound, z.to(sound.dtype)], dim=1)
        h = self.fc(sound).view(-1, self.top_channels, BASE_SIZE, BASE_SIZE)
        h = torch.relu(self.fc_norm(h))
        return torch.tanh(self.deconv(h))


class Discriminator(nn.Module):
    """(image, sound) -> (score (B,), auxiliary class logits (B, classes) or None)."""

    def __init__(self, cfg: ModelConfig, variant: Variant):
        super().__init__()
        self.cfg, self.variant = cfg, variant
        self.sound_norm = SoundStandardizer(cfg.sound_dim)
        sn = spectral_norm if variant.spectral_norm else (lambda module: module)
        batch_norm = variant.d_norm == "batch"
        n_down = _upsampling_layers(cfg.image_size)
        layers: list[nn.Module] = []
        channels = cfg.channels
        for i in range(n_down):
            out = cfg.d_width * 2 ** i
            # No BN on the first layer (DCGAN / Reed et al.); bias is redundant before BN.
            use_bn = batch_norm and i > 0
            layers.append(sn(nn.Conv2d(channels, out, KERNEL, stride=2, padding=KERNEL // 2, bias=not use_bn)))
            if use_bn:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(LEAK, inplace=True))
            channels = out
        self.conv = nn.Sequential(*layers)
        self.feature_channels = channels
        flat = channels * BASE_SIZE * BASE_SIZE
        needs_phi = variant.head == "projection" or variant.aux_classifier
        self.phi = sn(nn.Linear(flat, cfg.embed_dim)) if needs_phi else None
        if variant.head == "projection":
            self.out = sn(nn.Linear(cfg.embed_dim, 1))
            self.sound_projection = sn(nn.Linear(cfg.sound_dim, cfg.embed_dim, bias=False))
        else:
            self.sound_embed = sn(nn.Linear(cfg.sound_dim, cfg.embed_dim))
            mix = [sn(nn.Conv2d(channels + cfg.embed_dim, channels, 1, bias=not batch_norm))]
            if batch_norm:
                mix.append(nn.BatchNorm2d(channels))
            mix.append(nn.LeakyReLU(LEAK, inplace=True))
            self.mix = nn.Sequential(*mix)
            self.out = sn(nn.Linear(flat, 1))
        self.aux = sn(nn.Linear(cfg.embed_dim, cfg.num_classes)) if variant.aux_classifier else None

    def forward(self, image: torch.Tensor, sound: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        expected = (self.cfg.channels, self.cfg.image_size, self.cfg.image_size)
        if image.ndim != 4 or tuple(image.shape[1:]) != expected:
            raise ValueError(f"Discriminator expects images of shape (B, {', '.join(map(str, expected))}); "
                             f"got {tuple(image.shape)}")
        if sound.shape != (image.shape[0], self.cfg.sound_dim):
            raise ValueError(f"Discriminator expects sounds of shape ({image.shape[0]}, {self.cfg.sound_dim}); "
                             f"got {tuple(sound.shape)}")
        sound = self.sound_norm(sound)
        features = self.conv(image)
        phi = None
        if self.phi is not None:
            phi = nn.functional.leaky_relu(self.phi(features.flatten(1)), LEAK)
        if self.variant.head == "projection":
            score = self.out(phi).squeeze(1) + (self.sound_projection(sound) * phi).sum(dim=1)
        else:
            embedded = nn.functional.leaky_relu(self.sound_embed(sound), LEAK)
            tiled = embedded[:, :, None, None].expand(-1, -1, features.shape[2], features.shape[3])
            mixed = self.mix(torch.cat([features, tiled.to(features.dtype)], dim=1))
            score = self.out(mixed.flatten(1)).squeeze(1)
        logits = self.aux(phi) if self.aux is not None else None
        return score, logits


def paper_initialisation(*networks: nn.Module) -> None:
    """DCGAN initialisation N(0, 0.02) of the paper's G and D, as in Reed et al. and the authors' code."""
    for module in (m for network in networks for m in network.modules()):
        # Spectrally normalised layers keep torch's default init: SN rescales them anyway, and
        # re-drawing the weight would leave the registered power-iteration vectors stale.
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and not hasattr(module, "parametrizations"):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d,)):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)

