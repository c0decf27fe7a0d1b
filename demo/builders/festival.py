"""Speech from festival: one voice says a list of texts at a duration stretch, SoX shifts the pitch and
resamples, and each clip gets the dataset's augmentation. Used for the digits dataset's held-out ked
voice and its accented training voices (demo/builders/digits.py, accented_voices.py)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile

from .sound_augment import augment_sound, sox_effects, speed_and_pitch


def festival_clips(binary: str, voice: str, stretch: float, cents: float,
                   clips: list[tuple[str, Path, list[int] | None]], scratch: Path, rate: int,
                   augment_options: dict) -> None:
    """festival's `voice` says each (text, path, augment seed) at a duration stretch; then SoX shifts
    the pitch by `cents` and resamples to `rate`, and the clip gets `augment_options`' augmentation
    (or is only normalised, without a seed). One festival process per call: loading the voice costs
    more than a word."""
    scratch.mkdir(parents=True, exist_ok=True)
    raw = [scratch / f"{index}.wav" for index in range(len(clips))]
    script = [f"(voice_{voice})", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
    script += [f'(utt.save.wave (utt.synth (Utterance Text "{text}")) "{path}" \'riff)'
               for (text, _, _), path in zip(clips, raw)]
    (scratch / "say.scm").write_text("\n".join(script) + "\n")
    result = subprocess.run([binary, "--batch", str(scratch / "say.scm")], capture_output=True, text=True,
                            timeout=300)
    for (text, out_path, augment_seed), path in zip(clips, raw):
        if result.returncode != 0 or not path.is_file() or path.stat().st_size <= 44:
            raise RuntimeError(f"festival ({voice}) failed saying {text!r} (exit {result.returncode}): "
                               f"{(result.stderr or result.stdout).strip()[:300]}")
        wave, source_rate = soundfile.read(str(path), dtype="float32")
        if wave.size == 0 or float(np.max(np.abs(wave))) < 1e-3:
            raise RuntimeError(f"festival ({voice}) wrote a silent clip saying {text!r}")
        wave = sox_effects(speed_and_pitch(wave, source_rate, 1.0, cents), source_rate, [], out_rate=rate)
        if augment_seed is not None:
            wave = augment_sound(wave, rate, np.random.default_rng(augment_seed), **augment_options)
        else:
            wave = wave * (0.5 / (float(np.max(np.abs(wave))) + 1e-12))
        soundfile.write(str(out_path), wave.astype(np.float32), rate, subtype="PCM_16")
    shutil.rmtree(scratch)
