"""The interface every image classifier offers the scorers, and the image-batch checks they share.

A classifier takes uint8 images (NHWC or NCHW, 1 or 3 channels) and returns class probabilities
``(N, K)`` as a numpy array; ``class_names`` has K entries. Scores (IS, class consistency) only ever
see those probabilities, so any network can be plugged in.
"""
from __future__ import annotations

import abc
from typing import Sequence

import numpy as np
import torch


class ImageBatchError(ValueError):
    """The images handed to a classifier are not a usable uint8 batch."""


def to_nchw_uint8(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Return a ``(N, C, H, W)`` uint8 CPU tensor with C in {1, 3}, accepting NHWC or NCHW input.

    A 3-D array is a batch of grey images ``(N, H, W)``; a single image needs its batch axis.
    """
    if isinstance(images, torch.Tensor):
        tensor = images
    else:
        array = np.asarray(images)
        # read-only arrays (e.g. np.asarray of a PIL image) are copied: torch wants writable memory
        tensor = torch.from_numpy(array if array.flags.writeable else array.copy())
    if tensor.dtype != torch.uint8:
        raise ImageBatchError(
            f"images must be uint8 in 0..255, got dtype {tensor.dtype}; convert generator output "
            "with ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8) first"
        )
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 4:
        raise ImageBatchError(f"images must have 4 dimensions (N,C,H,W or N,H,W,C), got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0:
        raise ImageBatchError("the image batch is empty")
    if tensor.shape[1] in (1, 3):
        nchw = tensor
    elif tensor.shape[-1] in (1, 3):
        nchw = tensor.permute(0, 3, 1, 2)
    elif tensor.shape[-1] == 4 or tensor.shape[1] == 4:
        raise ImageBatchError(
            "images have 4 channels (RGBA); composite them onto a background first "
            "(see gan.ml.classifiers.base.composite_rgba)"
        )
    else:
        raise ImageBatchError(f"cannot find a 1- or 3-channel axis in image batch of shape {tuple(tensor.shape)}")
    if nchw.shape[2] < 8 or nchw.shape[3] < 8:
        raise ImageBatchError(f"images are too small ({nchw.shape[2]}x{nchw.shape[3]}); at least 8x8 is needed")
    return nchw.contiguous().cpu()


def to_rgb(nchw: torch.Tensor) -> torch.Tensor:
    """Grey images are repeated to three channels, as ImageNet networks expect RGB."""
    return nchw.expand(-1, 3, -1, -1) if nchw.shape[1] == 1 else nchw


def composite_rgba(rgba: np.ndarray, background: Sequence[int] = (255, 255, 255)) -> np.ndarray:
    """Alpha-composite an ``(H, W, 4)`` uint8 cut-out onto a plain background, giving ``(H, W, 3)`` uint8."""
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ImageBatchError(f"expected an (H, W, 4) uint8 RGBA image, got {rgba.shape} {rgba.dtype}")
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    colour = rgba[..., :3].astype(np.float32)
    back = np.asarray(background, dtype=np.float32).reshape(1, 1, 3)
    return np.clip(colour * alpha + back * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)


class ImageClassifier(abc.ABC):
    """Class probabilities for uint8 images; the single interface the scores depend on."""

    #: a short label stored with every score, since scores from different classifiers differ
    name: str
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @abc.abstractmethod
    def logits(self, images: np.ndarray | torch.Tensor, batch_size: int = 64,
               device: str | torch.device | None = None) -> np.ndarray:
        """Unnormalised class scores ``(N, K)`` (float64)."""

    def predict_proba(self, images: np.ndarray | torch.Tensor, batch_size: int = 64,
                      device: str | torch.device | None = None) -> np.ndarray:
        """Softmax of :meth:`logits`, ``(N, K)`` float64, rows summing to 1."""
        raw = torch.from_numpy(self.logits(images, batch_size=batch_size, device=device))
        return torch.softmax(raw, dim=1).numpy()

    def predict(self, images: np.ndarray | torch.Tensor, batch_size: int = 64,
                device: str | torch.device | None = None) -> np.ndarray:
        """Top-1 class indices ``(N,)``."""
        return self.logits(images, batch_size=batch_size, device=device).argmax(axis=1)

    def top_k(self, images: np.ndarray | torch.Tensor, k: int = 5, batch_size: int = 64,
              device: str | torch.device | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most probable classes per image, best first: indices ``(N, k)`` and probabilities
        ``(N, k)`` (what top-k cleaning compares, and what it records as the reason for a discard)."""
        if not 1 <= k <= self.num_classes:
            raise ValueError(f"k must lie in 1..{self.num_classes}, got {k}")
        probabilities = self.predict_proba(images, batch_size=batch_size, device=device)
        indices = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return indices, np.take_along_axis(probabilities, indices, axis=1)


def run_batched(network: torch.nn.Module, prepare, images: torch.Tensor, batch_size: int,
                device: torch.device) -> np.ndarray:
    """Feed ``images`` (uint8 NCHW) through ``prepare`` then ``network`` in batches; float64 numpy out.

    Only one batch is converted to float at a time, so memory stays bounded by ``batch_size``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    outputs = []
    network.to(device).eval()
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            batch = images[start:start + batch_size].to(device)
            outputs.append(network(prepare(batch)).double().cpu())
    return torch.cat(outputs).numpy()
