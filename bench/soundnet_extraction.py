"""Benchmark: SoundNet layer-18 feature extraction, decoding included, against the pure forward pass.

Both sides process the same real recordings (Tux Paint's sounds, OGG Vorbis): the full path decodes
each file, resamples to 22,050 Hz, scales, runs SoundNet up to layer 18 and pools over time (what a
training run pays once per clip before the cache); the baseline runs only the forward pass on the
same waveforms already decoded and prepared in memory. Prints both as x real time and their ratio.

Usage: .venv/bin/python bench/soundnet_extraction.py [--files 20] [--repeats 3] [--threads 2]
"""
import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gan.ml.audio import load_audio  # noqa: E402
from gan.ml.features import FeatureSpec, extract_features  # noqa: E402
from gan.ml.soundnet import SOUNDNET_SAMPLE_RATE, layer18_features, load_soundnet, prepare_waveform  # noqa: E402

STAMPS = Path("/usr/share/tuxpaint/stamps")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    files = sorted(STAMPS.rglob("*.ogg"))[: args.files * 2]
    model = load_soundnet(device="cpu")
    spec = FeatureSpec(kind="soundnet")
    usable, audio_seconds = [], 0.0
    for path in files:
        try:
            wave, sr = load_audio(path, sr=SOUNDNET_SAMPLE_RATE)
        except ValueError:  # a silent or broken stamp sound: not part of the benchmark
            continue
        usable.append((path, prepare_waveform(wave, sr)))
        audio_seconds += len(wave) / sr
        if len(usable) == args.files:
            break
    if not usable:
        raise SystemExit(f"no usable recordings under {STAMPS} (install tuxpaint-stamps-default)")

    def full_path():
        for path, _ in usable:
            wave, sr = load_audio(path, sr=SOUNDNET_SAMPLE_RATE)
            extract_features(wave, sr, spec, soundnet=model)

    def forward_only():
        for _, prepared in usable:
            layer18_features(model, prepared).mean(axis=1)

    with torch.inference_mode():
        forward_only()  # warm-up: oneDNN builds its kernels for each input length once
        full_path()
        best = {"full": np.inf, "forward": np.inf}
        for _ in range(args.repeats):  # alternate so both see the same machine load
            for name, fn in (("full", full_path), ("forward", forward_only)):
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
    full_rt, fwd_rt = audio_seconds / best["full"], audio_seconds / best["forward"]
    print(f"{len(usable)} recordings, {audio_seconds:.1f} s of audio, {args.threads} threads, best of {args.repeats}")
    print(f"decode + resample + SoundNet layer 18 + pool : {best['full']:.2f} s = {full_rt:7.1f} x real time")
    print(f"SoundNet forward only (audio in memory)      : {best['forward']:.2f} s = {fwd_rt:7.1f} x real time")
    print(f"ratio full / forward-only throughput: {full_rt / fwd_rt:.2f}")


if __name__ == "__main__":
    main()
