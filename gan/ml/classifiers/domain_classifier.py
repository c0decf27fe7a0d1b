"""A small CNN trained on a dataset's own real images, for data where ImageNet classes mean nothing
(handwritten digits, say). It gives the Inception-style score and class consistency a classifier that
knows the dataset's classes; its held-out accuracy is reported with it, since a score is only as
trustworthy as the classifier behind it.

The network is deliberately small (three conv blocks, ~100k parameters) so it trains in seconds on a
CPU at 32x32; images of any size are resized to ``input_size`` first.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import resolve_device
from .base import ImageBatchError, ImageClassifier, run_batched, to_nchw_uint8

CHECKPOINT_FORMAT = "domain-classifier-v1"


class SmallConvNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int = 32, dropout: float = 0.3):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.body = nn.Sequential(
            block(in_channels, width), nn.MaxPool2d(2),
            block(width, width * 2), nn.MaxPool2d(2),
            block(width * 2, width * 4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width * 4, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _prepare(batch_uint8: torch.Tensor, in_channels: int, input_size: int) -> torch.Tensor:
    """uint8 NCHW -> float in [-1, 1] at ``input_size`` with the network's channel count."""
    x = batch_uint8.float() / 127.5 - 1.0
    if x.shape[1] != in_channels:
        # generated images may come as RGB for a grey dataset or the other way round
        x = x.mean(dim=1, keepdim=True) if in_channels == 1 else x.expand(-1, in_channels, -1, -1)
    if x.shape[-2:] != (input_size, input_size):
        x = F.interpolate(x, size=(input_size, input_size), mode="bilinear", align_corners=False,
                          antialias=bool(x.shape[-1] > input_size))
    return x


@dataclass
class TrainingReport:
    epochs: int
    seed: int
    n_train: int
    final_loss: float
    train_accuracy: float
    loss_per_epoch: list[float] = field(default_factory=list)


class DomainClassifier(ImageClassifier):
    """A :class:`SmallConvNet` with the metadata needed to use and reload it."""

    def __init__(self, network: SmallConvNet, class_names: Sequence[str], in_channels: int, input_size: int,
                 report: TrainingReport | None = None, name: str = "domain-cnn"):
        self.network = network.eval()
        self.class_names = list(class_names)
        self.in_channels = in_channels
        self.input_size = input_size
        self.report = report
        self.name = name

    def logits(self, images, batch_size: int = 256, device=None) -> np.ndarray:
        return run_batched(self.network, lambda b: _prepare(b, self.in_channels, self.input_size),
                           to_nchw_uint8(images), batch_size, resolve_device(device))

    def accuracy(self, images, labels, batch_size: int = 256, device=None) -> float:
        labels = np.asarray(labels)
        return float((self.predict(images, batch_size=batch_size, device=device) == labels).mean())

    def save(self, path: str | Path) -> Path:
        """Write atomically (temp file, then rename) so a crash never leaves half a checkpoint."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "state_dict": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
            "class_names": list(self.class_names),
            "in_channels": int(self.in_channels),
            "input_size": int(self.input_size),
            "width": int(self.network.body[0][0].out_channels),
            "name": self.name,
        }
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        os.close(handle)
        try:
            torch.save(payload, temp)
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return path


def load_domain_classifier(path: str | Path, device: str | torch.device | None = None) -> DomainClassifier:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"domain classifier checkpoint not found: {path}")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a domain classifier checkpoint ({CHECKPOINT_FORMAT})")
    network = SmallConvNet(payload["in_channels"], len(payload["class_names"]), width=payload["width"])
    network.load_state_dict(payload["state_dict"])
    network.to(resolve_device(device))
    return DomainClassifier(network, payload["class_names"], payload["in_channels"], payload["input_size"],
                            name=payload.get("name", "domain-cnn"))


def _validate_training_data(nchw: torch.Tensor, labels: np.ndarray, class_names: Sequence[str] | None) -> list[str]:
    if labels.ndim != 1 or labels.shape[0] != nchw.shape[0]:
        raise ImageBatchError(f"{nchw.shape[0]} images but labels of shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    num_classes = int(labels.max()) + 1 if class_names is None else len(class_names)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    missing = sorted(set(range(num_classes)) - set(labels.tolist()))
    if missing:
        raise ValueError(f"classes {missing} have no training images")
    if num_classes < 2:
        raise ValueError("a classifier needs at least 2 classes")
    return list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]


def train_domain_classifier(images, labels, seed: int = 0, epochs: int = 15,
                            class_names: Sequence[str] | None = None, input_size: int = 32,
                            batch_size: int = 64, learning_rate: float = 2e-3, width: int = 32,
                            max_shift: int = 2, device: str | torch.device | None = None) -> DomainClassifier:
    """Train on uint8 images ``(N, C, H, W)`` (or NHWC / grey NHW) with integer ``labels``; seeded.

    Random shifts of up to ``max_shift`` pixels (at ``input_size``) make it tolerate the small
    misplacements generated images have.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    nchw = to_nchw_uint8(images)
    labels_array = np.asarray(labels)
    names = _validate_training_data(nchw, labels_array, class_names)
    target_device = resolve_device(device)
    in_channels = int(nchw.shape[1])

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    network = SmallConvNet(in_channels, len(names), width=width).to(target_device)
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    inputs = _prepare(nchw, in_channels, input_size)  # whole set once: these datasets are small
    targets = torch.as_tensor(labels_array, dtype=torch.long)

    losses = []
    network.train()
    for _ in range(epochs):
        order = torch.randperm(inputs.shape[0], generator=generator)
        epoch_loss = 0.0
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            batch = inputs[index]
            if max_shift:
                shift = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
                batch = torch.roll(batch, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(network(batch.to(target_device)), targets[index].to(target_device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            epoch_loss += float(loss.detach()) * len(index)
        schedule.step()
        losses.append(epoch_loss / len(order))
    network.eval()

    classifier = DomainClassifier(network, names, in_channels, input_size)
    train_accuracy = classifier.accuracy(nchw, labels_array, device=target_device)
    classifier.report = TrainingReport(epochs=epochs, seed=seed, n_train=int(nchw.shape[0]),
                                       final_loss=losses[-1], train_accuracy=train_accuracy,
                                       loss_per_epoch=losses)
    return classifier
