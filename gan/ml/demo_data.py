"""Demo datasets built from real material on this machine: a folder of PNG images, WAV sounds and a
`manifest.csv` (sound, image, label, split, group, ...; paths relative to the folder).

* `build_digits`: spoken digits from espeak-ng voices paired with scikit-learn's handwritten digits.
* `build_stamps`: Tux Paint stamps that pair a real recording with a photo of the same thing
  (see gan/ml/demo_stamps.py).

A dataset is built in a temporary sibling folder and renamed into place at the end, so a failed or
interrupted build never leaves a half-written dataset behind.
"""
from __future__ import annotations

import csv
import os
import random
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile
from PIL import Image

ProgressCallback = Callable[[int, int], None]
MANIFEST_NAME = "manifest.csv"
BASE_COLUMNS = ("sound", "image", "label", "split", "group")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# espeak-ng English accents that sound different from each other (en-us-nyc renders digits exactly
# like en-us, so it is left out) and voice variants (an unknown variant silently falls back to the
# default voice, so only names listed by `espeak-ng --voices=variant` are used).
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt3", "klatt4", "croak", "whisper", "whisperf", "grandma",
                   "grandpa", "Annie", "Andy", "steph", "michel", "robert")


@dataclass
class BuildResult:
    """What a builder wrote: the folder, its manifest and the rows in it."""

    root: Path
    manifest: Path
    rows: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why it was left out)

    @property
    def labels(self) -> list[str]:
        return sorted({row["label"] for row in self.rows})

    def count(self, split: str | None = None) -> int:
        return sum(1 for row in self.rows if split is None or row["split"] == split)


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


@contextmanager
def staged_output(out_dir: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """Yield an empty temp folder beside `out_dir`; on success it replaces `out_dir` atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ValueError(f"{out_dir} already exists and is not empty; pass overwrite=True to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        yield staging
        if out_dir.exists():
            retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, retired)
            os.replace(staging, out_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_manifest(root: Path, rows: list[dict]) -> Path:
    """manifest.csv with the base columns first, then any extra columns in first-seen order."""
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    path = root / MANIFEST_NAME
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_manifest(root: str | os.PathLike) -> list[dict]:
    with open(Path(root) / MANIFEST_NAME, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------- spoken + handwritten digits

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
        _report(progress, 0, total)
        # espeak-ng is a subprocess, so threads give real parallelism across the cores.
        with ThreadPoolExecutor(max_workers=workers or max(2, os.cpu_count() or 2)) as pool:
            for _ in pool.map(make, jobs):
                done += 1
                _report(progress, done, total)
        write_manifest(staging, rows)
    root = Path(out_dir)
    return BuildResult(root=root, manifest=root / MANIFEST_NAME, rows=rows)


def build_stamps(out_dir: str | os.PathLike, seed: int = 0, augment: int = 8, **options) -> BuildResult:
    """Tux Paint recording + photo pairs, composited and augmented; see demo_stamps.build_stamps."""
    from .demo_stamps import build_stamps as build

    return build(out_dir, seed=seed, augment=augment, **options)
