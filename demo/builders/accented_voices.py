"""Human-recorded training speech for the digits dataset: festival's diphone voices of other languages
(Debian festvox-italp16k, festvox-itapc16k, festvox-czech-dita, festvox-czech-machac, festvox-czech-ph,
festvox-czech-krb (a boy), festvox-suopuhe-lj, festvox-suopuhe-mv, and festvox-ca-ona-hts, a statistical
voice trained on one woman's recordings), each made from one person's speech, saying the English
digits spelt in their own language's letters ("uan", "tu", "tri" ...): English words in a human
voice with a foreign accent.

Why: espeak-ng's voices and Piper's one neural voice are all the digits dataset trains on, and a
linear probe on their features names a digit spoken by festival's (held-out) English ked voice about
a third of the time (docs/results/digits-features.md). What is missing is the sound of people:
several real vocal tracts, female, male and a child's. These nine speakers are none of flite's or the CMU
ARCTIC speakers, and none of them is ked. Family 'accented-human', train split only.

The spellings were written once from each language's letter-to-sound rules, not tuned on any
score.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile

from .sound_augment import augment_sound, sox_effects, speed_and_pitch

ACCENTED_FAMILY = "accented-human"
# festival voice -> (Debian package, the ten digits zero..nine spelt for that voice's language)
ACCENTED_VOICES = {
    "lp_diphone": ("festvox-italp16k", ("ziro", "uan", "tu", "tri", "for", "faiv", "sics", "seven", "eit", "nain")),
    "pc_diphone": ("festvox-itapc16k", ("ziro", "uan", "tu", "tri", "for", "faiv", "sics", "seven", "eit", "nain")),
    "czech_dita": ("festvox-czech-dita", ("zirou", "uan", "tu", "tri", "for", "fajv", "siks", "seven", "ejt",
                                          "najn")),
    "czech_machac": ("festvox-czech-machac", ("zirou", "uan", "tu", "tri", "for", "fajv", "siks", "seven", "ejt",
                                              "najn")),
    "suo_fi_lj_diphone": ("festvox-suopuhe-lj", ("siirou", "uan", "tuu", "trii", "foor", "faiv", "siks", "seven",
                                                 "eit", "nain")),
    "hy_fi_mv_diphone": ("festvox-suopuhe-mv", ("siirou", "uan", "tuu", "trii", "foor", "faiv", "siks", "seven",
                                                "eit", "nain")),
    "czech_ph": ("festvox-czech-ph", ("zirou", "uan", "tu", "tri", "for", "fajv", "siks", "seven", "ejt", "najn")),
    "czech_krb": ("festvox-czech-krb", ("zirou", "uan", "tu", "tri", "for", "fajv", "siks", "seven", "ejt", "najn")),
    "upc_ca_ona_hts": ("festvox-ca-ona-hts", ("ziro", "uan", "tu", "tri", "for", "faiv", "sics", "seven", "eit",
                                              "nain")),
}
VOICE_ROOTS = ("/usr/share/festival/voices", "/usr/local/share/festival/voices")


def installed_accented_voices() -> list[str]:
    """The ACCENTED_VOICES festival can load on this machine, in table order."""
    return [name for name in ACCENTED_VOICES if any(Path(root).glob(f"*/{name}") for root in VOICE_ROOTS)]


def require_accented_voices() -> str:
    """festival's binary; one clear error naming what to install when festival or a voice is missing."""
    binary = shutil.which("festival")
    missing = [ACCENTED_VOICES[name][0] for name in ACCENTED_VOICES if name not in installed_accented_voices()]
    if binary is None or missing:
        packages = " ".join(["festival"] * (binary is None) + missing)
        raise RuntimeError(f"the digits dataset's accented human voices need festival and its voices (Debian: "
                           f"apt-get install {packages}); or build with n_accented_voices=0")
    return binary


def accented_clips(binary: str, voice: str, stretch: float, cents: float,
                   clips: list[tuple[int, Path, list[int] | None]], scratch: Path, rate: int,
                   augment_options: dict) -> None:
    """`voice` says each (digit, path, augment seed) in its own spelling at a duration stretch; SoX
    shifts the pitch by `cents` and resamples to `rate`; the clip gets the dataset's augmentation.
    One festival process per voice setting (loading a voice costs more than a word)."""
    spellings = ACCENTED_VOICES[voice][1]
    scratch.mkdir(parents=True, exist_ok=True)
    raw = [scratch / f"{index}.wav" for index in range(len(clips))]
    script = [f"(voice_{voice})", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
    script += [f'(utt.save.wave (utt.synth (Utterance Text "{spellings[digit]}")) "{path}" \'riff)'
               for (digit, _, _), path in zip(clips, raw)]
    (scratch / "say.scm").write_text("\n".join(script) + "\n")
    result = subprocess.run([binary, "--batch", str(scratch / "say.scm")], capture_output=True, text=True,
                            timeout=300)
    for (digit, out_path, augment_seed), path in zip(clips, raw):
        if result.returncode != 0 or not path.is_file() or path.stat().st_size <= 44:
            raise RuntimeError(f"festival ({voice}) failed saying {spellings[digit]!r} (exit {result.returncode}): "
                               f"{(result.stderr or result.stdout).strip()[:300]}")
        wave, source_rate = soundfile.read(str(path), dtype="float32")
        if wave.size == 0 or float(np.max(np.abs(wave))) < 1e-3:
            raise RuntimeError(f"festival ({voice}) wrote a silent clip saying {spellings[digit]!r}")
        wave = sox_effects(speed_and_pitch(wave, source_rate, 1.0, cents), source_rate, [], out_rate=rate)
        if augment_seed is not None:
            wave = augment_sound(wave, rate, np.random.default_rng(augment_seed), **augment_options)
        else:
            wave = wave * (0.5 / (float(np.max(np.abs(wave))) + 1e-12))
        soundfile.write(str(out_path), wave.astype(np.float32), rate, subtype="PCM_16")
    shutil.rmtree(scratch)
