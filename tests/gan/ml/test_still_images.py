"""The one still-image decoder (read_image) and the one PNG writer (write_png) of gan/ml/media.py."""
import json

import numpy as np
import pytest
from PIL import Image

from gan.ml.media import MediaError, read_image, write_png


def _rgba(path, pixels):
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), "RGBA").save(path)
    return path


def test_transparency_goes_on_white_and_opaque_pixels_stay(tmp_path):
    pixels = np.zeros((2, 2, 4), np.uint8)
    pixels[0, 0] = (10, 20, 30, 255)   # opaque: unchanged
    pixels[0, 1] = (10, 20, 30, 0)     # transparent: white
    pixels[1, 0] = (0, 0, 0, 128)      # half: halfway to white
    pixels[1, 1] = (200, 100, 50, 255)
    image = read_image(_rgba(tmp_path / "a.png", pixels))
    assert image.shape == (2, 2, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [10, 20, 30]
    assert image[0, 1].tolist() == [255, 255, 255]
    assert abs(int(image[1, 0, 0]) - 127) <= 1
    assert image[1, 1].tolist() == [200, 100, 50]


def test_grey_channels_first_and_resize(tmp_path):
    path = tmp_path / "g.png"
    Image.fromarray(np.full((4, 6, 3), 90, np.uint8)).save(path)
    grey = read_image(path, channels=1)
    assert grey.shape == (4, 6) and int(grey[0, 0]) == 90  # equal R, G, B: the same grey level
    chw = read_image(path, channels=3, size=8, channels_first=True)
    assert chw.shape == (3, 8, 8) and np.all(chw == 90)
    assert read_image(path, channels=1, size=5, channels_first=True).shape == (1, 5, 5)


def test_refusals_are_media_errors(tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (100, 100)).save(big)
    with pytest.raises(MediaError) as caught:
        read_image(big, max_pixels=99 * 99)
    assert caught.value.code == "too_large"
    truncated = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(MediaError) as caught:
        read_image(truncated)
    assert caught.value.code == "bad_image"
    with pytest.raises(MediaError) as caught:
        read_image(tmp_path / "none.png")
    assert caught.value.code == "missing"
    with pytest.raises(ValueError):
        read_image(big, channels=2)


def test_write_png_round_trips_arrays_and_writes_the_sidecar(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    target = write_png(tmp_path / "deep" / "x.png", rgb, {"seed": 3, "path": tmp_path})
    assert np.array_equal(read_image(target), rgb)
    assert json.loads(target.with_suffix(".json").read_text()) == {"seed": 3, "path": str(tmp_path)}
    grey = rgb[..., :1]
    write_png(tmp_path / "g.png", grey)
    with Image.open(tmp_path / "g.png") as image:
        assert image.mode == "L" and np.array_equal(np.asarray(image), grey[..., 0])
    assert not (tmp_path / "g.json").exists()
    write_png(tmp_path / "p.png", Image.fromarray(rgb))
    assert np.array_equal(read_image(tmp_path / "p.png"), rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "g.png", "p.png"]  # no temporary left
