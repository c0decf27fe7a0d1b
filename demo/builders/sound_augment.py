"""Sound augmentation for the demo datasets: speed and pitch, room, equaliser, telephone line,
background noise and level.

Each change is drawn independently of the class, so a model cannot tell classes apart by loudness,
room or channel, only by the sound itself. Speed, pitch and the reverberant room come from SoX's own
effects (`speed`, `pitch`, `reverb`; sox is an apt package of the project), run on the waveform
through a pipe. The rest is written here with scipy.signal because what is needed is small (a
synthetic room impulse response, three Butterworth filters, an 8 kHz mu-law line, coloured noise at
an SNR) and the audio augmentation libraries on PyPI (audiomentations, torch-audiomentations) would
add a large dependency tree for these few lines.
"""
from __future__ import annotations

import shutil
import subprocess
from math import gcd

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


def sox_effects(wave: np.ndarray, rate: int, effects: list[str], out_rate: int | None = None) -> np.ndarray:
    """`wave` through SoX effects (e.g. ["reverb", "50"]), resampled to `out_rate` (default: `rate`):
    raw 32-bit floats in a pipe."""
    binary = shutil.which("sox")
    if binary is None:
        raise RuntimeError("sox is not installed (Debian: apt-get install sox); speed, pitch and reverb need it")
    out_rate = int(out_rate or rate)
    raw = ["-t", "f32", "-c", "1"]
    result = subprocess.run([binary, "-q", "-V1", *raw, "-r", str(rate), "-", *raw, "-r", str(out_rate), "-", *effects,
                             "rate", str(out_rate)],
                            input=np.ascontiguousarray(wave, dtype=np.float32).tobytes(), capture_output=True,
                            timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"sox {' '.join(effects)} failed: {result.stderr.decode(errors='replace')[:300]}")
    out = np.frombuffer(result.stdout, dtype=np.float32).astype(np.float64)
    if out.size == 0:
        raise RuntimeError(f"sox {' '.join(effects)} returned no samples")
    return out


def speed_and_pitch(wave: np.ndarray, rate: int, speed: float, cents: float) -> np.ndarray:
    """Tempo and pitch changed independently: SoX `tempo` (WSOLA, pitch kept) then `pitch` (cents)."""
    effects = []
    if abs(speed - 1.0) > 1e-3:
        effects += ["tempo", "-s", f"{speed:.4f}"]
    if abs(cents) >= 1.0:
        effects += ["pitch", f"{cents:.0f}"]
    return sox_effects(wave, rate, effects) if effects else np.asarray(wave, dtype=np.float64)


def telephone_line(wave: np.ndarray, rate: int) -> np.ndarray:
    """A narrow-band phone call: 300-3400 Hz, resampled to 8 kHz, 8-bit mu-law (G.711, mu = 255) and back.
    Hand-written because the standard library's audioop is gone (Python 3.13) and the formula is two lines."""
    x = scipy.signal.sosfilt(scipy.signal.butter(4, [300.0, min(3400.0, 0.45 * rate)], "bandpass", fs=rate,
                                                 output="sos"), wave)
    common = gcd(int(rate), 8000)
    narrow = scipy.signal.resample_poly(x, 8000 // common, int(rate) // common)
    scale = float(np.max(np.abs(narrow))) + 1e-12
    mu = 255.0
    coded = np.sign(narrow / scale) * np.log1p(mu * np.abs(narrow / scale)) / np.log1p(mu)
    coded = np.round(coded * 127.0) / 127.0                       # 8 bits a sample
    narrow = scale * np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu
    back = scipy.signal.resample_poly(narrow, int(rate) // common, 8000 // common)
    return back[: len(wave)] if len(back) >= len(wave) else np.pad(back, (0, len(wave) - len(back)))


def augment_sound(wave: np.ndarray, rate: int, rng: np.random.Generator, *, speed_pitch: float = 0.0,
                  speed_range: tuple[float, float] = (0.8, 1.25), cents_range: tuple[float, float] = (-300.0, 300.0),
                  room: float = 0.7, reverb: float = 0.0, equaliser: float = 0.7, telephone: float = 0.0,
                  noise: float = 0.8, snr_db: tuple[float, float] = (10.0, 30.0),
                  gain_db: tuple[float, float] = (-12.0, 12.0)) -> np.ndarray:
    """Speed and pitch (probability `speed_pitch`: tempo from `speed_range`, pitch shift in cents from
    `cents_range`), a room (probability `room`: a synthetic impulse response, or with probability
    `reverb` of those SoX's reverberator), an equaliser, a telephone line (probability `telephone`),
    background noise at an SNR drawn from `snr_db`, then the level: every clip to -20 dBFS RMS and a
    gain drawn from `gain_db` (peaks kept below full scale). The new options default to off, so
    existing builds draw what they drew before."""
    x = np.asarray(wave, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty mono waveform, got shape {x.shape}")
    if speed_pitch and rng.random() < speed_pitch:
        x = speed_and_pitch(x, rate, float(rng.uniform(*speed_range)), float(rng.uniform(*cents_range)))
    if rng.random() < room:
        if reverb and rng.random() < reverb:
            # reverberance %, HF damping %, room scale %; wet only would lose the direct sound
            x = sox_effects(x, rate, ["reverb", f"{rng.uniform(20, 90):.0f}", f"{rng.uniform(20, 80):.0f}",
                                      f"{rng.uniform(30, 100):.0f}"])[: len(x)]
        else:
            response = synthetic_room(rng, rate, float(rng.uniform(0.15, 1.2)))
            wet = scipy.signal.fftconvolve(x, response)[: len(x)]
            mix = float(rng.uniform(0.2, 0.8))
            x = (1 - mix) * x + mix * wet * (np.std(x) / (np.std(wet) + 1e-12))
    if rng.random() < equaliser:
        x = scipy.signal.sosfilt(random_equaliser(rng, rate), x)
    if telephone and rng.random() < telephone:
        x = telephone_line(x, rate)
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
