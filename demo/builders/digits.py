"""The 'digits' demo dataset: spoken digits from espeak-ng voices paired with scikit-learn's handwritten
digits (8x8, upscaled).

Voices are an English accent plus a voice variant (timbre). Variants fall into families by how
espeak-ng makes them, read from each variant file: 'klatt' (the Klatt formant synthesiser), 'breathy'
(whispered and breathy voices) and 'formant' (espeak's own synthesiser, all the others). One family
is held out: its voices make the 'heldout' split, so scores there measure whether a model carries over
to a voice family it never heard. The other families' variants are split three ways, so 'val' (model
selection) and 'test' (in-domain) voices use timbres no training voice uses. Every clip draws its own
speed and pitch and goes through the same augmentation whatever its split (AUGMENT_OPTIONS: SoX
tempo and pitch, a synthetic or SoX-reverberated room, an equaliser, an 8 kHz mu-law telephone line,
noise and level). Test, held-out and validation images come from a pool of
handwritten digits disjoint from the training pool.

A second held-out family, 'human-recorded', is festival's ked diphone voice (Debian festvox-kdlpc16k:
diphones cut from recordings of one American English speaker), each of its 'voices' a duration
stretch and a pitch shift of ked. It is never trained on: its clips go to 'heldout' beside the espeak
family, told apart by `family` (and by the group, 'festival-ked+...'), so a bench can score a model
trained on synthetic voices on speech cut from a person's.

Training also hears a neural voice, Piper's 'joe' (demo/builders/neural_voice.py): family 'neural',
train split only, so val and test stay espeak timbres no training voice uses. With
`n_accented_voices`, training also hears people: festival's voices of nine speakers of other
languages saying the digits with an accent (demo/builders/accented_voices.py), family
'accented-human', train split only.

Never used here, because our evaluation uses them: flite (every voice), festival voices built from
flite's or CMU ARCTIC speakers (kal, slt, awb, rms, bdl, clb, jmk, ksp ...), Tux Paint and Asterisk
recordings.
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

from .accented_voices import ACCENTED_FAMILY, ACCENTED_VOICES, installed_accented_voices, require_accented_voices
from .festival import festival_clips
from .neural_voice import NEURAL_FAMILY, load_joe, neural_clips
from .manifest import MANIFEST_NAME, BuildResult, ProgressCallback, report_progress, staged_output, write_manifest
from .sound_augment import augment_sound

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# espeak-ng's English accents (en-us-nyc renders digits exactly like en-us, so it is left out).
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd")
VOICE_FAMILIES = ("formant", "klatt", "breathy")
HUMAN_FAMILY = "human-recorded"
FESTIVAL_VOICE = "ked_diphone"  # the only festival voice allowed here (see the module docstring)
SOUND_RATE = 22050
# Every clip, whatever its split: tempo and pitch from SoX on half of them (beside espeak's own speed
# and pitch), SoX's reverberator for a third of the rooms, a telephone line for one in six.
AUGMENT_OPTIONS = dict(speed_pitch=0.5, speed_range=(0.8, 1.25), cents_range=(-300.0, 300.0), reverb=0.35,
                       telephone=0.15)


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


def _festival_binary() -> str:
    binary = shutil.which("festival")
    voice_found = any(Path(root).glob(f"*/{FESTIVAL_VOICE}") for root in ("/usr/share/festival/voices",
                                                                         "/usr/local/share/festival/voices"))
    if binary is None or not voice_found:
        raise RuntimeError("the digits dataset's human-recorded family needs festival and its ked voice "
                           "(Debian: apt-get install festival festvox-kdlpc16k); or build with n_human_voices=0")
    return binary


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
        wave = augment_sound(wave, rate, np.random.default_rng(augment_seed), **AUGMENT_OPTIONS)
        soundfile.write(str(out_path), wave, rate, subtype="PCM_16")


def build_digits(out_dir: str | os.PathLike, seed: int = 0, n_voices: int = 120, n_heldout_voices: int = 20,
                 n_human_voices: int = 20, n_neural_voices: int = 20, n_accented_voices: int = 0,
                 heldout_family: str = "klatt",
                 takes_per_voice: int = 1,
                 val_fraction: float = 0.1, human_stretch: tuple[float, float] = (0.8, 1.3),
                 human_cents: tuple[float, float] = (-300.0, 500.0),
                 test_fraction: float = 0.2, image_size: int = 32, speed_range: tuple[int, int] = (120, 250),
                 pitch_range: tuple[int, int] = (15, 85), augment: bool = True, workers: int | None = None,
                 overwrite: bool = False, progress: ProgressCallback | None = None) -> BuildResult:
    """Spoken digit -> handwritten digit pairs: `n_voices` in-domain voices (train / val / test by
    timbre), `n_heldout_voices` of `heldout_family` ('' = none held out) and `n_human_voices` of
    festival's ked (held out too: a duration stretch from `human_stretch` and a pitch shift in cents from
    `human_cents` each) and `n_neural_voices` settings of Piper's joe for training, every voice saying
    the ten digits `takes_per_voice` times, and `n_accented_voices` settings (a duration stretch and a
    pitch shift) of festival's accented human voices for training, round-robin over the speakers.
    Classes are balanced in every split."""
    if n_voices < 3:
        raise ValueError(f"n_voices must be >= 3 so train, val and test each get a voice, got {n_voices}")
    for name, value in (("n_human_voices", n_human_voices), ("n_neural_voices", n_neural_voices),
                        ("n_accented_voices", n_accented_voices)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
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
    festival = _festival_binary() if n_human_voices else None
    accented_binary = require_accented_voices() if n_accented_voices else None
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
    # Its own random stream, and its clips after every espeak clip below, so adding the family leaves
    # the espeak rows as they were.
    human, human_rng = [], random.Random(f"festival-ked-{seed}")
    for _ in range(n_human_voices):
        stretch = round(human_rng.uniform(*human_stretch), 2)
        cents = round(human_rng.uniform(*human_cents) / 10) * 10
        name = f"festival-ked+t{stretch:.2f}p{cents:d}"  # one "+": family_of reads what follows it
        if name not in {v for v, _, _ in human}:
            human.append((name, stretch, cents))
    family_of.update({name.split("+")[1]: HUMAN_FAMILY for name, _, _ in human})
    voices += [("heldout", name) for name, _, _ in human]
    neural, neural_rng = {}, random.Random(f"piper-joe-{seed}")
    while len(neural) < n_neural_voices:
        variant = dict(length_scale=round(neural_rng.uniform(0.8, 1.35), 2),
                       noise_scale=round(neural_rng.uniform(0.4, 1.0), 2),
                       noise_w=round(neural_rng.uniform(0.5, 1.1), 2), cents=round(neural_rng.uniform(-300, 400) / 10) * 10)
        neural["piper-joe+l{length_scale:.2f}n{noise_scale:.2f}w{noise_w:.2f}p{cents:d}".format(**variant)] = variant
    family_of.update({name.split("+")[1]: NEURAL_FAMILY for name in neural})
    voices += [("train", name) for name in neural]
    # Its own random stream too, after the neural voices: adding the family leaves every other row as it was.
    accented, accented_rng = {}, random.Random(f"festival-accented-{seed}")
    speakers = installed_accented_voices() if n_accented_voices else []
    while len(accented) < n_accented_voices:
        speaker = speakers[len(accented) % len(speakers)]
        stretch = round(accented_rng.uniform(*human_stretch), 2)
        cents = round(accented_rng.uniform(-300, 400) / 10) * 10
        accented[f"accented-{speaker.replace('_', '-')}+t{stretch:.2f}p{cents:d}"] = (speaker, stretch, cents)
    family_of.update({name.split("+")[1]: ACCENTED_FAMILY for name in accented})
    voices += [("train", name) for name in accented]
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

    for row, (voice, *_) in zip(rows, jobs):
        if voice.startswith("festival-"):  # festival's rows: its stretch and pitch shift, not espeak's
            stretch, cents = next((s, c) for name, s, c in human if name == voice)
            row.update(speed=stretch, pitch=cents)
        elif voice in neural:
            row.update(speed=neural[voice]["length_scale"], pitch=neural[voice]["cents"])
        elif voice in accented:
            row.update(speed=accented[voice][1], pitch=accented[voice][2])
    espeak_jobs = [job for job in jobs if not job[0].startswith(("festival-", "piper-", "accented-"))]
    festival_jobs = [[job for job in jobs if job[0] == name] for name, _, _ in human]
    neural_jobs = [[job for job in jobs if job[0] == name] for name in neural]
    accented_jobs = [[job for job in jobs if job[0] == name] for name in accented]
    total = len(jobs)
    with staged_output(out_dir, overwrite) as staging:
        for split, voice in voices:
            for kind in ("sounds", "images"):
                (staging / kind / voice.replace("+", "_")).mkdir(parents=True, exist_ok=True)

        def make(job) -> int:
            voice, speed, pitch, word, sound, image8, image, augment_seed = job
            _speak(binary, voice, speed, pitch, word, staging / sound, augment_seed)
            _digit_png(image8, image_size).save(staging / image)
            return 1

        def make_festival(voice_jobs) -> int:
            name = voice_jobs[0][0]
            stretch, cents = next((s, c) for n, s, c in human if n == name)
            festival_clips(festival, FESTIVAL_VOICE, stretch, cents,
                           [(word, staging / sound, augment_seed) for _, _, _, word, sound, _, _, augment_seed in voice_jobs],
                           staging / "scratch" / name.replace("+", "_"), SOUND_RATE, AUGMENT_OPTIONS)
            for *_, image8, image, _ in voice_jobs:
                _digit_png(image8, image_size).save(staging / image)
            return len(voice_jobs)

        def make_neural(voice_jobs) -> int:
            neural_clips(neural[voice_jobs[0][0]], [(word, staging / sound, augment_seed) for _, _, _, word, sound, _, _,
                                                    augment_seed in voice_jobs], SOUND_RATE, AUGMENT_OPTIONS)
            for *_, image8, image, _ in voice_jobs:
                _digit_png(image8, image_size).save(staging / image)
            return len(voice_jobs)

        def make_accented(voice_jobs) -> int:
            name = voice_jobs[0][0]
            speaker, stretch, cents = accented[name]
            spellings = ACCENTED_VOICES[speaker][1]   # the digit in the speaker's own letters
            festival_clips(accented_binary, speaker, stretch, cents,
                           [(spellings[DIGIT_WORDS.index(word)], staging / sound, augment_seed)
                            for _, _, _, word, sound, _, _, augment_seed in voice_jobs],
                           staging / "scratch" / name.replace("+", "_"), SOUND_RATE, AUGMENT_OPTIONS)
            for *_, image8, image, _ in voice_jobs:
                _digit_png(image8, image_size).save(staging / image)
            return len(voice_jobs)

        if neural:
            load_joe()  # once, before the threads; a missing package is one clear error
        done = 0
        report_progress(progress, 0, total)
        # espeak-ng and festival are subprocesses, so threads give real parallelism across the cores.
        with ThreadPoolExecutor(max_workers=workers or max(2, os.cpu_count() or 2)) as pool:
            work = [pool.submit(make_festival, voice_jobs) for voice_jobs in festival_jobs]
            work += [pool.submit(make_neural, voice_jobs) for voice_jobs in neural_jobs]
            work += [pool.submit(make_accented, voice_jobs) for voice_jobs in accented_jobs]
            work += [pool.submit(make, job) for job in espeak_jobs]
            try:
                for future in work:
                    done += future.result()
                    report_progress(progress, done, total)
            except BaseException:
                pool.shutdown(cancel_futures=True)  # a failed clip fails the build: stop the rest
                raise
        if (staging / "scratch").exists():
            shutil.rmtree(staging / "scratch")
        write_manifest(staging, rows)
    root = Path(out_dir)
    return BuildResult(root=root, manifest=root / MANIFEST_NAME, rows=rows)
