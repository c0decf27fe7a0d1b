"""On-disk cache of per-clip feature vectors, so training never decodes a sound twice.

Layout: <root>/<spec.key()>/<clip slug>-<hash of clip id>.npz holding the vector and the identity
(size, mtime in ns) of the sound file it came from. A hit requires the same spec key, clip id and
file identity: an edited or replaced sound file is recomputed, never served stale. Writes go to a
temp file in the same folder and are renamed into place, so a crash or a concurrent writer can
never leave a torn entry; an unreadable entry is treated as a miss and rewritten.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .audio import AudioError, load_audio
from .features import FeatureSpec, extract_features, feature_dim

ProgressCallback = Callable[[int, int], None]


def file_identity(path: str | os.PathLike) -> np.ndarray:
    """(size in bytes, mtime in ns) of a file: cheap, and changes whenever the file is rewritten."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise AudioError(f"{path}: audio file does not exist") from None
    return np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)


class FeatureCache:
    """Feature vectors keyed by (clip id, spec, source file identity) under `root`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def entry_path(self, clip_id: str, spec: FeatureSpec) -> Path:
        clip_id = str(clip_id)
        if not clip_id:
            raise ValueError("clip_id must be a non-empty string")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", clip_id)[-60:].lstrip(".") or "clip"
        digest = hashlib.sha1(clip_id.encode("utf-8")).hexdigest()[:16]
        return self.root / spec.key() / f"{slug}-{digest}.npz"

    def get(self, clip_id: str, path: str | os.PathLike, spec: FeatureSpec) -> np.ndarray | None:
        """The cached vector, or None when absent, stale (file changed) or unreadable."""
        entry = self.entry_path(clip_id, spec)
        if not entry.is_file():
            return None
        try:
            with np.load(entry, allow_pickle=False) as stored:
                vector, identity = stored["vector"], stored["identity"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return None
        if vector.shape != (feature_dim(spec),) or not np.array_equal(identity, file_identity(path)):
            return None
        return vector.astype(np.float32, copy=False)

    def put(self, clip_id: str, path: str | os.PathLike, spec: FeatureSpec, vector: np.ndarray,
            identity: np.ndarray | None = None) -> Path:
        entry = self.entry_path(clip_id, spec)
        entry.parent.mkdir(parents=True, exist_ok=True)
        identity = file_identity(path) if identity is None else identity
        handle, temp_name = tempfile.mkstemp(prefix=".", suffix=".part", dir=entry.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, vector=np.asarray(vector, dtype=np.float32), identity=identity)
            os.replace(temp_name, entry)
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
        return entry

    def get_or_compute(self, clip_id: str, path: str | os.PathLike, spec: FeatureSpec,
                       soundnet=None) -> np.ndarray:
        """The clip's vector: from the cache when fresh, else decoded, extracted and stored."""
        cached = self.get(clip_id, path, spec)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        # Identity taken before decoding: if the file changes while we read it, the entry is
        # stale on the next lookup rather than silently matching the new file.
        identity = file_identity(path)
        vector = compute_vector(path, spec, soundnet)
        self.put(clip_id, path, spec, vector, identity)
        return vector


def compute_vector(path: str | os.PathLike, spec: FeatureSpec, soundnet=None) -> np.ndarray:
    wave, rate = load_audio(path, sr=spec.sample_rate)
    return extract_features(wave, rate, spec, soundnet=soundnet)


def extract_many(items: Iterable[tuple[str, str | os.PathLike]], spec: FeatureSpec,
                 cache: FeatureCache | None, soundnet=None,
                 progress: ProgressCallback | None = None) -> np.ndarray:
    """(N, feature_dim(spec)) float32 vectors for (clip_id, path) items, in order.

    Cached vectors are reused; a SoundNet model is loaded from the default weights folder only if
    the spec needs one, none was given, and at least one clip is not cached.
    """
    items: Sequence[tuple[str, str | os.PathLike]] = list(items)
    total = len(items)
    output = np.empty((total, feature_dim(spec)), dtype=np.float32)
    if progress is not None:
        progress(0, total)
    for index, (clip_id, path) in enumerate(items):
        vector = cache.get(clip_id, path, spec) if cache is not None else None
        if vector is None:
            if spec.kind == "soundnet" and soundnet is None:
                from .soundnet import load_soundnet

                soundnet = load_soundnet()
            if cache is not None:
                vector = cache.get_or_compute(clip_id, path, spec, soundnet)
            else:
                vector = compute_vector(path, spec, soundnet)
        elif cache is not None:
            cache.hits += 1
        output[index] = vector
        if progress is not None:
            progress(index + 1, total)
    return output
