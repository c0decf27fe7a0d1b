"""The 'digits' demo dataset: spoken digits from espeak-ng voices paired with scikit-learn's handwritten
digits (8x8, upscaled).

Voices are an English accent plus a voice variant (timbre). Variants fall into families by how
espeak-ng makes them, read from each variant file: 'klatt' (the Klatt formant synthesiser), 'breathy'
(whispered and breathy voices) and 'formant' (espeak's own synthesiser, all the others). One family
is held out: its voices make the 'heldout' split, so scores there measure whether a model carries over
to a voice family it never heard. The other families' variants are split three ways, so 'val' (model
selection) and 'test' (in-domain) voices use timbres no training voice uses. Every clip draws its own
speed and pitch and goes through the same room, equaliser (including a telephone band), noise and
level augmentation, whatever its split. Test, held-out and validation images come from a pool of
handwritten digits disjoint from the training pool.

Never used here, because our evaluation uses them: flite, Tux Paint and Asterisk recordings.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from .manifest import MANIFEST_NAME, BuildResult, ProgressCallback, report_progress, staged_output, write_manifest
from .sound_augment import augment_sound

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# espeak-ng's English accents (en-us-nyc renders digits exactly like en-us, so it is left out).
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd")
VOICE_FAMILIES = ("formant", "klatt", "breathy")
SOUND_RATE = 22050


def _espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed (Debian: apt-get install espeak-ng); "
                           "the digits demo dataset needs it to speak the digits")
    return binary


def _variant_folder(binary: str) -> Path:
    """espeak-ng's variant files (voices/!v under the data path `--version` prints)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"Data at:\s*(\S+)", out)
    folder = Path(found.group(1)) / "voices" / "!v" if found else None
    if folder is None or not folder.is_dir():
        raise RuntimeError(f"cannot find espeak-ng's voice variants (espeak-ng --version said {out.strip()!r})")
    return folder


def voice_families(binary: str | None = None) -> dict[str, list[str]]:
    """Every espeak-ng voice variant, by family: a 'klatt' line selects the Klatt synthesiser,
    'breath' settings make a whispered or breathy voice; the rest use espeak's own formant synthesis."""
    families: dict[str, list[str]] = {name: [] for name in VOICE_FAMILIES}
    for path in sorted(_variant_folder(binary or _espeak_binary()).iterdir(), key=lambda p: p.name.lower()):
        lines = [line.strip().lower() for line in path.read_text(errors="replace").splitlines()
                 if not line.strip().startswith("#")]
        if any(line.startswith("klatt") for line in lines):
            families["klatt"].append(path.name)
        elif any(line.startswith("breath") for line in lines) or "whisper" in path.name.lower():
            families["breathy"].append(path.name)
        else:
            families["formant"].append(path.name)
    return families


def _split_variants(rng: random.Random, variants: list[str], val_fraction: float,
                    test_fraction: float) -> dict[str, list[str]]:
    """Variants (timbres) of the in-domain families, split so no val or test timbre is trained on."""
    variants = sorted(variants)
    rng.shuffle(variants)
    n_val = max(1, round(len(variants) * val_fraction))
    n_test = max(1, round(len(variants) * test_fraction))
    return {"val": variants[:n_val], "test": variants[n_val:n_val + n_test], "train": variants[n_val + n_test:]}


def _pick_voices(rng: random.Random, variants: list[str], count: int, split: str) -> list[str]:
    """`count` accent+variant voices, round-robin over the variants so timbres are spread evenly."""
    by_variant = {variant: [f"{accent}+{variant}" for accent in ESPEAK_ACCENTS] for variant in variants}
    available = sum(len(voices) for voices in by_variant.values())
    if count > available:
        raise ValueError(f"asked for {count} {split} voices but only {available} accent+variant "
                         f"combinations exist for that split; ask for fewer voices")
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
    """scikit-learn's bundled 8x8 digits, split per class into disjoint 'train' and 'test' pools
    (the 'test' pool serves every split but training)."""
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


def _speak(binary: str, voice: str, speed: int, pitch: int, text: str, out_path: Path,
           augment_seed: list[int] | None) -> None:
    command = [binary, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out_path), text]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or not out_path.is_file() or out_path.stat().st_size <= 44:
        raise RuntimeError(f"espeak-ng failed for voice {voice!r} saying {text!r} "
                           f"(exit {result.returncode}): {result.stderr.strip()[:300]}")
    wave, rate = soundfile.read(str(out_path), dtype="float32")
    if wave.size == 0 or float(np.max(np.abs(wave))) < 1e-3:
        raise RuntimeError(f"espeak-ng wrote a silent clip for voice {voice!r} saying {text!r}")
    if augment_seed is not None:
        wave = augment_sound(wave, rate, np.random.default_rng(augment_seed))
        soundfile.write(str(out_path), wave, rate, subtype="PCM_16")


def build_digits(out_dir: str | os.PathLike, seed: int = 0, n_voices: int = 120, n_heldout_voices: int = 20,
                 heldout_family: str = "klatt", takes_per_voice: int = 1, val_fraction: float = 0.1,
                 test_fraction: float = 0.2, image_size: int = 32, speed_range: tuple[int, int] = (120, 250),
                 pitch_range: tuple[int, int] = (15, 85), augment: bool = True, workers: int | None = None,
                 overwrite: bool = False, progress: ProgressCallback | None = None) -> BuildResult:
    """Spoken digit -> handwritten digit pairs: `n_voices` in-domain voices (train / val / test by
    timbre) and `n_heldout_voices` of `heldout_family` ('' = none held out), each saying the ten
    digits `takes_per_voice` times. Classes are balanced in every split."""
    if n_voices < 3:
        raise ValueError(f"n_voices must be >= 3 so train, val and test each get a voice, got {n_voices}")
    if takes_per_voice < 1:
        raise ValueError(f"takes_per_voice must be >= 1, got {takes_per_voice}")
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    if val_fraction + test_fraction >= 1:
        raise ValueError("val_fraction + test_fraction must leave voices for training")
    if image_size < 8:
        raise ValueError(f"image_size must be >= 8, got {image_size}")
    if heldout_family and heldout_family not in VOICE_FAMILIES:
        raise ValueError(f"heldout_family must be one of {VOICE_FAMILIES} or '', got {heldout_family!r}")
    binary = _espeak_binary()
    rng = random.Random(seed)
    families = voice_families(binary)
    in_domain = sorted(v for family, names in families.items() if family != heldout_family for v in names)
    by_split = _split_variants(rng, in_domain, val_fraction, test_fraction)
    n_val = max(1, round(n_voices * val_fraction))
    n_test = max(1, round(n_voices * test_fraction))
    voices = ([("train", v) for v in _pick_voices(rng, by_split["train"], n_voices - n_val - n_test, "train")]
              + [("val", v) for v in _pick_voices(rng, by_split["val"], n_val, "val")]
              + [("test", v) for v in _pick_voices(rng, by_split["test"], n_test, "test")])
    if heldout_family and n_heldout_voices:
        voices += [("heldout", v) for v in _pick_voices(rng, families[heldout_family], n_heldout_voices, "heldout")]
    family_of = {v: family for family, names in families.items() for v in names}
    pools = _digit_images(rng, test_fraction)
    cursor = {key: 0 for key in pools}  # cycle through each pool so images are used evenly

    jobs, rows = [], []
    for index, (split, voice) in enumerate(voices):
        voice_slug = voice.replace("+", "_")
        for take in range(takes_per_voice):
            for digit, word in enumerate(DIGIT_WORDS):
                speed, pitch = rng.randint(*speed_range), rng.randint(*pitch_range)
                stem = f"{voice_slug}/{digit}_{take}"
                pool_key = ("train" if split == "train" else "test", digit)
                if cursor[pool_key] % len(pools[pool_key]) == 0:
                    rng.shuffle(pools[pool_key])
                image8 = pools[pool_key][cursor[pool_key] % len(pools[pool_key])]
                cursor[pool_key] += 1
                augment_seed = [seed, index, take, digit] if augment else None
                jobs.append((voice, speed, pitch, word, f"sounds/{stem}.wav", image8, f"images/{stem}.png",
                             augment_seed))
                rows.append({"sound": f"sounds/{stem}.wav", "image": f"images/{stem}.png",
                             "label": str(digit), "split": split, "group": voice, "voice": voice,
                             "family": family_of[voice.split("+")[1]], "speed": speed, "pitch": pitch,
                             "text": word})

    total = len(jobs)
    with staged_output(out_dir, overwrite) as staging:
        for split, voice in voices:
            for kind in ("sounds", "images"):
                (staging / kind / voice.replace("+", "_")).mkdir(parents=True, exist_ok=True)

        def make(job) -> None:
            voice, speed, pitch, word, sound, image8, image, augment_seed = job
            _speak(binary, voice, speed, pitch, word, staging / sound, augment_seed)
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
