"""Adversarial and auxiliary losses of the Table 4 rows, as pure functions of discriminator outputs.

Naming: ``real`` = D(real image, its own sound), ``wrong`` = D(real image, a sound of another class)
(Reed et al.'s mismatched pair), ``fake`` = D(G(sound, z), sound). All are raw scores (logits).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .variants import Variant


# --- hinge (the paper's Eq. 2 and Eq. 1) ------------------------------------------------------------
def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor, wrong: torch.Tensor | None = None) -> torch.Tensor:
    """E[max(0, 1 - D(real))] + E[max(0, 1 + D(fake))]; with mismatched pairs the negative term is the
    mean of the fake and the wrong-sound hinge, as GAN-CLS splits its negatives."""
    negative = F.relu(1.0 + fake).mean()
    if wrong is not None:
        negative = 0.5 * (negative + F.relu(1.0 + wrong).mean())
    return F.relu(1.0 - real).mean() + negative


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """-E[D(G(s, z), s)]."""
    return -fake.mean()


# --- GAN-CLS (Reed et al. 2016, matching-aware sigmoid cross-entropy) -------------------------------
def gan_cls_d_loss(real: torch.Tensor, fake: torch.Tensor, wrong: torch.Tensor | None = None) -> torch.Tensor:
    """-log s_r - (log(1 - s_w) + log(1 - s_f)) / 2, with s = sigmoid(score)."""
    positive = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    negative = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    if wrong is not None:
        negative = 0.5 * (negative + F.binary_cross_entropy_with_logits(wrong, torch.zeros_like(wrong)))
    return positive + negative


def gan_cls_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -log sigmoid(D(G(s, z), s))."""
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


# --- WGAN-GP (Gulrajani et al.), in the authors' conditional form ------------------------------------
def wgan_d_loss(real: torch.Tensor, fake: torch.Tensor, wrong: torch.Tensor | None = None) -> torch.Tensor:
    """Critic loss 0.5 E[D(wrong)] + 0.5 E[D(fake)] - E[D(real)] (without wrong: E[D(fake)] - E[D(real)]).
    The gradient penalty is added separately (:func:`gradient_penalty`)."""
    negative = fake.mean() if wrong is None else 0.5 * wrong.mean() + 0.5 * fake.mean()
    return negative - real.mean()


def wgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def gradient_penalty(critic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, sound: torch.Tensor, alpha: torch.Tensor, weight: float) -> torch.Tensor:
    """weight * E[(||grad_x D(x_hat, s)||_2 - 1)^2] at x_hat = alpha real + (1 - alpha) fake.

    ``alpha`` (shape (B,), uniform in [0, 1]) is passed in so the caller owns the randomness (exact resume).
    """
    a = alpha.to(real.dtype).view(-1, *([1] * (real.ndim - 1)))
    mixed = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    scores = critic(mixed, sound)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grad.float().flatten(1).norm(2, dim=1)
    return weight * ((norms - 1.0) ** 2).mean()


# --- auxiliary classifier (Odena et al.) --------------------------------------------------------------
def auxiliary_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-E[log P_C(c | x)]: cross-entropy of the auxiliary classifier (in float32 for stability)."""
    return F.cross_entropy(logits.float(), labels)


# --- dispatch by variant ------------------------------------------------------------------------------
_D_LOSSES = {"hinge": hinge_d_loss, "gan-cls": gan_cls_d_loss, "wgan-gp": wgan_d_loss}
_G_LOSSES = {"hinge": hinge_g_loss, "gan-cls": gan_cls_g_loss, "wgan-gp": wgan_g_loss}


def discriminator_adversarial_loss(variant: Variant, real: torch.Tensor, fake: torch.Tensor,
                                   wrong: torch.Tensor | None = None) -> torch.Tensor:
    """The variant's D loss without penalty or auxiliary term; ``wrong`` only where the variant uses it."""
    if variant.use_mismatched and wrong is None:
        raise ValueError(f"variant {variant.name!r} is matching-aware and needs D's scores on mismatched pairs")
    return _D_LOSSES[variant.loss](real.float(), fake.float(), wrong.float() if variant.use_mismatched else None)


def generator_adversarial_loss(variant: Variant, fake: torch.Tensor) -> torch.Tensor:
    return _G_LOSSES[variant.loss](fake.float())
