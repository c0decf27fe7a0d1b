import json

import pytest

from gan.ml.variants import (PAPER_VARIANTS, VARIANTS, ConfigError, ModelConfig, TrainConfig, Variant, config_differences,
                             get_variant)


def test_presets_follow_table_4_cumulatively():
    assert list(VARIANTS)[:6] == list(PAPER_VARIANTS) == ["b", "c", "d", "e", "f", "g"]
    assert list(VARIANTS)[6:] == ["h", "h-proj", "h-cbn", "h-aug", "h-ema", "h-noise"]   # beyond the paper
    assert all(VARIANTS[k].generator == VARIANTS[k].discriminator == "paper" for k in PAPER_VARIANTS)
    b, c, d, e, f, g = (VARIANTS[k] for k in "bcdefg")
    assert (b.loss, b.gp_lambda, b.head, b.use_mismatched) == ("wgan-gp", 20.0, "concat", True)
    assert (c.loss, c.spectral_norm, c.head, c.use_mismatched) == ("gan-cls", False, "concat", True)
    assert d.spectral_norm and d.loss == "gan-cls"
    assert e.spectral_norm and e.loss == "hinge" and e.head == "concat"
    assert f.head == "projection" and not f.aux_classifier and f.loss == "hinge"
    assert g.head == "projection" and g.aux_classifier and g.spectral_norm and not g.use_mismatched


def test_get_variant_accepts_row_names_and_lists_valid_ones():
    assert get_variant("g") is VARIANTS["g"]
    assert get_variant(" (F) ") is VARIANTS["f"]
    assert get_variant("H-Proj") is VARIANTS["h-proj"]
    with pytest.raises(ValueError, match=r"unknown variant 'i'; valid variants: b = \(b\) Improved WGAN"):
        get_variant("i")


@pytest.mark.parametrize("cfg", [VARIANTS["b"], ModelConfig(sound_dim=256, num_classes=9, g_width=200),
                                 TrainConfig(epochs=300, seed=4)])
def test_configs_roundtrip_through_json(cfg):
    restored = type(cfg).from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert restored == cfg


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ConfigError, match="ModelConfig has no field.* colour"):
        ModelConfig.from_dict({"sound_dim": 3, "num_classes": 2, "colour": 1})


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_size=48), "image_size must be one of 32, 64"),
    (dict(channels=2), "channels must be one of 1, 3"),
    (dict(z_dim=-1), "z_dim must be an integer >= 0"),
    (dict(num_classes=1), "num_classes must be an integer >= 2"),
])
def test_model_config_validation(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**{"sound_dim": 8, "num_classes": 3, **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    (dict(), "exactly one of iterations or epochs"),
    (dict(iterations=5, epochs=2), "exactly one of iterations or epochs"),
    (dict(iterations=0), "iterations must be an integer >= 1"),
    (dict(epochs=1, lr=-1), "lr must be a finite number > 0"),
    (dict(epochs=1, betas=(0.5, 1.5)), "betas must be two numbers"),
    (dict(epochs=1, amp="maybe"), "amp must be one of"),
    (dict(epochs=1, g_steps=0), "g_steps must be an integer >= 1"),
])
def test_train_config_validation(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**kwargs)


def test_total_iterations_counts_epochs_in_batches():
    assert TrainConfig(epochs=300, batch_size=32).total_iterations(10701) == 100322
    assert TrainConfig(iterations=7).total_iterations(10701) == 7


def test_train_config_differences_ignore_schedule_length():
    a = TrainConfig(iterations=10, checkpoint_every=5)
    assert a.differences(TrainConfig(iterations=50, checkpoint_every=7)) == []
    assert a.differences(TrainConfig(iterations=10, seed=1, lr=1e-3)) == ["lr", "seed"]


def test_wgan_refuses_batchnorm_and_differences_are_named():
    with pytest.raises(ConfigError, match="cannot use BatchNorm"):
        Variant("x", "x", loss="wgan-gp", spectral_norm=False, head="concat", aux_classifier=False,
                use_mismatched=True, d_norm="batch")
    assert config_differences(VARIANTS["f"], VARIANTS["g"]) == ["name: 'f' != 'g'",
                                                                 "title: '(f) + Projection Discriminator' != '(g) + Auxiliary Classifier'",
                                                                 "aux_classifier: False != True"]
