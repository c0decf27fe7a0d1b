"""Which sound feature carries a spoken digit across voices? The linear-probe ceiling per voice family.

The generator cannot name a digit more often than its sound feature allows (the probe ceiling), and
on the human-recorded family (festival's ked, held out) the suite's time-averaged MFCC allowed 32.5%
against 78% in-domain. This bench compares feature variants (FeatureSpec options the suite takes as
`--feature-options`) on one built digits dataset, without letting a held-out family choose:

* **selection** (no held-out family involved): a probe trained on every training voice but Piper's
  neural 'joe', scored on joe (a training-only family, so a stand-in for "a voice unlike every other
  training voice"), and a probe on every training voice scored on the espeak validation voices;
* **report**: a probe on every training voice (espeak, neural, accented human), scored per family of 'test' and
  'heldout': the in-domain espeak families, the held-out Klatt family and festival's ked.

Each figure: accuracy with n and a 95% Wilson interval (one fit: the probe is deterministic).

    .venv/bin/python manage.py build_demo_dataset digits --name digits-human      # once
    .venv/bin/python bench/digits_features.py digits-human --out docs/results/digits-features.md
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")

# (label, FeatureSpec options). The first is the suite's default MFCC (time average, no normalisation).
VARIANTS = [
    ("MFCC, time mean (suite default)", {"kind": "mfcc"}),
    ("MFCC, time mean, per-clip mean norm", {"kind": "mfcc", "mfcc_mean_norm": True}),
    ("MFCC, 4 segments", {"kind": "mfcc", "pooling": "segments", "n_segments": 4}),
    ("MFCC, 4 segments, per-clip mean norm", {"kind": "mfcc", "pooling": "segments", "n_segments": 4,
                                              "mfcc_mean_norm": True}),
    ("MFCC, 8 segments, per-clip mean norm", {"kind": "mfcc", "pooling": "segments", "n_segments": 8,
                                              "mfcc_mean_norm": True}),
    ("MFCC 20, 4 segments, per-clip mean norm", {"kind": "mfcc", "pooling": "segments", "n_segments": 4,
                                                 "mfcc_mean_norm": True, "n_mfcc": 20}),
    ("fbank, 4 segments", {"kind": "fbank", "pooling": "segments", "n_segments": 4}),
    ("SoundNet, time mean", {"kind": "soundnet"}),
    ("SoundNet, 4 segments", {"kind": "soundnet", "pooling": "segments", "n_segments": 4}),
]


def _cell(result: dict | None) -> str:
    if not result:
        return "-"
    low, high = result["ci"]
    return f"{100 * result['accuracy']:.1f}% [{100 * low:.1f}, {100 * high:.1f}] (n {result['n']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--variants", default="", help="comma-separated indices into VARIANTS (default: all)")
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    import django
    django.setup()
    from demo.builders.digits import HUMAN_FAMILY
    from demo.builders.neural_voice import NEURAL_FAMILY
    from generalisation import family_of_group   # bench/, this script's folder
    from gan.ml.features import FeatureSpec
    from gan.ml.probe import linear_probe
    from gan.models import Dataset
    from gan.services.features import features_for_pairs, pretrained_soundnet

    dataset = Dataset.objects.get(name=args.dataset)
    pairs = list(dataset.pairs.order_by("pk"))
    families = np.array([family_of_group(p.group) for p in pairs])
    splits = np.array([p.split for p in pairs])
    labels = np.array([p.label for p in pairs])
    train = splits == "train"
    others_train = train & (families != NEURAL_FAMILY)
    chosen = range(len(VARIANTS)) if not args.variants else [int(k) for k in args.variants.split(",")]
    report_groups = [(split, family) for split in ("test", "heldout")
                     for family in sorted(set(families[splits == split]))]
    header = ["feature", "select: other training voices -> neural", "select: train -> val"] + [
        f"{split}: {family}" for split, family in report_groups] + ["ked / in-domain test"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    results = []
    for index in chosen:
        label, options = VARIANTS[index]
        started = time.perf_counter()
        spec = FeatureSpec.from_dict(options)
        soundnet = pretrained_soundnet() if spec.kind == "soundnet" else None
        x = features_for_pairs(pairs, spec, soundnet=soundnet)
        neural = linear_probe(x[others_train], labels[others_train],
                              {"neural": (x[train & (families == NEURAL_FAMILY)], labels[train & (families == NEURAL_FAMILY)])})
        tests = {"val": (x[splits == "val"], labels[splits == "val"]),
                 "test": (x[splits == "test"], labels[splits == "test"])}
        for split, family in report_groups:
            mask = (splits == split) & (families == family)
            tests[f"{split}: {family}"] = (x[mask], labels[mask])
        scored = linear_probe(x[train], labels[train], tests)
        human = scored.get(f"heldout: {HUMAN_FAMILY}")
        ratio = f"{human['accuracy'] / scored['test']['accuracy']:.2f}" if human and scored["test"]["accuracy"] else "-"
        cells = [label, _cell(neural.get("neural")), _cell(scored.get("val"))] + [
            _cell(scored.get(f"{split}: {family}")) for split, family in report_groups] + [ratio]
        lines.append("| " + " | ".join(cells) + " |")
        results.append({"variant": label, "options": options, "select_neural": neural.get("neural"),
                        "select_val": scored.get("val"), "report": scored})
        print(lines[-1], f"({time.perf_counter() - started:.0f} s)", flush=True)
    best = max(results, key=lambda r: (r["select_neural"] or {}).get("accuracy", 0.0))
    text = [f"# Digits: which feature carries a digit across voices ({dataset.name})", "",
            f"Made by `bench/digits_features.py {dataset.name}`. Linear probe (standardised logistic regression, "
            "one deterministic fit), accuracy [95% Wilson] (n). Selection columns use training voices only; "
            f"the held-out families ({HUMAN_FAMILY}, and espeak's held-out family) are reported, never chosen on.",
            "", *lines, "",
            f"Chosen on 'other training voices -> neural' (no held-out voice involved): **{best['variant']}** "
            f"(`--feature-options '{json.dumps({k: v for k, v in best['options'].items() if k != 'kind'})}'`, "
            f"feature {best['options']['kind']}).", ""]
    print("\n".join(text))
    if args.out:
        Path(args.out).write_text("\n".join(text))
        (Path(args.out).with_suffix(".json")).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
