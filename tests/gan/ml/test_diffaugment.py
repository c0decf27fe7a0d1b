import pytest
import torch

from gan.ml.diffaugment import cutout, diff_augment, translation


def _rng(seed=0):
    return torch.Generator().manual_seed(seed)


def test_translation_moves_content_and_fills_with_zeros():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0                                   # one bright pixel in every image
    out = translation(x, _rng())
    rows, cols = (out[:, 0] == 1).nonzero()[:, 1], (out[:, 0] == 1).nonzero()[:, 2]
    assert out.shape == x.shape and out.sum() == 64       # the pixel moved, never duplicated or lost
    assert (rows - 8).abs().max() <= 2 and (cols - 8).abs().max() <= 2    # at most 1/8 of 16
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 5                # shifts differ per image
    ones = translation(torch.ones(64, 1, 16, 16), _rng(1))
    assert ((ones == 0) | (ones == 1)).all() and (ones == 0).any()        # vacated pixels are zeros


def test_cutout_zeroes_one_square_per_image_in_every_channel():
    out = cutout(torch.ones(200, 3, 16, 16), _rng())
    zeros = (out == 0)
    assert torch.equal(zeros[:, 0], zeros[:, 1]) and torch.equal(zeros[:, 0], zeros[:, 2])
    per_image = zeros[:, 0].flatten(1).sum(1)
    assert per_image.max() == 64                         # a full 8x8 square when inside the image
    assert per_image.min() > 0                           # never entirely outside


def test_augmentation_is_seeded_and_differentiable():
    x = torch.rand(8, 3, 16, 16, requires_grad=True)
    policy = ("color", "translation", "cutout")
    a, b = diff_augment(x, policy, _rng(5)), diff_augment(x, policy, _rng(5))
    assert torch.equal(a, b) and not torch.equal(a, diff_augment(x, policy, _rng(6)))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert diff_augment(x, (), _rng()) is x


def test_unknown_policy_is_refused_by_the_variant():
    from gan.ml.variants import ConfigError, Variant, VARIANTS

    with pytest.raises(ConfigError, match="augment"):
        Variant.from_dict({**VARIANTS["h"].to_dict(), "augment": ["rotate"]})
