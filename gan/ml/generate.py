"""Generation from a trained generator, PNGs with provenance, and the paper's figures as images:
per-class sample grids (Fig. 2), the volume table (Table 3) and the loss curves.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .media import write_png
from .networks import Generator

MIN_TILE = 64          # small images (32x32 digits) are upscaled so grids stay legible
LABEL_HEIGHT = 16
PAD = 2


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) uint8."""
    scaled = ((images.detach().float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def sound_seed(sound_key: str, seed: int) -> int:
    """The noise seed of one (sound, seed) pair: a stable 63-bit hash, so every sound of an image set
    gets its own z (one shared z would make every image of a class alike and understate diversity in
    IS and FID), and the same sound and seed always give the same image.

    The one rule for `sound_key`: the sound file's media-relative path, everywhere (generation,
    validation during training, Try it). Why the path and not a hash of the bytes: it is what every
    stored sound has (a pair row holds a path, no hash; hashing each file at every validation would
    read every sound again), it changes no image generated so far, and stored names already follow
    the content (imports name files by their SHA-256, Try it stores one file per SHA-256), so the
    same upload keeps its z. The same bytes stored twice (a dataset's sound uploaded to Try it) are
    two files, with two z's."""
    digest = hashlib.sha256(f"{sound_key}\x00{int(seed)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def noise_for_seeds(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """One z per seed, each from its own CPU generator: the image for (sound, seed) never depends on
    which other images are generated in the same batch, nor on the device."""
    rows = [torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed))) for seed in seeds]
    return torch.stack(rows) if rows else torch.empty(0, z_dim)


def truncate(z: torch.Tensor, truncation: float) -> torch.Tensor:
    """The truncation trick (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image
    Synthesis", Sec. 3.1): noise drawn nearer the prior's mode trades variety within a sound for
    fidelity to it. Here z is pulled towards the prior's mean, z * truncation (the form Karras et al.
    2019 use in W; BigGAN resamples outlying entries instead, which would make an image depend on a
    resampling loop rather than on its seed alone): 1 keeps z, 0 draws one image per sound."""
    if not 0.0 <= float(truncation) <= 1.0:
        raise ValueError(f"truncation must lie in [0, 1]; got {truncation!r}")
    return z * float(truncation)


def generate_images(generator: Generator, features: np.ndarray | torch.Tensor, seeds: Sequence[int] | None = None,
                    z: torch.Tensor | None = None, device: str | torch.device | None = None,
                    batch_size: int = 256, truncation: float = 1.0) -> np.ndarray:
    """Images (N, H, W, C) uint8 for sound features (N, D), with noise from ``seeds`` (one per row) or ``z``,
    pulled towards the prior's mean by ``truncation`` (see `truncate`; 1 = as drawn)."""
    cfg = generator.cfg
    feats = torch.as_tensor(np.asarray(features, dtype=np.float32) if not torch.is_tensor(features) else features,
                            dtype=torch.float32)
    if feats.ndim != 2 or feats.shape[1] != cfg.sound_dim:
        raise ValueError(f"features must have shape (N, {cfg.sound_dim}) for this generator; got {tuple(feats.shape)}")
    n = feats.shape[0]
    if cfg.z_dim:
        if z is None:
            if seeds is None or len(seeds) != n:
                raise ValueError(f"this generator draws z ({cfg.z_dim}-d): give one seed per sound "
                                 f"({n}) or z; got {None if seeds is None else len(seeds)} seeds")
            z = noise_for_seeds(seeds, cfg.z_dim)
        if tuple(z.shape) != (n, cfg.z_dim):
            raise ValueError(f"z must have shape ({n}, {cfg.z_dim}); got {tuple(z.shape)}")
        z = truncate(z, truncation)
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                s = feats[start:start + batch_size].to(device)
                zb = z[start:start + batch_size].to(device) if cfg.z_dim else None
                out.append(to_uint8(generator(s, zb)))
    finally:
        generator.train(was_training)
    if not out:
        return np.empty((0, cfg.image_size, cfg.image_size, cfg.channels), dtype=np.uint8)
    return np.concatenate(out)


def save_images(images: np.ndarray, out_dir: str | os.PathLike, provenance: Sequence[Mapping[str, Any]],
                stem: str = "image") -> list[dict]:
    """Write each image as PNG with a JSON sidecar of its provenance (checkpoint, variant, feature kind,
    source sound, volume factor, seed, ...); returns the provenance dicts with ``path`` added."""
    if len(provenance) != len(images):
        raise ValueError(f"{len(images)} images but {len(provenance)} provenance records")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for i, (image, prov) in enumerate(zip(images, provenance)):
        path = out / f"{stem}_{i:05d}.png"
        # Atomic (and fenced, inside a job's atomic.fenced_writes): a crash, a full disk or a run
        # taken over by another worker leaves no half-written image under a real name.
        record = {**prov, "path": str(path)}
        write_png(path, image, record)
        records.append(record)
    return records


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(image[..., 0] if image.shape[-1] == 1 else image))


def _tile(image: np.ndarray) -> Image.Image:
    pil = _pil(image).convert("RGB")
    if pil.width < MIN_TILE:
        factor = -(-MIN_TILE // pil.width)
        pil = pil.resize((pil.width * factor, pil.height * factor), Image.NEAREST)
    return pil


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def class_grid(images: np.ndarray, labels: Sequence[int], class_names: Sequence[str], per_class: int) -> Image.Image:
    """The paper's Fig. 2: one row per class present, its name on the left, up to ``per_class`` images."""
    if len(images) == 0:
        raise ValueError("class_grid needs at least one image")
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    classes = [int(c) for c in np.unique(labels)]
    tile = _tile(images[0]).size
    font = _font()
    name_w = max(int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(str(class_names[c]), font=font))
                 for c in classes) + 2 * PAD + 4
    width = name_w + per_class * (tile[0] + PAD) + PAD
    height = len(classes) * (tile[1] + PAD) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for row, c in enumerate(classes):
        y = PAD + row * (tile[1] + PAD)
        draw.text((PAD, y + tile[1] // 2 - 6), str(class_names[c]), fill="black", font=font)
        for col, index in enumerate(np.flatnonzero(labels == c)[:per_class]):
            canvas.paste(_tile(images[index]), (name_w + col * (tile[0] + PAD), y))
    return canvas


def volume_table(images: np.ndarray, volumes: Sequence[float], row_labels: Sequence[str]) -> Image.Image:
    """The paper's Table 3: images (S, V, H, W, C), one row per sound, one column per volume factor."""
    images = np.asarray(images)
    if images.ndim != 5 or images.shape[:2] != (len(row_labels), len(volumes)):
        raise ValueError(f"images must have shape ({len(row_labels)} sounds, {len(volumes)} volumes, H, W, C); "
                         f"got {images.shape}")
    tile = _tile(images[0, 0]).size
    font = _font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    name_w = max(int(probe.textlength(str(r), font=font)) for r in row_labels) + 2 * PAD + 4
    width = name_w + len(volumes) * (tile[0] + PAD) + PAD
    height = LABEL_HEIGHT + len(row_labels) * (tile[1] + PAD) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for col, volume in enumerate(volumes):
        text = "original" if float(volume) == 1.0 else f"{float(volume):g}x"
        draw.text((name_w + col * (tile[0] + PAD) + PAD, PAD), text, fill="black", font=font)
    for row, label in enumerate(row_labels):
        y = LABEL_HEIGHT + PAD + row * (tile[1] + PAD)
        draw.text((PAD, y + tile[1] // 2 - 6), str(label), fill="black", font=font)
        for col in range(len(volumes)):
            canvas.paste(_tile(images[row, col]), (name_w + col * (tile[0] + PAD), y))
    return canvas


def plot_losses(history: Mapping[str, Sequence[float]]) -> bytes:
    """Loss curves (D and G, plus the penalty / auxiliary terms that are in use) as PNG bytes."""
    # The object-oriented Figure API with the Agg canvas: no pyplot, no global backend switch,
    # safe in worker threads and web processes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = list(history.get("step", []))
    if not steps:
        raise ValueError("the loss history is empty: nothing to plot yet")
    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss"), ("gp", "gradient penalty"),
                       ("d_aux", "D auxiliary CE"), ("g_aux", "G auxiliary CE")):
        values = history.get(key)
        if values is not None and len(values) == len(steps) and (key in ("d_loss", "g_loss") or any(values)):
            ax.plot(steps, values, label=label, linewidth=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
