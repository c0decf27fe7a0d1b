"""Photo cut-outs (RGBA stamps) composited on generated backgrounds, with jitter: the image side of
the stamps and instruments demo datasets."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter


def cutout(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGBA")
    box = image.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if box is None:
        raise ValueError(f"{path}: stamp image is fully transparent")
    return image.crop(box)


def _background(rng: np.random.Generator, size: int, scenes: bool = True) -> Image.Image:
    """A plain scene (sky gradient over a ground band; 60% when `scenes`) or a soft two-colour
    gradient, with a little texture."""
    rows = np.linspace(0.0, 1.0, size)[:, None, None]
    top, bottom = rng.uniform(0.15, 0.95, 3), rng.uniform(0.1, 0.9, 3)
    if scenes and rng.random() < 0.6:
        top = np.array([rng.uniform(0.4, 0.8), rng.uniform(0.6, 0.9), rng.uniform(0.8, 1.0)])
        ground = rng.uniform(0.2, 0.6, 3) * np.array([0.9, 1.0, 0.6])
        horizon = rng.uniform(0.5, 0.8)
        sky = top * (1 - 0.3 * rows) + 0.3 * rows
        pixels = np.where(rows < horizon, sky, ground * (0.8 + 0.4 * rows))
    else:
        pixels = top * (1 - rows) + bottom * rows
    pixels = np.broadcast_to(pixels, (size, size, 3)) + rng.normal(0, 0.04, (size, size, 3))
    image = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), "RGB")
    return image.filter(ImageFilter.GaussianBlur(radius=size / 128))


def augment_image(obj: Image.Image, rng: np.random.Generator, size: int, plain: bool,
                  max_rotation: float = 0.0, fill: tuple[float, float] = (0.55, 0.95),
                  scenes: bool = True) -> Image.Image:
    """Cut-out on a background: flip, rotation (up to +-max_rotation degrees), colour jitter, scale
    (the longer side fills a share of the frame drawn from `fill`), position, then a random crop."""
    canvas_size = size * 2  # compose at 2x and downsample: smoother edges on the small output
    canvas = _background(rng, canvas_size, scenes)
    if not plain:
        if rng.random() < 0.5:
            obj = obj.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if max_rotation:
            # Long thin things (a bassoon, a guitar neck) fill more of the frame when tilted.
            obj = obj.rotate(float(rng.uniform(-max_rotation, max_rotation)), resample=Image.Resampling.BICUBIC,
                             expand=True)
        alpha = obj.getchannel("A")
        rgb = obj.convert("RGB")
        for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
            rgb = enhancer(rgb).enhance(float(rng.uniform(0.75, 1.25)))
        obj = rgb.convert("RGBA")
        obj.putalpha(alpha)
    share = 0.8 if plain else float(rng.uniform(*fill))   # of the frame the object's longer side fills
    scale = share * canvas_size / max(obj.size)
    obj = obj.resize((max(1, round(obj.width * scale)), max(1, round(obj.height * scale))),
                     Image.Resampling.LANCZOS)
    if plain:
        x, y = (canvas_size - obj.width) // 2, (canvas_size - obj.height) // 2
    else:
        x = int(rng.integers(0, max(1, canvas_size - obj.width + 1)))
        y = int(rng.integers(0, max(1, canvas_size - obj.height + 1)))
    canvas.paste(obj, (x, y), obj)
    crop = canvas_size if plain else int(canvas_size * rng.uniform(0.85, 1.0))
    left = (canvas_size - crop) // 2 if plain else int(rng.integers(0, canvas_size - crop + 1))
    top = (canvas_size - crop) // 2 if plain else int(rng.integers(0, canvas_size - crop + 1))
    return canvas.crop((left, top, left + crop, top + crop)).resize((size, size), Image.Resampling.LANCZOS)
