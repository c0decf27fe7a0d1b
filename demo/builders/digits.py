"""The `digits` demo dataset: spoken digits from espeak-ng voices paired with scikit-learn's
handwritten digits, split by voice (a voice never straddles train and test)."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from .manifest import MANIFEST_NAME, BuildResult, ProgressCallback, report_progress, staged_output, write_manifest

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# espeak-ng English accents that sound different from each other (en-us-nyc renders digits exactly
# like en-us, so it is left out) and voice variants (an unknown variant silently falls back to the
# default voice, so only names listed by `espeak-ng --voices=variant` are used).
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt3", "klatt4", "croak", "whisper", "whisperf", "grandma",
                   "grandpa", "Annie", "Andy", "steph", "michel", "robert")


def _espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed (Debian: apt-get install espeak-ng); "
                           "the digits demo dataset needs it to speak the digits")
    return binary


def _split_variants(rng: random.Random, test_fraction: float) -> tuple[list[str], list[str]]:
    variants = list(ESPEAK_VARIANTS)
    rng.shuffle(variants)
    n_test = max(1, round(len(variants) * test_fraction))
    return sorted(variants[n_test:]), sorted(variants[:n_test])


def _pick_voices(rng: random.Random, variants: list[str], count: int, split: str) -> list[str]:
    """`count` accent+variant voices, round-robin over the variants so timbres are spread evenly."""
    by_variant = {variant: [f"{accent}+{variant}" for accent in ESPEAK_ACCENTS] for variant in variants}
    available = sum(len(voices) for voices in by_variant.values())
    if count > available:
        raise ValueError(f"asked for {count} {split} voices but only {available} accent+variant "
                         f"combinations exist for that split; lower n_voices")
    for voices in by_variant.values():
        rng.shuffle(voices)
    order = list(variants)
    rng.shuffle(order)
    picked: list[str] = []
    while len(picked) < count:
        for variant in order:
            if by_variant[variant] and len(picked) < count:
                picked.append(by_variant[variant].pop())
    return picked


def _digit_images(rng: random.Random, test_fraction: float) -> dict[tuple[str, int], list[np.ndarray]]:
    """scikit-learn's bundled 8x8 digits, split per class into disjoint train/test pools."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pools: dict[tuple[str, int], list[np.ndarray]] = {}
    for digit in range(10):
        indices = [int(i) for i in np.flatnonzero(digits.target == digit)]
        rng.shuffle(indices)
        n_test = max(1, round(len(indices) * test_fraction))
        pools[("test", digit)] = [digits.images[i] for i in indices[:n_test]]
        pools[("train", digit)] = [digits.images[i] for i in indices[n_test:]]
    return pools


def _digit_png(image8: np.ndarray, size: int) -> Image.Image:
    """8x8 ink values 0..16 -> size x size grayscale, white ink on black; bicubic keeps strokes smooth."""
    small = Image.fromarray(np.clip(image8 * (255.0 / 16.0), 0, 255).astype(np.uint8), mode="L")
    return small.resize((size, size), Image.Resampling.BICUBIC)


def _speak(binary: str, voice: str, speed: int, pitch: int, text: str, out_path: Path) -> None:
    command = [binary, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out_path), text]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or not out_path.is_file() or out_path.stat().st_size <= 44:
        raise RuntimeError(f"espeak-ng failed for voice {voice!r} saying {text!r} "
                           f"(exit {result.returncode}): {result.stderr.strip()[:300]}")
    wave, _ = soundfile.read(str(out_path), dtype="float32")
    if wave.size == 0 or float(np.max(np.abs(wave))) < 1e-3:
        raise RuntimeError(f"espeak-ng wrote a silent clip for voice {voice!r} saying {text!r}")


def build_digits(out_dir: str | os.PathLike, seed: int = 0, n_voices: int = 40,
                 takes_per_voice: int = 1, test_fraction: float = 0.25, image_size: int = 32,
                 speed_range: tuple[int, int] = (130, 210), pitch_range: tuple[int, int] = (25, 75),
                 workers: int | None = None, overwrite: bool = False,
                 progress: ProgressCallback | None = None) -> BuildResult:
    """Spoken digit -> handwritten digit pairs, `n_voices * takes_per_voice * 10` of them.

    Voices are espeak-ng accent+variant combinations; the test voices use variants (timbres) that no
    training voice uses, and test images come from a disjoint pool of handwritten digits, so the
    test split is new on both sides. Each clip draws its own speed and pitch. Classes are balanced.
    """
    if n_voices < 2:
        raise ValueError(f"n_voices must be >= 2 so both splits get a voice, got {n_voices}")
    if takes_per_voice < 1:
        raise ValueError(f"takes_per_voice must be >= 1, got {takes_per_voice}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if image_size < 8:
        raise ValueError(f"image_size must be >= 8, got {image_size}")
    binary = _espeak_binary()
    rng = random.Random(seed)
    train_variants, test_variants = _split_variants(rng, test_fraction)
    n_test_voices = min(n_voices - 1, max(1, round(n_voices * test_fraction)))
    voices = ([("train", v) for v in _pick_voices(rng, train_variants, n_voices - n_test_voices, "train")]
              + [("test", v) for v in _pick_voices(rng, test_variants, n_test_voices, "test")])
    pools = _digit_images(rng, test_fraction)
    cursor = {key: 0 for key in pools}  # cycle through each pool so images are used evenly

    jobs, rows = [], []
    for split, voice in voices:
        voice_slug = voice.replace("+", "_")
        for take in range(takes_per_voice):
            for digit, word in enumerate(DIGIT_WORDS):
                speed, pitch = rng.randint(*speed_range), rng.randint(*pitch_range)
                stem = f"{voice_slug}/{digit}_{take}"
                pool_key = (split, digit)
                if cursor[pool_key] % len(pools[pool_key]) == 0:
                    rng.shuffle(pools[pool_key])
                image8 = pools[pool_key][cursor[pool_key] % len(pools[pool_key])]
                cursor[pool_key] += 1
                jobs.append((voice, speed, pitch, word, f"sounds/{stem}.wav", image8, f"images/{stem}.png"))
                rows.append({"sound": f"sounds/{stem}.wav", "image": f"images/{stem}.png",
                             "label": str(digit), "split": split, "group": voice, "voice": voice,
                             "speed": speed, "pitch": pitch, "text": word})

    total = len(jobs)
    with staged_output(out_dir, overwrite) as staging:
        for split, voice in voices:
            for kind in ("sounds", "images"):
                (staging / kind / voice.replace("+", "_")).mkdir(parents=True, exist_ok=True)

        def make(job) -> None:
            voice, speed, pitch, word, sound, image8, image = job
            _speak(binary, voice, speed, pitch, word, staging / sound)
            _digit_png(image8, image_size).save(staging / image)

        done = 0
        report_progress(progress, 0, total)
        # espeak-ng is a subprocess, so threads give real parallelism across the cores.
        with ThreadPoolExecutor(max_workers=workers or max(2, os.cpu_count() or 2)) as pool:
            for _ in pool.map(make, jobs):
                done += 1
                report_progress(progress, done, total)
        write_manifest(staging, rows)
    root = Path(out_dir)
    return BuildResult(root=root, manifest=root / MANIFEST_NAME, rows=rows)
