import pytest
import torch
from torch import nn

from gan.ml.architectures import build_networks
from gan.ml.networks import Discriminator, Generator
from gan.ml.variants import VARIANTS, ModelConfig


def _cfg(size=32, channels=3, z_dim=10, **kw):
    return ModelConfig(sound_dim=12, num_classes=4, z_dim=z_dim, image_size=size, channels=channels,
                       g_width=4, d_width=4, embed_dim=8, **kw)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_shapes_for_every_variant_size_and_colour(size, channels, name):
    torch.manual_seed(0)
    cfg = _cfg(size, channels)
    projected = VARIANTS[name].discriminator == "projected"
    if projected and channels == 1:
        with pytest.raises(ValueError, match="RGB"):      # ImageNet features need colour images
            build_networks(cfg, VARIANTS[name])
        return
    G, D = build_networks(cfg, VARIANTS[name])
    sound, z = torch.randn(5, 12), torch.randn(5, 10)
    image = G(sound, z)
    assert image.shape == (5, channels, size, size)
    assert image.min() >= -1 and image.max() <= 1
    score, logits = D(image, sound)
    # The paper's D gives one score per image, the projected D one per patch of each scale.
    assert score.shape[0] == 5 and (score.ndim == 2 if projected else score.shape == (5,))
    assert (logits.shape == (5, 4)) if VARIANTS[name].aux_classifier else logits is None


def test_generator_layer_counts_match_the_paper():
    g64 = Generator(ModelConfig(sound_dim=256, num_classes=9, g_width=200))
    deconvs = [m for m in g64.modules() if isinstance(m, nn.ConvTranspose2d)]
    # 4x4x1600 -> 8x8x800 -> 16x16x400 -> 32x32x200 -> 64x64x3, 5x5 kernels (the released code).
    assert [(m.in_channels, m.out_channels, m.kernel_size) for m in deconvs] == [
        (1600, 800, (5, 5)), (800, 400, (5, 5)), (400, 200, (5, 5)), (200, 3, (5, 5))]
    assert g64.fc.in_features == 266     # 256-d SoundNet feature + 10-d z, the paper's input size
    assert Generator(ModelConfig(sound_dim=256, num_classes=9, z_dim=0)).fc.in_features == 256
    g32 = Generator(_cfg(32))
    assert len([m for m in g32.modules() if isinstance(m, nn.ConvTranspose2d)]) == 3


def test_generator_without_noise_is_deterministic_and_checks_inputs():
    G = Generator(_cfg(z_dim=0)).eval()
    s = torch.randn(3, 12)
    assert torch.equal(G(s), G(s))
    with pytest.raises(ValueError, match=r"sound vectors of shape \(B, 12\)"):
        G(torch.randn(3, 11))
    with pytest.raises(ValueError, match=r"z of shape \(3, 10\)"):
        Generator(_cfg())(s)


def _top_singular_values(D):
    values = []
    for module in D.modules():
        if hasattr(module, "parametrizations"):
            w = module.weight           # the normalised weight, as used in forward
            values.append(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item())
    return values


def test_spectral_norm_really_bounds_the_largest_singular_value():
    torch.manual_seed(0)
    cfg = _cfg(32, 3)
    D = Discriminator(cfg, VARIANTS["g"]).train()
    with torch.no_grad():
        for module in D.modules():
            if hasattr(module, "parametrizations"):
                module.parametrizations.weight.original.mul_(25.0)   # a raw weight far from norm 1
        for _ in range(60):                 # power iteration runs once per training forward
            D(torch.randn(4, 3, 32, 32), torch.randn(4, 12))
    values = _top_singular_values(D)
    assert len(values) == 3 + 4           # 3 convs at 32x32, phi, out, sound projection, aux
    assert values == pytest.approx([1.0] * len(values), abs=0.02)
    plain = Discriminator(cfg, VARIANTS["c"])
    assert not any(hasattr(m, "parametrizations") for m in plain.modules())


def test_projection_score_is_linear_head_plus_inner_product():
    torch.manual_seed(1)
    D = Discriminator(_cfg(), VARIANTS["f"]).eval()
    x, s = torch.randn(2, 3, 32, 32), torch.randn(2, 12)
    score, _ = D(x, s)
    phi = nn.functional.leaky_relu(D.phi(D.conv(x).flatten(1)), 0.2)
    expected = D.out(phi).squeeze(1) + (D.sound_projection(s) * phi).sum(1)
    assert torch.allclose(score, expected, atol=1e-6)
    # The match term is linear in the sound: doubling s doubles its contribution.
    doubled, _ = D(x, 2 * s)
    assert torch.allclose(doubled - score, (D.sound_projection(s) * phi).sum(1), atol=1e-5)


def test_concat_head_depends_on_the_sound():
    torch.manual_seed(2)
    D = Discriminator(_cfg(), VARIANTS["e"]).eval()
    x = torch.randn(2, 3, 32, 32)
    a, _ = D(x, torch.randn(2, 12))
    b, _ = D(x, torch.randn(2, 12))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match=r"images of shape \(B, 3, 32, 32\)"):
        D(torch.randn(2, 1, 32, 32), torch.randn(2, 12))
