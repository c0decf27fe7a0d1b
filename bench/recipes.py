"""Recipe bench: which training recipe makes pictures that depict their sound, for the same compute?

Every recipe trains on the instruments dataset's training pairs (SoundNet layer-18 features) for the
same budget of CPU seconds per seed (one thread each, so a busy machine slows a run's clock but not
its share of work), then draws one image per test sound, from the in-domain 'test' split and the
'heldout' split (a General MIDI sample set never heard in training). The last weights at the budget
are judged (no model selection, so no split but 'train' shapes a recipe's result). Judges, none of
which any discriminator trains on:

* **ImageNet judge**: EfficientNet-Lite0, closed set over the dataset's class map, beside its accuracy
  on the real photos of the same split at the same size. (Row h's projected discriminator uses
  EfficientNet-Lite1's features; Lite0 is a separately trained network, though of the same family.)
* **Domain judge**: a small CNN trained on the dataset's real training photos.
* **Probe ceiling**: a linear probe on the same sound features (train -> split): no generator can map
  sounds to classes more reliably than their features allow.
* **Diversity**: mean within-class pairwise distance of Inception pool features (the FID network),
  generated beside real photos of the split; and FID (overall and mean per class) against them.

    .venv/bin/python manage.py build_demo_dataset instruments      # once
    .venv/bin/python bench/recipes.py instruments --budget-s 600 --seeds 0,1,2 --parallel 2
    .venv/bin/python bench/recipes.py instruments --report         # tables from the stored runs

Each (recipe, seed) runs in its own process (``--run RECIPE:SEED``) and writes a JSON result under
``var/recipes/<dataset>/``; ``--report`` writes docs/results/recipes.md and the Fig. 2 grids.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from recipe_truncation import TRUNCATIONS, select_truncation, truncation_section  # noqa: E402  (bench/ is the script's folder)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
SPLITS = ("train", "val", "test", "heldout")
PAPER_SCHEDULE = {"batch_size": 32, "d_steps": 1, "g_steps": 1}          # the cpu preset's (suite.py)
H_SCHEDULE = {"batch_size": 32, "d_steps": 1, "g_steps": 1, "betas": [0.0, 0.99]}   # Sauer et al.'s Adam


@dataclass(frozen=True)
class Recipe:
    variant: str
    what: str
    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)


RECIPES = {
    "g32": Recipe("g", "the paper's row g, 32x32, width 16 (the cpu preset)",
                  {"image_size": 32, "g_width": 16, "d_width": 16}, PAPER_SCHEDULE),
    "g64": Recipe("g", "the paper's row g, 64x64, width 32", {"image_size": 64, "g_width": 32, "d_width": 32},
                  PAPER_SCHEDULE),
    **{name: Recipe(name, what, {"image_size": 64, "g_width": 32, "d_width": 32}, H_SCHEDULE) for name, what in (
        ("h", "row h: projected D (Lite1), upsample+CBN G, DiffAugment, EMA, sound noise"),
        ("h-proj", "h without the projected D (the paper's D with row f's projection head)"),
        ("h-cbn", "h without the upsample+CBN G (the paper's transposed-conv G)"),
        ("h-aug", "h without DiffAugment"),
        ("h-ema", "h without the weight average"),
        ("h-noise", "h without sound noise"),
    )},
}
# The bench's winner at 32x32, judged against the real photos at 32 px: the same parts, a quarter of
# the generator's pixels (the projected D still sees 64 px: it upsamples what it is shown).
RECIPES["h-cbn32"] = Recipe("h-cbn", "h-cbn at 32x32", {"image_size": 32, "g_width": 32, "d_width": 32}, H_SCHEDULE)
DEFAULT_RECIPES = ("g64", "h", "h-proj", "h-cbn")


def work_dir(dataset: str) -> Path:
    return REPO / "var" / "recipes" / dataset


# --- data: the dataset's splits as arrays, exported once (Django) ---------------------------------------
def export_arrays(dataset_name: str) -> Path:
    """features (SoundNet layer 18, time-averaged), images at 64 and 32 px, labels per split -> one .npz."""
    out = work_dir(dataset_name) / "arrays.npz"
    if out.is_file():
        return out
    import django

    django.setup()
    from gan.ml.features import FeatureSpec
    from gan.models import Dataset
    from gan.selectors.datasets import usable_pairs
    from gan.services.datasets import load_images
    from gan.services.features import features_for_pairs

    dataset = Dataset.objects.filter(name=dataset_name).first()
    if dataset is None:
        raise SystemExit(f"no dataset {dataset_name!r}; build it: manage.py build_demo_dataset {dataset_name}")
    index = {name: i for i, name in enumerate(dataset.class_names)}
    arrays = {"class_names": np.array(dataset.class_names)}
    for split in SPLITS:
        pairs = list(usable_pairs(dataset, split))
        print(f"{split}: {len(pairs)} pairs", flush=True)
        arrays[f"{split}_features"] = features_for_pairs(pairs, FeatureSpec.from_dict({"kind": "soundnet"}))
        arrays[f"{split}_images64"] = load_images(pairs, 64, 3)
        arrays[f"{split}_images32"] = load_images(pairs, 32, 3)
        arrays[f"{split}_labels"] = np.array([index[p.label] for p in pairs], dtype=np.int64)
        arrays[f"{split}_ids"] = np.array([p.pk for p in pairs], dtype=np.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, out)
    return out


# --- judges (pure PyTorch; built once per process) ---------------------------------------------------------
class Judges:
    def __init__(self, arrays, class_map: dict):
        from gan.ml.classifiers import imagenet_class_names, load_efficientnet_lite0
        from gan.ml.classifiers.domain_classifier import train_domain_classifier
        from gan.ml.classifiers.fid_features import load_fid_feature_extractor
        from gan.ml.cleaning import ClassMap

        self.class_names = list(arrays["class_names"])
        self.lite0 = load_efficientnet_lite0(device="cpu")
        mapping = ClassMap({name: class_map[name] for name in self.class_names}, imagenet_class_names())
        self.imagenet_to_class = mapping.class_of
        self.domain = train_domain_classifier(arrays["train_images64"], arrays["train_labels"], seed=0,
                                              class_names=self.class_names, device="cpu")
        self.fid = load_fid_feature_extractor(device="cpu")

    def imagenet_classes(self, images) -> np.ndarray:
        from gan.ml.metrics import class_predictions

        return class_predictions(self.lite0.predict_proba(images), self.imagenet_to_class, len(self.class_names), closed_set=True)

    def domain_classes(self, images) -> np.ndarray:
        return self.domain.predict(images)

    def judge(self, images: np.ndarray, labels: np.ndarray, real_features: np.ndarray | None = None) -> dict:
        """Both judges' class consistency, diversity and FID (against real_features) of NHWC uint8 images."""
        from gan.ml.metrics import class_consistency, fid_from_features, within_class_diversity

        imagenet = class_consistency(self.imagenet_classes(images), labels, self.class_names)
        domain = class_consistency(self.domain_classes(images), labels, self.class_names)
        features = self.fid.features(images)
        result = {"imagenet": imagenet.overall, "imagenet_per_class": imagenet.per_class,
                  "domain": domain.overall, "domain_per_class": domain.per_class, "n": imagenet.n,
                  "diversity": within_class_diversity(features, labels)["value"], "features": features}
        if real_features is not None:
            result["fid"] = fid_from_features(features, real_features)
            result["fid_per_class"] = float(np.mean([fid_from_features(features[labels == k], real_features[labels == k])
                                                     for k in np.unique(labels)]))
        return result


def nhwc(images_nchw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images_nchw.transpose(0, 2, 3, 1))


def real_baselines(arrays, judges: Judges, size: int) -> dict:
    """The judges on the real photos of each split at ``size``, and the linear-probe ceiling."""
    from gan.ml.probe import linear_probe

    probe = linear_probe(arrays["train_features"], arrays["train_labels"],
                         {s: (arrays[f"{s}_features"], arrays[f"{s}_labels"]) for s in ("test", "heldout")})
    out = {}
    for split in ("test", "heldout"):
        judged = judges.judge(nhwc(arrays[f"{split}_images{size}"]), arrays[f"{split}_labels"])
        judged.pop("features")
        out[split] = {**judged, "probe": probe[split]["accuracy"], "probe_ci": probe[split]["ci"]}
    return out


# --- one run -----------------------------------------------------------------------------------------------
class CpuBudget:
    """Trainer callbacks: stop once the process has used ``seconds`` of CPU time (all threads)."""

    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, time.process_time()
        self.last_line = 0.0

    def should_stop(self) -> bool:
        used = time.process_time() - self.start
        if used - self.last_line >= 60:
            self.last_line = used
            print(f"  {used:.0f}/{self.seconds:.0f} CPU s", flush=True)
        return used >= self.seconds


def run_recipe(dataset: str, name: str, seed: int, budget_s: float) -> Path:
    import torch

    from demo.builders.instruments import CLASS_MAP
    from gan.ml.generate import class_grid, generate_images, sound_seed
    from gan.ml.paired_arrays import PairedArrays
    from gan.ml.trainer import Trainer
    from gan.ml.variants import ModelConfig, TrainConfig

    torch.set_num_threads(1)
    recipe = RECIPES[name]
    arrays = dict(np.load(export_arrays(dataset)))
    size = recipe.model["image_size"]
    class_names = list(arrays["class_names"])
    data = PairedArrays(arrays["train_features"], arrays[f"train_images{size}"], arrays["train_labels"], class_names)
    model_cfg = ModelConfig(sound_dim=data.features.shape[1], num_classes=len(class_names), **recipe.model)
    # A cap far beyond the budget: the CPU budget stops the run (status 'cancelled' = budget reached).
    train_cfg = TrainConfig.from_dict({"iterations": 100_000, "seed": seed, "checkpoint_every": 100_000,
                                       "sample_every": 0, "log_every": 5, **recipe.train})
    run_dir = work_dir(dataset) / "runs" / f"{name}_s{seed}"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)           # a budget run is never resumed: its clock would restart
    started, wall = time.process_time(), time.monotonic()
    trainer = Trainer(model_cfg, recipe.variant, train_cfg, data, run_dir, device="cpu", callbacks=CpuBudget(budget_s))
    summary = trainer.train()
    cpu_s, wall_s = time.process_time() - started, time.monotonic() - wall
    print(f"{name} seed {seed}: {summary['step']} iterations in {cpu_s:.0f} CPU s ({wall_s:.0f} s wall)", flush=True)

    judges = Judges(arrays, CLASS_MAP)
    result = {"recipe": name, "variant": recipe.variant, "seed": seed, "budget_s": budget_s,
              "iterations": summary["step"], "cpu_s": cpu_s, "wall_s": wall_s,
              "model": model_cfg.to_dict(), "train": train_cfg.to_dict(), "splits": {}}
    generator = trainer.image_generator
    from gan.ml.metrics import within_class_diversity

    # The real photos' features and spread per split: the same at every truncation level, so once.
    real_features = {split: judges.fid.features(nhwc(arrays[f"{split}_images{size}"])) for split in ("val", "test", "heldout")}
    real_diversity = {split: within_class_diversity(real_features[split], arrays[f"{split}_labels"])["value"]
                      for split in real_features}
    for truncation in TRUNCATIONS:
        judged_at = result.setdefault("truncation", {}).setdefault(f"{truncation:g}", {})
        for split in ("val", "test", "heldout"):
            seeds = [sound_seed(f"pair-{i}", 0) for i in arrays[f"{split}_ids"]]
            images = generate_images(generator, arrays[f"{split}_features"], seeds=seeds, device="cpu",
                                     truncation=truncation)
            labels = arrays[f"{split}_labels"]
            judged = judges.judge(images, labels, real_features=real_features[split])
            judged.pop("features")
            judged["diversity_share"] = judged["diversity"] / real_diversity[split]
            judged_at[split] = judged
            if truncation == 1.0 and split != "val":
                result["splits"][split] = judged          # the untruncated figures, as every earlier run
                per_class = min(4, int(np.bincount(labels).min()))
                order = np.concatenate([np.flatnonzero(labels == k)[:per_class] for k in range(len(class_names))])
                grid = class_grid(images[order], labels[order], class_names, per_class)
                grid.save(work_dir(dataset) / "runs" / f"{run_label(name, budget_s)}_s{seed}_{split}.png")
            print(f"  truncation {truncation:g} {split}: Lite0 {judged['imagenet']:.3f} domain {judged['domain']:.3f} "
                  f"diversity/real {judged['diversity_share']:.2f}", flush=True)
    result["selected_truncation"] = select_truncation(result["truncation"])
    out = work_dir(dataset) / "results" / f"{run_label(name, budget_s)}_s{seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({s: {k: v for k, v in r.items() if not isinstance(v, dict)} for s, r in result["splits"].items()}),
          flush=True)
    return out


# --- report ------------------------------------------------------------------------------------------------
def run_label(name: str, budget_s: float) -> str:
    """A recipe at one budget: the same recipe trained longer is another row, not a replacement."""
    return f"{name}@{budget_s:.0f}s"


def _ci(values: list[float], scale: float = 100.0, unit: str = "%") -> str:
    import django

    django.setup()                      # gan.reports' interval helper lives beside its models
    from gan.reports.tables import mean_interval

    mean, interval = mean_interval(values)
    ci = f" [{scale * interval[0]:.1f}, {scale * interval[1]:.1f}]" if interval else ""
    return f"{scale * mean:.1f}{unit}{ci}"


def report(dataset: str, out: Path) -> None:
    from demo.builders.instruments import CLASS_MAP

    # One row per recipe and budget (a recipe trained longer is another row), in RECIPES order.
    results: dict[str, list[dict]] = {}
    for path in sorted((work_dir(dataset) / "results").glob("*.json")):
        r = json.loads(path.read_text())
        results.setdefault(run_label(r["recipe"], r["budget_s"]), []).append(r)
    if not results:
        raise SystemExit("no recipe runs stored yet: run bench/recipes.py first")
    rows = sorted(results, key=lambda label: (results[label][0]["budget_s"], list(RECIPES).index(results[label][0]["recipe"])))
    arrays = dict(np.load(export_arrays(dataset)))
    judges = Judges(arrays, CLASS_MAP)
    real = {size: real_baselines(arrays, judges, size) for size in (32, 64)}
    figures = REPO / "docs" / "results" / "recipes"
    figures.mkdir(parents=True, exist_ok=True)
    lines = [f"# Recipe bench ({dataset})", "",
             f"Made by `bench/recipes.py {dataset}` runs and `--report`. Each recipe trained for the same CPU "
             "budget per seed (one thread), last weights judged, one image per test sound. A row is a recipe "
             "at a budget (`name@seconds`). Mean over seeds [95% t-interval across seeds]; n = sounds per "
             "seed. Judges: **Lite0** = EfficientNet-Lite0 (ImageNet, closed set over the class map; no "
             "discriminator trains on it, row h's D uses Lite1), **domain** = a small CNN trained on the real "
             "training photos. Probe = linear probe on the SoundNet features (train -> split), the ceiling "
             "for class consistency.", ""]
    for split, title in (("heldout", "Held-out sample set (MuseScore_General, never heard in training)"),
                         ("test", "In-domain test sounds (training sample sets, unseen melodies)")):
        lines += [f"## {title}", "",
                  "| recipe | seeds | iterations | Lite0 class consistency | / real | domain class consistency "
                  "| / probe | diversity / real | FID | per-class FID |", "|---|---|---|---|---|---|---|---|---|---|"]
        for label in rows:
            runs = results[label]
            size = RECIPES[runs[0]["recipe"]].model["image_size"]
            base = real[size][split]
            s = [r["splits"][split] for r in runs]
            lite0 = [x["imagenet"] for x in s]
            domain = [x["domain"] for x in s]
            lines.append(
                f"| {label} | {len(runs)} | {np.mean([r['iterations'] for r in runs]):.0f} | {_ci(lite0)} "
                f"| {np.mean(lite0) / base['imagenet']:.2f} | {_ci(domain)} | {np.mean(domain) / base['probe']:.2f} "
                f"| {np.mean([x['diversity'] for x in s]) / base['diversity']:.2f} "
                f"| {_ci([x['fid'] for x in s], 1, '')} | {_ci([x['fid_per_class'] for x in s], 1, '')} |")
        for size in (32, 64):
            base = real[size][split]
            lines.append(f"| real photos, {size} px (baseline) | - | - | {100 * base['imagenet']:.1f}% | 1.00 "
                         f"| {100 * base['domain']:.1f}% | probe {100 * base['probe']:.1f}% "
                         f"[{100 * base['probe_ci'][0]:.1f}, {100 * base['probe_ci'][1]:.1f}] | 1.00 | - | - |")
        lines += ["", f"n = {s[0]['n']} sounds per seed.", ""]
    lines += ["## Recipes", "", "| recipe | what | budget (CPU s per seed) | mean CPU s per iteration |", "|---|---|---|---|"]
    for label in rows:
        runs = results[label]
        lines.append(f"| {label} | {RECIPES[runs[0]['recipe']].what} | {runs[0]['budget_s']:.0f} "
                     f"| {np.mean([r['cpu_s'] / max(r['iterations'], 1) for r in runs]):.2f} |")
    lines += ["", "## Fig. 2 grids (held-out sounds, seed 0; rows are classes)", ""]
    for label in rows:
        grid = work_dir(dataset) / "runs" / f"{label}_s0_heldout.png"
        if grid.is_file():
            (figures / f"{label}_heldout.png").write_bytes(grid.read_bytes())
            lines += [f"**{label}**: ![{label}](recipes/{label}_heldout.png)", ""]
    per_class = ["## Per class (held-out, Lite0, mean over seeds)", "",
                 "| recipe | " + " | ".join(judges.class_names) + " |", "|---" * (len(judges.class_names) + 1) + "|"]
    for label in rows:
        cells = [f"{100 * np.mean([r['splits']['heldout']['imagenet_per_class'].get(c, 0) for r in results[label]]):.0f}%"
                 for c in judges.class_names]
        per_class.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += per_class + [""] + truncation_section(results, rows, real, lambda recipe: RECIPES[recipe].model["image_size"], _ci)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("--recipes", default=",".join(DEFAULT_RECIPES), help=f"of {', '.join(RECIPES)}")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget-s", type=float, default=600.0, help="CPU seconds of training per seed")
    parser.add_argument("--parallel", type=int, default=1, help="runs side by side (one thread each)")
    parser.add_argument("--run", help="RECIPE:SEED, one run in this process")
    parser.add_argument("--report", action="store_true", help="write the tables from the stored runs")
    parser.add_argument("--out", default=str(REPO / "docs" / "results" / "recipes.md"))
    args = parser.parse_args()
    if args.run:
        name, seed = args.run.split(":")
        run_recipe(args.dataset, name, int(seed), args.budget_s)
        return
    if args.report:
        report(args.dataset, Path(args.out))
        return
    export_arrays(args.dataset)
    names = args.recipes.split(",")
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise SystemExit(f"unknown recipes {unknown}; valid: {', '.join(RECIPES)}")
    queue = [(s, n) for s in args.seeds.split(",") for n in names]   # seed-major: every recipe gets seed 0 first
    running: list[subprocess.Popen] = []
    while queue or running:
        while queue and len(running) < args.parallel:
            seed, name = queue.pop(0)
            running.append(subprocess.Popen([sys.executable, __file__, args.dataset, "--run", f"{name}:{seed}",
                                             "--budget-s", str(args.budget_s)]))
        time.sleep(2)
        for proc in [p for p in running if p.poll() is not None]:
            running.remove(proc)
            if proc.returncode:
                print(f"run {proc.args[-3]} failed with exit code {proc.returncode}", flush=True)
    report(args.dataset, Path(args.out))


if __name__ == "__main__":
    main()
