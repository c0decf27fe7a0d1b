"""One fixed-size vector per sound clip: the paper's sound condition for the generator.

Kinds (paper Table 2): linear spectrogram, fbank (log-mel), MFCC (13 + deltas), and SoundNet hidden
layer 18. Each frame sequence is pooled over time: 'mean' is the paper's average; 'segments' keeps
coarse time order (the means of k equal time segments, concatenated), which a quick experiment found to be
a cheap, real improvement (docs/background.md). Volume scaling (Table 3) is applied to the waveform before extraction.
Signal processing is librosa's; only pooling is ours.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .audio import resample, scale_volume

KINDS = ("spectrogram", "fbank", "mfcc", "soundnet")
POOLINGS = ("mean", "segments")
# Bump when extraction code changes results, so cached vectors from older code are not reused.
FEATURE_VERSION = 1
LOG_FLOOR = 1e-10  # power floor before log: -100 dB, below 16-bit quantisation noise

# Which fields change the result for each kind; the cache key hashes only these, so a spec that
# differs in an irrelevant field (n_mfcc for a spectrogram) shares the cached vectors.
_COMMON_FIELDS = ("kind", "sample_rate", "pooling", "n_segments", "volume", "clip")
_KIND_FIELDS = {
    "spectrogram": ("n_fft", "hop_length"),
    "fbank": ("n_fft", "hop_length", "n_mels"),
    "mfcc": ("n_fft", "hop_length", "n_mels", "n_mfcc", "mfcc_deltas", "mfcc_mean_norm"),
    "soundnet": (),
}


@dataclass(frozen=True)
class FeatureSpec:
    """How to turn a waveform into one vector. Serialisable (to_dict/from_dict) and hashable (key)."""

    kind: str = "soundnet"
    # Rate the waveform is resampled to before extraction; None keeps each file's native rate
    # (what the authors' feature script did for SoundNet).
    sample_rate: int | None = 22050
    n_fft: int = 512  # ~23 ms at 22,050 Hz
    hop_length: int = 256
    n_mels: int = 40
    n_mfcc: int = 13
    mfcc_deltas: bool = True  # append delta and delta-delta: 13 -> 39 coefficients
    # Per-clip cepstral mean normalisation, as the authors' pipeline did. Note: with 'mean' pooling
    # it makes the static coefficients average to exactly zero, which may be why MFCC scored worst
    # in the paper's Table 2; with 'segments' pooling the segment means still carry information.
    mfcc_mean_norm: bool = False
    pooling: str = "mean"
    n_segments: int = 4  # used when pooling == 'segments'
    volume: float = 1.0
    clip: bool = True  # clip the scaled waveform at ±1 (as the paper's re-encoded files did)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown feature kind {self.kind!r}; valid kinds: {', '.join(KINDS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; valid poolings: {', '.join(POOLINGS)}")
        if self.sample_rate is not None and (not isinstance(self.sample_rate, int) or self.sample_rate < 1000):
            raise ValueError(f"sample_rate must be an int >= 1000 Hz or None (native), got {self.sample_rate!r}")
        for name, low in (("n_fft", 16), ("hop_length", 1), ("n_mels", 1), ("n_mfcc", 1), ("n_segments", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        if not isinstance(self.volume, (int, float)) or not math.isfinite(self.volume) or self.volume <= 0:
            raise ValueError(f"volume must be a finite number > 0, got {self.volume!r}")
        for name in ("mfcc_deltas", "mfcc_mean_norm", "clip"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        object.__setattr__(self, "volume", float(self.volume))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSpec":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown FeatureSpec fields {unknown}; valid fields: {', '.join(sorted(known))}")
        return cls(**data)

    def relevant_dict(self) -> dict:
        names = _COMMON_FIELDS + _KIND_FIELDS[self.kind]
        values = {name: getattr(self, name) for name in names}
        if self.pooling == "mean":
            values.pop("n_segments")
        return values

    def key(self) -> str:
        """Stable string naming what the vectors contain, e.g. 'mfcc-mean-1a2b3c4d5e6f'."""
        payload = json.dumps({"version": FEATURE_VERSION, **self.relevant_dict()}, sort_keys=True)
        return f"{self.kind}-{self.pooling}-{hashlib.sha1(payload.encode()).hexdigest()[:12]}"

    def with_volume(self, volume: float, clip: bool | None = None) -> "FeatureSpec":
        return FeatureSpec.from_dict({**self.to_dict(), "volume": volume,
                                      "clip": self.clip if clip is None else clip})


def frame_dim(spec: FeatureSpec) -> int:
    """Size of one frame of the chosen kind, before pooling."""
    if spec.kind == "spectrogram":
        return spec.n_fft // 2 + 1
    if spec.kind == "fbank":
        return spec.n_mels
    if spec.kind == "mfcc":
        return spec.n_mfcc * (3 if spec.mfcc_deltas else 1)
    from .soundnet import LAYER18_CHANNELS

    return LAYER18_CHANNELS


def feature_dim(spec: FeatureSpec) -> int:
    """Length of the vector extract_features returns for `spec`."""
    return frame_dim(spec) * (spec.n_segments if spec.pooling == "segments" else 1)


def pool_frames(frames: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """(dim, T) frames -> (dim,) mean, or (dim * k,) means of k equal time segments."""
    if frames.ndim != 2 or frames.shape[1] == 0:
        raise ValueError(f"expected (dim, T>0) frames, got shape {frames.shape}")
    if spec.pooling == "mean":
        return frames.mean(axis=1)
    count, k = frames.shape[1], spec.n_segments
    edges = (np.arange(k + 1) * count) // k
    parts = []
    for index in range(k):
        # With fewer frames than segments a segment reuses its nearest frame rather than being empty.
        start = min(int(edges[index]), count - 1)
        stop = max(int(edges[index + 1]), start + 1)
        parts.append(frames[:, start:stop].mean(axis=1))
    return np.concatenate(parts)


def _power_spectrogram(wave: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    import librosa

    if wave.size < spec.n_fft:  # librosa warns on clips shorter than one window; pad with silence
        wave = np.pad(wave, (0, spec.n_fft - wave.size))
    return np.abs(librosa.stft(wave, n_fft=spec.n_fft, hop_length=spec.hop_length)) ** 2


def _mel_power(wave: np.ndarray, sr: int, spec: FeatureSpec) -> np.ndarray:
    import librosa

    return librosa.feature.melspectrogram(S=_power_spectrogram(wave, spec), sr=sr, n_mels=spec.n_mels)


def _with_deltas(coefficients: np.ndarray) -> np.ndarray:
    import librosa

    frames = coefficients.shape[1]
    if frames < 3:  # no neighbours to differentiate over: the change is zero
        zeros = np.zeros_like(coefficients)
        return np.concatenate([coefficients, zeros, zeros])
    width = min(9, frames if frames % 2 else frames - 1)  # librosa needs an odd width <= frames
    return np.concatenate([coefficients,
                           librosa.feature.delta(coefficients, width=width, order=1),
                           librosa.feature.delta(coefficients, width=width, order=2)])


def spectral_frames(wave: np.ndarray, sr: int, spec: FeatureSpec) -> np.ndarray:
    """(dim, T) log-power spectrogram, log-mel fbank or MFCC frames for a ±1 waveform."""
    import librosa

    if spec.kind == "spectrogram":
        return np.log(_power_spectrogram(wave, spec) + LOG_FLOOR)
    mel = _mel_power(wave, sr, spec)
    if spec.kind == "fbank":
        return np.log(mel + LOG_FLOOR)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=spec.n_mfcc)
    if spec.mfcc_mean_norm:
        mfcc = mfcc - mfcc.mean(axis=1, keepdims=True)
    return _with_deltas(mfcc) if spec.mfcc_deltas else mfcc


def soundnet_frames(wave: np.ndarray, sr: int, soundnet) -> np.ndarray:
    """(256, T) SoundNet hidden layer 18 for a ±1 waveform already at the wanted rate."""
    from .soundnet import layer18_features, min_samples, prepare_waveform

    # Only clips too short for a single layer-18 step (~0.2 s) are tiled; longer clips are used as
    # they are, so 'segments' pooling still sees the clip's own time order.
    prepared = prepare_waveform(wave, sr, resample_to=None, min_length=min_samples("layer18"))
    return layer18_features(soundnet, prepared)


def extract_features(wave: np.ndarray, sr: int, spec: FeatureSpec, soundnet=None) -> np.ndarray:
    """The (feature_dim(spec),) float32 vector for a mono ±1 waveform at rate `sr`.

    The waveform is resampled to spec.sample_rate (unless None), volume-scaled (with or without
    clipping), framed by spec.kind and pooled over time. The 'soundnet' kind needs a loaded
    SoundNet8 (gan.ml.soundnet.load_soundnet()).
    """
    if not isinstance(spec, FeatureSpec):
        raise TypeError(f"spec must be a FeatureSpec, got {type(spec).__name__}")
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"expected a non-empty mono waveform, got shape {wave.shape}")
    if spec.kind == "soundnet" and soundnet is None:
        raise ValueError("the 'soundnet' feature kind needs a SoundNet8 model: pass "
                         "soundnet=gan.ml.soundnet.load_soundnet()")
    if spec.sample_rate is not None and int(sr) != spec.sample_rate:
        wave, sr = resample(wave, int(sr), spec.sample_rate), spec.sample_rate
    if spec.volume != 1.0:
        wave = scale_volume(wave, spec.volume, clip=spec.clip)
    if spec.kind == "soundnet":
        frames = soundnet_frames(wave, int(sr), soundnet)
    else:
        frames = spectral_frames(wave, int(sr), spec)
    vector = pool_frames(frames, spec).astype(np.float32)
    if vector.shape != (feature_dim(spec),):
        raise AssertionError(f"{spec.kind} produced shape {vector.shape}, expected ({feature_dim(spec)},)")
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{spec.kind} features contain NaN or infinity (degenerate waveform?)")
    return vector
