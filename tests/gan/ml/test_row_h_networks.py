"""Row h's parts: the projected discriminator, the upsample + CBN generator, the weight average."""
import pytest
import torch

from gan.ml.checkpoint import latest_checkpoint, load_generator
from gan.ml.conditional_generator import ConditionalGenerator
from gan.ml.ema import make_average, update_average, warmed_up_decay
from gan.ml.architectures import build_networks
from gan.ml.projected_discriminator import ProjectedDiscriminator
from gan.ml.trainer import Trainer
from gan.ml.variants import VARIANTS, ConfigError, Variant

from .toy_pairs import tiny_model, tiny_train, toy_pairs


def test_the_projected_discriminator_trains_its_heads_only_and_saves_no_frozen_weights():
    cfg = tiny_model(channels=3)
    d = ProjectedDiscriminator(cfg, VARIANTS["h"])
    backbone = {k: v.clone() for k, v in d.features.state_dict().items()}
    assert not any(k.startswith("features") for k in d.state_dict())     # rebuilt, never stored
    assert all(p.requires_grad for p in d.parameters())                   # parameters() = the heads
    image = torch.rand(4, 3, 32, 32, requires_grad=True) * 2 - 1
    image.retain_grad()
    d.train()
    scores, logits = d(image, torch.randn(4, cfg.sound_dim))
    assert logits is None and scores.shape[0] == 4 and scores.shape[1] >= 4   # patch logits of 4 scales
    scores.mean().backward()
    assert image.grad.abs().sum() > 0                                     # G gets a gradient through it
    opt = torch.optim.Adam(d.parameters(), lr=0.1)
    opt.step()
    after = d.features.state_dict()
    assert all(torch.equal(backbone[k], after[k]) for k in backbone)      # weights and BN statistics


def test_the_projected_discriminator_needs_rgb_and_the_hinge_loss():
    with pytest.raises(ValueError, match="RGB"):
        ProjectedDiscriminator(tiny_model(channels=1), VARIANTS["h"])
    with pytest.raises(ConfigError, match="projected"):
        Variant.from_dict({**VARIANTS["h"].to_dict(), "aux_classifier": True})


def test_the_conditional_generator_draws_from_the_sound_at_every_block():
    cfg = tiny_model(channels=3, size=64)
    g = ConditionalGenerator(cfg).eval()
    sound, z = torch.randn(5, cfg.sound_dim), torch.randn(5, cfg.z_dim)
    with torch.no_grad():
        out = g(sound, z)
        assert out.shape == (5, 3, 64, 64) and out.abs().max() <= 1
        for block in g.blocks:                 # CBN starts as plain BatchNorm (gain 1, bias 0) ...
            assert block.norm1.gain.weight.abs().sum() == 0
            block.norm1.bias.weight.normal_()  # ... and, once learnt, the sound reaches each block
        changed = g(sound, z)
    assert not torch.equal(out, changed)
    with pytest.raises(ValueError, match="z of shape"):
        g(sound)


def test_the_weight_average_warms_up_and_tracks_the_model():
    assert warmed_up_decay(0.999, 0) == pytest.approx(0.1)
    assert warmed_up_decay(0.999, 1000) == pytest.approx(1001 / 1010)
    assert warmed_up_decay(0.999, 10 ** 6) == 0.999
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    average = make_average(model)
    with torch.no_grad():
        before = average[0].weight.clone()
        model[0].weight.add_(1.0)
        model[1].running_mean.fill_(3.0)
    update_average(average, model, 0.75)
    assert torch.allclose(average[0].weight, before + 0.25)
    assert torch.equal(average[1].running_mean, model[1].running_mean)    # buffers copied
    assert not average[0].weight.requires_grad


def test_row_h_resumes_exactly_and_its_checkpoint_serves_the_average(tmp_path):
    data, model = toy_pairs(channels=3), tiny_model(channels=3)
    straight = Trainer(model, "h", tiny_train(6, g_steps=1), data, tmp_path / "straight")
    straight.train()
    Trainer(model, "h", tiny_train(4, g_steps=1), data, tmp_path / "resumed").train()
    second = Trainer(model, "h", tiny_train(6, g_steps=1), data, tmp_path / "resumed")
    assert second.step == 4
    second.train()
    for a, b in ((straight.G, second.G), (straight.G_ema, second.G_ema), (straight.D, second.D)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert straight.history == second.history
    generator, info = load_generator(latest_checkpoint(tmp_path / "straight"))
    assert isinstance(generator, ConditionalGenerator) and info["variant"] == "h"
    ema = straight.G_ema.state_dict()
    assert all(torch.equal(v, ema[k]) for k, v in generator.state_dict().items())
    trained = straight.G.state_dict()
    assert any(not torch.equal(v, trained[k]) for k, v in ema.items() if v.is_floating_point())


def test_every_h_ablation_differs_from_h_in_exactly_its_part():
    h = VARIANTS["h"].to_dict()
    parts = {"h-proj": "discriminator", "h-cbn": "generator", "h-aug": "augment", "h-ema": "ema_decay",
             "h-noise": "sound_noise"}
    for name, part in parts.items():
        other = VARIANTS[name].to_dict()
        assert [k for k in h if h[k] != other[k] and k not in ("name", "title")] == [part]
    g, d = build_networks(tiny_model(channels=3), VARIANTS["h-cbn"])
    assert type(g).__name__ == "Generator" and isinstance(d, ProjectedDiscriminator)


def test_a_paper_checkpoints_variant_without_the_new_fields_still_loads():
    old = {k: v for k, v in VARIANTS["g"].to_dict().items()
           if k not in ("generator", "discriminator", "augment", "ema_decay", "sound_noise", "feature_network",
                        "feature_input_size")}
    assert Variant.from_dict(old) == VARIANTS["g"]
