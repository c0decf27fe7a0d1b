"""Sound augmentation for the demo datasets: room, equaliser, background noise and level.

Each change is drawn independently of the class, so a model cannot tell classes apart by loudness,
room or channel, only by the sound itself. Written here with scipy.signal because what is needed is
small (a synthetic room impulse response, three Butterworth filters, coloured noise at an SNR) and
the audio augmentation libraries on PyPI (audiomentations, torch-audiomentations) would add a large
dependency tree for these few lines.
"""
from __future__ import annotations

import numpy as np
import scipy.signal

TARGET_RMS_DBFS = -20.0


def synthetic_room(rng: np.random.Generator, rate: int, rt60: float) -> np.ndarray:
    """An impulse response: a direct path and exponentially decaying noise reaching -60 dB at rt60 s."""
    n = max(1, int(rt60 * rate))
    t = np.arange(n) / rate
    response = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    response[0] = 1.0 / float(rng.uniform(0.3, 1.0))       # direct-to-reverberant ratio varies
    return response / np.sqrt(np.sum(response ** 2))


def coloured_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White, pink (1/f power) or brown (1/f^2 power) noise, equally likely."""
    white = rng.standard_normal(n)
    slope = (0.0, 0.5, 1.0)[int(rng.integers(3))]
    if slope == 0.0:
        return white
    spectrum = np.fft.rfft(white)
    spectrum /= (np.arange(len(spectrum)) + 1.0) ** slope
    return np.fft.irfft(spectrum, n)


def random_equaliser(rng: np.random.Generator, rate: int):
    """Second-order sections of a low-pass, high-pass, band-pass or telephone band (300-3400 Hz)."""
    kind = int(rng.integers(4))
    nyquist = rate / 2
    if kind == 0:
        return scipy.signal.butter(2, min(float(rng.uniform(2000, 8000)), 0.9 * nyquist), "lowpass",
                                   fs=rate, output="sos")
    if kind == 1:
        return scipy.signal.butter(2, float(rng.uniform(80, 400)), "highpass", fs=rate, output="sos")
    if kind == 2:
        low, high = float(rng.uniform(100, 400)), min(float(rng.uniform(3000, 9000)), 0.9 * nyquist)
        return scipy.signal.butter(1, [low, high], "bandpass", fs=rate, output="sos")
    return scipy.signal.butter(3, [300.0, min(3400.0, 0.9 * nyquist)], "bandpass", fs=rate, output="sos")


def augment_sound(wave: np.ndarray, rate: int, rng: np.random.Generator, *, room: float = 0.7,
                  equaliser: float = 0.7, noise: float = 0.8, snr_db: tuple[float, float] = (10.0, 30.0),
                  gain_db: tuple[float, float] = (-12.0, 12.0)) -> np.ndarray:
    """Room (probability `room`), equaliser, background noise at an SNR drawn from `snr_db`, then the
    level: every clip to -20 dBFS RMS and a gain drawn from `gain_db` (peaks kept below full scale)."""
    x = np.asarray(wave, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty mono waveform, got shape {x.shape}")
    if rng.random() < room:
        response = synthetic_room(rng, rate, float(rng.uniform(0.15, 1.2)))
        wet = scipy.signal.fftconvolve(x, response)[: len(x)]
        mix = float(rng.uniform(0.2, 0.8))
        x = (1 - mix) * x + mix * wet * (np.std(x) / (np.std(wet) + 1e-12))
    if rng.random() < equaliser:
        x = scipy.signal.sosfilt(random_equaliser(rng, rate), x)
    rms = np.sqrt(np.mean(x ** 2)) + 1e-12
    if rng.random() < noise:
        background = coloured_noise(rng, len(x))
        background *= rms / (np.sqrt(np.mean(background ** 2)) + 1e-12) / 10 ** (float(rng.uniform(*snr_db)) / 20)
        x = x + background
    x *= 10 ** (TARGET_RMS_DBFS / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-12)
    x *= 10 ** (float(rng.uniform(*gain_db)) / 20)
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)
