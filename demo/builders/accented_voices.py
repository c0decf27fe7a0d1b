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
from pathlib import Path

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
