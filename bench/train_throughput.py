"""Training throughput: the real input path against the same loop fed from arrays already in memory.

Real path (what a training job does): sound features read from an on-disk .npy feature cache through
``np.load(mmap_mode='r')`` and images decoded from PNG files on disk (``decode_images``), then full
G:D iterations. Baseline: identical trainer and schedule fed from arrays already in memory, nothing
read from disk. Both are timed end to end (the real path's decoding and loading included) and
reported in images/s (and images per CPU-second of this process, steadier on a shared machine),
where one iteration processes batch x (d_steps + g_steps) generated images.

    .venv/bin/python bench/train_throughput.py [--pairs 320 --epochs 5 --size 64 --width 16 --repeats 3 --threads 1]

Target: ratio >= 0.95.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan.ml.device import resolve_device  # noqa: E402
from gan.ml.paired_arrays import PairedArrays, decode_images  # noqa: E402
from gan.ml.trainer import Trainer  # noqa: E402
from gan.ml.variants import ModelConfig, TrainConfig  # noqa: E402

CLASSES = [f"class{i}" for i in range(9)]   # the paper's nine classes, by count


def write_dataset(root: Path, pairs: int, size: int, sound_dim: int, seed: int) -> tuple[Path, list[str], np.ndarray]:
    """A feature cache (.npy) and one PNG per pair on disk, as the platform stores them."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(pairs) % len(CLASSES)).astype(np.int64)
    features = rng.normal(size=(pairs, sound_dim)).astype(np.float32)
    features_path = root / "features.npy"
    np.save(features_path, features)
    paths = []
    yy, xx = np.mgrid[:size, :size]
    for i, label in enumerate(labels):
        # Smooth class-dependent pictures with noise: PNG sizes like real photos', not flat colour.
        base = np.stack([(np.sin(xx / (3 + label) + c) * 80 + 128) for c in range(3)], axis=-1)
        image = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        path = root / f"img_{i:05d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return features_path, paths, labels


def run(data_fn, model: ModelConfig, cfg: TrainConfig, run_dir: Path, device: str | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one full training run built by ``data_fn``."""
    wall, cpu = time.perf_counter(), time.process_time()
    data = data_fn()
    Trainer(model, "g", cfg, data, run_dir, device=device).train()
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=320)
    parser.add_argument("--epochs", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=64, choices=(32, 64))
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = ModelConfig(sound_dim=256, num_classes=len(CLASSES), image_size=args.size, channels=3,
                        g_width=args.width, d_width=args.width)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch, sample_every=0, checkpoint_every=10**9,
                      log_every=10**9)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        features_path, image_paths, labels = write_dataset(root, args.pairs, args.size, 256, seed=0)

        def real_path() -> PairedArrays:
            return PairedArrays(np.load(features_path, mmap_mode="r"),
                                decode_images(image_paths, args.size, 3), labels, CLASSES)

        in_memory = real_path()
        in_memory = PairedArrays(np.array(in_memory.features), in_memory.images.copy(), labels, CLASSES)

        def memory_path() -> PairedArrays:
            return in_memory

        # Warm-up (allocator, oneDNN/cuDNN kernel choice), then alternate so drift hits both alike.
        run(memory_path, model, TrainConfig(iterations=2, batch_size=args.batch, sample_every=0), root / "warm", args.device)
        images = cfg.total_iterations(args.pairs) * cfg.batch_size * (cfg.d_steps + cfg.g_steps)
        results = {"real": [], "memory": []}
        for r in range(args.repeats):
            for name, fn in (("memory", memory_path), ("real", real_path)):
                wall, cpu = run(fn, model, cfg, root / f"{name}{r}", args.device)
                results[name].append((images / wall, images / cpu))
                print(f"  {name:6s} run {r}: {wall:6.2f} s wall ({images / wall:7.1f} images/s), "
                      f"{cpu:6.2f} s CPU ({images / cpu:7.1f} images per CPU-s)")
        device = resolve_device(args.device)
        print(f"device {device}, {torch.get_num_threads()} threads, {args.pairs} pairs {args.size}x{args.size} RGB, "
              f"width {args.width}, batch {args.batch}, {cfg.total_iterations(args.pairs)} iterations (1 D + 5 G), "
              f"best of {args.repeats}")
        for column, label in ((0, "wall-clock images/s"), (1, "images per CPU-second")):
            real = max(x[column] for x in results["real"])
            memory = max(x[column] for x in results["memory"])
            print(f"{label:22s}: real input path {real:8.1f}, in-memory {memory:8.1f}, "
                  f"ratio {real / memory:.3f} (target >= 0.95)")
        # On a shared CPU other processes steal wall time unevenly; CPU time of this process is the
        # steadier measure there. On a dedicated GPU the wall-clock ratio is the one that counts.
