import math

import pytest
import torch

from gan.ml import losses
from gan.ml.variants import VARIANTS

REAL = torch.tensor([2.0, 0.5])
FAKE = torch.tensor([-2.0, 0.0])
WRONG = torch.tensor([1.0, -0.5])


def _softplus(x):
    return math.log1p(math.exp(x))


def test_hinge_losses_by_hand():
    # real: max(0, 1-2)=0, max(0, 1-0.5)=0.5 -> 0.25 ; fake: max(0, 1-2)=0, max(0, 1+0)=1 -> 0.5
    assert losses.hinge_d_loss(REAL, FAKE).item() == pytest.approx(0.75)
    # wrong: max(0, 2)=2, max(0, 0.5)=0.5 -> 1.25 ; negatives averaged: (0.5 + 1.25)/2
    assert losses.hinge_d_loss(REAL, FAKE, WRONG).item() == pytest.approx(0.25 + 0.875)
    assert losses.hinge_g_loss(FAKE).item() == pytest.approx(1.0)


def test_gan_cls_losses_by_hand():
    # -log sigmoid(x) = softplus(-x); -log(1 - sigmoid(x)) = softplus(x)
    real = (_softplus(-2.0) + _softplus(-0.5)) / 2
    fake = (_softplus(-2.0) + _softplus(0.0)) / 2
    wrong = (_softplus(1.0) + _softplus(-0.5)) / 2
    assert losses.gan_cls_d_loss(REAL, FAKE).item() == pytest.approx(real + fake)
    assert losses.gan_cls_d_loss(REAL, FAKE, WRONG).item() == pytest.approx(real + 0.5 * (fake + wrong))
    assert losses.gan_cls_g_loss(FAKE).item() == pytest.approx((_softplus(2.0) + _softplus(0.0)) / 2)


def test_wgan_critic_loss_by_hand():
    # 0.5 D(wrong) + 0.5 D(fake) - D(real) = 0.5*0.25 + 0.5*(-1) - 1.25
    assert losses.wgan_d_loss(REAL, FAKE, WRONG).item() == pytest.approx(0.125 - 0.5 - 1.25)
    assert losses.wgan_d_loss(REAL, FAKE).item() == pytest.approx(-1.0 - 1.25)
    assert losses.wgan_g_loss(FAKE).item() == pytest.approx(1.0)


def test_gradient_penalty_of_a_linear_critic():
    # D(x, s) = sum(w * x): the gradient is w everywhere, so the penalty is lambda (|w| - 1)^2.
    w = torch.full((1, 2, 2), 1.5)          # |w| = 3
    critic = lambda x, s: (x * w).flatten(1).sum(1)
    real, fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
    gp = losses.gradient_penalty(critic, real, fake, torch.zeros(4, 1), torch.rand(4), weight=20.0)
    assert gp.item() == pytest.approx(20.0 * (3.0 - 1.0) ** 2)


def test_gradient_penalty_is_differentiable_wrt_critic_parameters():
    w = torch.full((1, 2, 2), 1.5, requires_grad=True)
    critic = lambda x, s: (x * w).flatten(1).sum(1)
    gp = losses.gradient_penalty(critic, torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2), None,
                                 torch.rand(3), weight=1.0)
    gp.backward()
    # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w| = 2 * 2 * 1.5 / 3 = 2
    assert torch.allclose(w.grad, torch.full_like(w, 2.0))


def test_auxiliary_loss_is_cross_entropy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    labels = torch.tensor([0, 1])
    expected = (-math.log(math.exp(2) / (math.exp(2) + 1)) + math.log(2)) / 2
    assert losses.auxiliary_loss(logits, labels).item() == pytest.approx(expected)


def test_dispatch_by_variant():
    assert losses.discriminator_adversarial_loss(VARIANTS["g"], REAL, FAKE).item() == pytest.approx(0.75)
    assert losses.discriminator_adversarial_loss(VARIANTS["e"], REAL, FAKE, WRONG).item() == pytest.approx(1.125)
    assert losses.generator_adversarial_loss(VARIANTS["c"], FAKE).item() == pytest.approx(
        losses.gan_cls_g_loss(FAKE).item())
    # Row (g) has no mismatched term: a given wrong score is ignored.
    assert losses.discriminator_adversarial_loss(VARIANTS["g"], REAL, FAKE, WRONG).item() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="matching-aware"):
        losses.discriminator_adversarial_loss(VARIANTS["c"], REAL, FAKE)
