"""Inception-v3, the paper's classifier, from a LOCAL weights file only; nothing is ever downloaded.

Two formats are accepted (told apart by the classifier layer's shape):

* torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``: the TF graph inception-2015-12-05 the
  paper (and OpenAI's IS code) used, 1008 outputs. It runs through torch-fidelity's own
  ``FeatureExtractorInceptionV3`` (TF-style bilinear resize to 299, (x - 128) / 128) and scores use its
  ``logits_unbiased`` output, the bias-free logits OpenAI's IS code takes the softmax of. The 1008 TF
  output indices are not in the usual ImageNet order and the file carries no names, so classes are
  named ``tf2015_class_<i>`` unless names are supplied: this format suits IS, not name-based class maps.
* torchvision's ``inception_v3_google-0cc3c7bd.pth``: 1000 ImageNet classes in the usual order, run
  through ``torchvision.models.inception_v3`` with its ImageNet normalisation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..device import resolve_device
from ..imagenet_classes import imagenet_class_names
from ..weights import WeightsMissing, resolve_weights_dir
from .base import ImageClassifier, run_batched, to_nchw_uint8, to_rgb

TORCH_FIDELITY_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
TORCHVISION_FILENAME = "inception_v3_google-0cc3c7bd.pth"
KNOWN_FILENAMES = (TORCH_FIDELITY_FILENAME, TORCHVISION_FILENAME)
INPUT_SIZE = 299
HOW_TO_SUPPLY = (
    f"Copy torch-fidelity's {TORCH_FIDELITY_FILENAME} (the paper's TF Inception, for IS) or torchvision's "
    f"{TORCHVISION_FILENAME} into the weights folder (setting WEIGHTS_DIR, environment variable WEIGHTS_DIR, "
    "default var/weights/) or pass its path explicitly; the platform never downloads weights."
)


class WeightsInvalid(ValueError):
    """A weights file exists but is not an Inception-v3 checkpoint in a supported format."""


def find_inception_weights(weights_path: str | Path | None = None, weights_dir: str | Path | None = None) -> Path:
    """The weights file to use: ``weights_path`` if given, else the first known file name in ``weights_dir``
    (default: the shared weights folder of :mod:`gan.ml.weights`). Raises the shared ``WeightsMissing``."""
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise WeightsMissing(f"Inception-v3 weights file not found: {path}. {HOW_TO_SUPPLY}")
        return path
    folder = resolve_weights_dir(weights_dir)  # None: $WEIGHTS_DIR, else var/weights
    for name in KNOWN_FILENAMES:
        if (folder / name).is_file():
            return folder / name
    raise WeightsMissing(
        f"Inception-v3 weights not found in {folder} (looked for {' and '.join(KNOWN_FILENAMES)}). {HOW_TO_SUPPLY}"
    )


def _read_state_dict(path: Path) -> dict:
    # weights_only=True refuses pickled code; a file that passes it is a plain tensor dictionary, which
    # also makes torch-fidelity's later unrestricted torch.load of the same file harmless.
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for corrupt / foreign files
        raise WeightsInvalid(f"{path} is not a readable PyTorch weights file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise WeightsInvalid(f"{path} is not an Inception-v3 state dict (no 'fc.weight'). {HOW_TO_SUPPLY}")
    return state


class TorchFidelityInception(ImageClassifier):
    """The TF 2015 Inception-v3 through torch-fidelity; probabilities from ``logits_unbiased``."""

    name = "inception-v3-tf2015"

    def __init__(self, path: Path, class_names: Sequence[str] | None = None):
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        # with a path torch-fidelity loads that file and never calls its downloader
        self.network = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["logits_unbiased"], feature_extractor_weights_path=str(path))
        outputs = self.network.fc.out_features
        self.class_names = list(class_names) if class_names is not None else [f"tf2015_class_{i}" for i in range(outputs)]
        if len(self.class_names) != outputs:
            raise ValueError(f"{len(self.class_names)} class names given for {outputs} outputs")

    def logits(self, images, batch_size: int = 64, device=None) -> np.ndarray:
        nchw = to_nchw_uint8(images)
        # torch-fidelity takes uint8 RGB and does its own TF-compatible resize and scaling
        wrapped = _FirstOutput(self.network)
        return run_batched(wrapped, lambda b: to_rgb(b).contiguous(), nchw, batch_size, resolve_device(device))


class _FirstOutput(torch.nn.Module):
    def __init__(self, network: torch.nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)[0]


class TorchvisionInception(ImageClassifier):
    """torchvision's Inception-v3 with ImageNet weights (1000 classes, standard order)."""

    name = "inception-v3-torchvision"

    def __init__(self, state: dict):
        from torchvision.models import inception_v3

        self.network = inception_v3(weights=None, aux_logits="AuxLogits.fc.weight" in state,
                                    transform_input=True, init_weights=False)
        self.network.load_state_dict(state, strict=True)
        self.network.eval()
        self.class_names = list(imagenet_class_names())
        self._mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
        self._std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        x = to_rgb(batch).float()
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                              antialias=bool(x.shape[-1] > INPUT_SIZE or x.shape[-2] > INPUT_SIZE))
        return (x - self._mean.to(x.device)) / self._std.to(x.device)

    def logits(self, images, batch_size: int = 64, device=None) -> np.ndarray:
        return run_batched(self.network, self._prepare, to_nchw_uint8(images), batch_size, resolve_device(device))


def load_inception_v3(weights_path: str | Path | None = None, weights_dir: str | Path | None = None,
                      device: str | torch.device | None = None,
                      class_names: Sequence[str] | None = None) -> ImageClassifier:
    """Load Inception-v3 from a local file (see module doc); raises :class:`WeightsMissing` if absent."""
    path = find_inception_weights(weights_path, weights_dir)
    state = _read_state_dict(path)
    outputs = state["fc.weight"].shape[0]
    if outputs == 1008:
        classifier: ImageClassifier = TorchFidelityInception(path, class_names)
    elif outputs == 1000:
        classifier = TorchvisionInception(state)
    else:
        raise WeightsInvalid(f"{path} has {outputs} outputs; expected 1008 (torch-fidelity) or 1000 (torchvision)")
    classifier.network.to(resolve_device(device))
    return classifier
