"""The 'stamps' demo dataset: Tux Paint stamps that pair a real recording with a photo cut-out of
the same thing (dog.ogg + dog.png), composited onto generated backgrounds and augmented.

Which stamps: of the ~130 stamps with both a sound and a PNG, 85 pair a recording of a thing with a
photo of it; the rest are drawings or icons (symbols/, seasonal/, town/, cartoon/) or spoken words
(letters, numbers, the roll call). Four of the 85 sounds are pure digital silence in the Debian
package (nandou, iguana, giraffe, wombat); they are skipped and listed in BuildResult.skipped.

Which labels: a label per stamp would make every class a single source, so no class could appear on
both sides of a split by source. Labels are the natural groups the stamp folders already form
(bird, bovine, instrument, tool, ...), and only groups with at least two usable stamps are kept:
66 stamps in 14 classes. Singletons (frog, elephant, fire truck, koala once the wombat is out, ...)
and the mixed household objects (glass, kettle, toilet, rubber duck) are left out. Every class has
at least one stamp on each side: test stamps are never seen in training.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from gan.ml.audio import AudioError, load_audio

from .photos import augment_image, cutout
from .manifest import MANIFEST_NAME, BuildResult, ProgressCallback, report_progress, staged_output, write_manifest

DEFAULT_STAMPS_DIR = Path("/usr/share/tuxpaint/stamps")
SOUND_RATE = 22050
# Folder prefix -> class label; first match wins. Stamps matching none are not used (see above).
STAMP_CLASSES = (
    ("animals/birds/", "bird"),
    ("animals/insects/", "insect"),
    ("animals/mammals/bovines/", "bovine"),
    ("animals/mammals/equines/", "equine"),
    ("animals/mammals/deer/", "deer"),
    ("animals/mammals/rodents/", "rodent"),
    ("animals/mammals/aquatic/", "sea mammal"),
    ("animals/mammals/apes/", "ape"),
    ("animals/mammals/cats/", "big cat"),
    ("animals/mammals/dogs/", "canine"),
    ("animals/mammals/camel/", "camel"),
    ("animals/mammals/pig", "pig"),
    ("animals/marsupials/", "marsupial"),
    ("hobbies/music/", "instrument"),
    ("household/tools/", "tool"),
    ("household/arttools/", "tool"),
)
# Folders whose stamps are drawings/icons or whose sounds are speech, not recordings of the thing.
NOT_RECORDING_AND_PHOTO = ("symbols/", "seasonal/", "town/", "military/", "naturalforces/", "cartoon/")


@dataclass(frozen=True)
class Stamp:
    stamp_id: str  # path below the stamps folder without extension, e.g. 'animals/mammals/dogs/dog'
    sound: Path
    image: Path
    label: str | None  # None: a recording+photo pair whose group is too small to be a class


def find_stamps(stamps_dir: str | os.PathLike = DEFAULT_STAMPS_DIR) -> list[Stamp]:
    """All recording + photo pairs (X.ogg beside X.png; translated speech files X_xx.ogg ignored)."""
    root = Path(stamps_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"Tux Paint stamps not found at {root} (Debian: apt-get install "
                                f"tuxpaint-stamps-default)")
    stamps = []
    for image in sorted(root.rglob("*.png")):
        sound = image.with_suffix(".ogg")
        stamp_id = image.relative_to(root).with_suffix("").as_posix()
        if not sound.is_file() or any(part in stamp_id + "/" for part in NOT_RECORDING_AND_PHOTO):
            continue
        label = next((name for prefix, name in STAMP_CLASSES if stamp_id.startswith(prefix)), None)
        stamps.append(Stamp(stamp_id, sound, image, label))
    return stamps


def split_stamps(stamps: list[Stamp], rng: random.Random, test_fraction: float,
                 min_per_class: int = 2) -> dict[str, str]:
    """stamp_id -> 'train' | 'test', per class, at least one stamp on each side."""
    by_label: dict[str, list[Stamp]] = {}
    for stamp in stamps:
        if stamp.label is not None:
            by_label.setdefault(stamp.label, []).append(stamp)
    splits = {}
    for label, members in sorted(by_label.items()):
        if len(members) < min_per_class:
            continue
        members = sorted(members, key=lambda s: s.stamp_id)
        rng.shuffle(members)
        n_test = min(len(members) - 1, max(1, round(len(members) * test_fraction)))
        for index, stamp in enumerate(members):
            splits[stamp.stamp_id] = "test" if index < n_test else "train"
    return splits


def augment_sound(wave: np.ndarray, rng: np.random.Generator, rate: int, plain: bool) -> np.ndarray:
    """Light changes that keep the sound what it is: gain (-6..+3 dB, never clipping) and a shift
    (0-0.25 s of leading silence)."""
    if plain:
        return wave
    gain = 10 ** (rng.uniform(-6.0, 3.0) / 20)
    peak = float(np.max(np.abs(wave))) * gain
    if peak > 0.99:
        gain *= 0.99 / peak
    lead = np.zeros(int(rng.uniform(0.0, 0.25) * rate), dtype=np.float32)
    return np.concatenate([lead, wave * np.float32(gain)])


def build_stamps(out_dir: str | os.PathLike, seed: int = 0, augment: int = 8, image_size: int = 64,
                 test_fraction: float = 0.25, stamps_dir: str | os.PathLike = DEFAULT_STAMPS_DIR,
                 overwrite: bool = False, progress: ProgressCallback | None = None) -> BuildResult:
    """`augment` image/sound pairs per stamp (the first unaugmented), split by stamp within class."""
    if augment < 1:
        raise ValueError(f"augment must be >= 1 (pairs per stamp), got {augment}")
    if image_size < 16:
        raise ValueError(f"image_size must be >= 16, got {image_size}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rng = random.Random(seed)
    sounds, skipped = {}, []
    for stamp in find_stamps(stamps_dir):
        if stamp.label is None:
            continue
        try:  # decode everything before splitting, so a broken file cannot empty a class's test side
            sounds[stamp.stamp_id] = load_audio(stamp.sound, sr=SOUND_RATE)
        except AudioError as exc:  # e.g. the package's nandou.ogg is all zeros
            skipped.append((stamp.stamp_id, str(exc)))
    candidates = [stamp for stamp in find_stamps(stamps_dir) if stamp.stamp_id in sounds]
    splits = split_stamps(candidates, rng, test_fraction)
    used = [stamp for stamp in candidates if stamp.stamp_id in splits]
    if not used:
        raise ValueError(f"no usable recording+photo stamps with a class under {stamps_dir}")
    total, done, rows = len(used) * augment, 0, []
    with staged_output(out_dir, overwrite) as staging:
        report_progress(progress, 0, total)
        for stamp_index, stamp in enumerate(used):
            wave, rate = sounds[stamp.stamp_id]
            photo = cutout(stamp.image)
            slug = stamp.stamp_id.replace("/", "__")
            (staging / "sounds").mkdir(exist_ok=True)
            (staging / "images").mkdir(exist_ok=True)
            for variant in range(augment):
                # One generator per (seed, stamp, variant): output does not depend on build order.
                local = np.random.default_rng([seed, stamp_index, variant])
                plain = variant == 0
                sound_rel, image_rel = f"sounds/{slug}_{variant}.wav", f"images/{slug}_{variant}.png"
                soundfile.write(staging / sound_rel, augment_sound(wave, local, rate, plain), rate,
                                subtype="PCM_16")
                augment_image(photo, local, image_size, plain).save(staging / image_rel)
                rows.append({"sound": sound_rel, "image": image_rel, "label": stamp.label,
                             "split": splits[stamp.stamp_id], "group": stamp.stamp_id,
                             "stamp": stamp.stamp_id.rsplit("/", 1)[-1], "variant": variant})
                done += 1
                report_progress(progress, done, total)
        write_manifest(staging, rows)
    root = Path(out_dir)
    return BuildResult(root=root, manifest=root / MANIFEST_NAME, rows=rows, skipped=skipped)
