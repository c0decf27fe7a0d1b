import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan.ml.generate import (class_grid, generate_images, noise_for_seeds, plot_losses, save_images, to_uint8,
                             truncate, volume_table)
from gan.ml.networks import Generator

from .toy_pairs import tiny_model


@pytest.fixture
def generator():
    torch.manual_seed(0)
    return Generator(tiny_model(channels=3))


def test_to_uint8_maps_tanh_range_to_bytes():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 2, 2)
    assert to_uint8(x).ravel().tolist() == [0, 128, 255, 255]
    assert to_uint8(torch.zeros(2, 3, 4, 4)).shape == (2, 4, 4, 3)


def test_images_depend_on_seed_not_on_batch_composition(generator):
    features = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    out = generate_images(generator, features, seeds=[1, 2, 3, 4, 5], device="cpu")
    assert out.shape == (5, 32, 32, 3) and out.dtype == np.uint8
    alone = generate_images(generator, features[2:3], seeds=[3], device="cpu")
    assert np.array_equal(out[2], alone[0])
    other_seed = generate_images(generator, features[2:3], seeds=[30], device="cpu")
    assert not np.array_equal(out[2], other_seed[0])
    small_batches = generate_images(generator, features, seeds=[1, 2, 3, 4, 5], device="cpu", batch_size=2)
    assert np.array_equal(out, small_batches)
    given_z = generate_images(generator, features, z=noise_for_seeds([1, 2, 3, 4, 5], 10), device="cpu")
    assert np.array_equal(out, given_z)
    assert generator.training       # the caller's mode is restored


def test_truncation_pulls_noise_to_the_prior_mean(generator):
    features = np.random.default_rng(1).normal(size=(1, 8)).astype(np.float32).repeat(3, axis=0)
    seeds = [7, 8, 9]
    drawn = generate_images(generator, features, seeds=seeds, device="cpu")
    assert np.array_equal(drawn, generate_images(generator, features, seeds=seeds, device="cpu", truncation=1.0))
    # t = 0: every seed of one sound draws the same image, the image of z = 0.
    collapsed = generate_images(generator, features, seeds=seeds, device="cpu", truncation=0.0)
    assert np.array_equal(collapsed[0], collapsed[1]) and np.array_equal(collapsed[0], collapsed[2])
    assert np.array_equal(collapsed, generate_images(generator, features, z=torch.zeros(3, 10), device="cpu"))
    assert not np.array_equal(drawn[0], drawn[1])
    half = generate_images(generator, features, seeds=seeds, device="cpu", truncation=0.5)
    assert np.array_equal(half, generate_images(generator, features, z=0.5 * noise_for_seeds(seeds, 10), device="cpu"))
    z = noise_for_seeds(seeds, 10)
    assert torch.equal(truncate(z, 0.25), 0.25 * z)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="truncation"):
            truncate(z, bad)


def test_generate_rejects_bad_input(generator):
    with pytest.raises(ValueError, match=r"features must have shape \(N, 8\)"):
        generate_images(generator, np.zeros((2, 7), np.float32), seeds=[0, 1])
    with pytest.raises(ValueError, match="one seed per sound"):
        generate_images(generator, np.zeros((2, 8), np.float32), seeds=[0])


def test_save_images_writes_png_and_provenance(tmp_path, generator):
    images = generate_images(generator, np.zeros((2, 8), np.float32), seeds=[0, 1])
    provenance = [{"checkpoint": "run/step_00000010.pt", "variant": "g", "feature_kind": "soundnet",
                   "sound_id": 17, "volume": v, "seed": s} for v, s in ((1.0, 0), (2.0, 1))]
    records = save_images(images, tmp_path, provenance)
    assert [r["volume"] for r in records] == [1.0, 2.0]
    for record, image in zip(records, images):
        assert np.array_equal(np.asarray(Image.open(record["path"])), image)
        sidecar = json.loads(open(record["path"].replace(".png", ".json")).read())
        assert sidecar["sound_id"] == 17 and sidecar["variant"] == "g"


def test_class_grid_layout():
    images = np.zeros((6, 32, 32, 1), np.uint8)
    images[3:] = 255
    grid = class_grid(images, [0, 0, 0, 2, 2, 2], ["zero", "one", "two"], per_class=3)
    assert grid.mode == "RGB"
    # Two rows (classes present), three 64-px tiles each (32-px images are upscaled for legibility).
    assert grid.height == 2 * (64 + 2) + 2
    pixels = np.asarray(grid)
    assert pixels[-10, -10].tolist() == [255, 255, 255] and pixels[10, -10].tolist() == [0, 0, 0]


def test_volume_table_shape_and_errors():
    images = np.zeros((2, 4, 64, 64, 3), np.uint8)
    table = volume_table(images, [0.5, 1.0, 2.0, 3.0], ["speedboat", "dam"])
    assert table.width > 4 * 64 and table.height > 2 * 64
    with pytest.raises(ValueError, match=r"\(2 sounds, 3 volumes"):
        volume_table(images, [0.5, 1.0, 2.0], ["speedboat", "dam"])


def test_plot_losses_returns_png():
    history = {"step": [1, 2, 3], "d_loss": [2.0, 1.5, 1.2], "g_loss": [0.1, 0.3, 0.2],
               "gp": [0.0, 0.0, 0.0], "d_aux": [1.0, 0.7, 0.5], "g_aux": [1.1, 0.9, 0.6]}
    png = plot_losses(history)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).size == (700, 400)
    with pytest.raises(ValueError, match="history is empty"):
        plot_losses({"step": []})


def test_sound_seed_is_stable_and_distinct_per_sound_and_seed():
    from gan.ml.generate import sound_seed

    assert sound_seed("sounds/a.wav", 0) == sound_seed("sounds/a.wav", 0)
    seeds = {sound_seed(name, seed) for name in ("sounds/a.wav", "sounds/b.wav") for seed in (0, 1)}
    assert len(seeds) == 4 and all(0 <= s < 2 ** 63 for s in seeds)
