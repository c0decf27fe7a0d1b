"""Simulation: the realism and pairwise study kinds' 95% intervals, the planner and the stopping rule.

1. realism: 500 studies (16 raters, 16 fakes of each of 2 models and 16 real photos, each rater
   answering 24 of the 48 images), probit errors with rater and item effects; coverage of each
   model's balanced error, its fakes-called-real share and the reals-called-fake share (target 93-97%).
2. pairwise: 500 studies (20 raters, 16 sounds x 3 pairs of 3 models, 12 answers each), ties, rater
   tastes, sound effects and a rater lean to the left picture (sides balanced); coverage of each
   pair's win rate and of the Bradley-Terry strengths (target 93-97%).
3. planner: 20 pilots (12 raters each) plan model 0's realism error for a 0.09 half-width; 500
   studies of the recommended size are simulated per pilot; predicted / measured mean half-width
   (target within 15%); and the width formula with near-population components at 8-32 raters.
4. stopping: 500 studies look every 2 raters from 6 and close when both models' error intervals are
   within +-0.07 (cap 60 raters); coverage of the intervals reported at closing.

Usage: .venv/bin/python bench/study_kinds_coverage.py [--studies 500] [--pilots 20] [--write]
(--write: docs/results/study-kinds-coverage.md). Runs in about half a minute on one core.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from studies import simulation  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "results",
                   "study-kinds-coverage.md")


def _table(result: dict) -> list[str]:
    lines = ["| interval | truth | coverage | mean half-width |", "|---|---|---|---|"]
    for name, row in result.items():
        lines.append(f"| {name} | {row['truth']:.4f} | {row['coverage']:.3f} | {row['mean_half_width']:.4f} |")
    return lines


def _pooled(first: dict, repeats: dict, kind: str) -> dict:
    """Coverage per interval over the first seed and the repeats (equal numbers of studies each)."""
    runs = [first] + [result for (k, _), result in repeats.items() if k == kind]
    return {name: float(np.mean([run[name]["coverage"] for run in runs])) for name in first}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=500)
    parser.add_argument("--pilots", type=int, default=20)
    parser.add_argument("--write", action="store_true", help=f"write {os.path.relpath(OUT)}")
    args = parser.parse_args()
    started = time.time()
    print(f"realism: {args.studies} studies ...", flush=True)
    realism = simulation.realism_coverage(n_studies=args.studies, seed=1)
    print(f"pairwise: {args.studies} studies (one GLM each) ...", flush=True)
    pairwise = simulation.pairwise_coverage(n_studies=args.studies, seed=2)
    print("both kinds again with two more seeds each ...", flush=True)
    repeats = {("realism", seed): simulation.realism_coverage(n_studies=args.studies, seed=seed) for seed in (5, 6)}
    repeats.update({("pairwise", seed): simulation.pairwise_coverage(n_studies=args.studies, seed=seed)
                    for seed in (5, 6)})
    print(f"planner: {args.pilots} pilots x {args.studies} studies ...", flush=True)
    plans = [simulation.planner_check(target_half_width=0.09, pilot_raters=12, n_studies=args.studies, seed=100 + k)
             for k in range(args.pilots)]
    ratios = np.array([p["ratio"] for p in plans if p.get("ratio")])
    formula = simulation.planner_formula_check(n_studies=args.studies, seed=4)
    print(f"stopping: {args.studies} studies ...", flush=True)
    stopping = simulation.stopping_coverage(n_studies=args.studies, seed=3)
    elapsed = time.time() - started
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Realism and pairwise studies: interval coverage, planner and stopping rule (simulation)",
        "",
        f"Command: `.venv/bin/python bench/study_kinds_coverage.py --studies {args.studies} --pilots {args.pilots} "
        f"--write` at commit {commit}, {elapsed:.0f} s on one CPU core. No model is judged here: the votes are "
        "simulated from a population with rater and item effects (studies/simulation.py), each study drawing new "
        "raters and items, so the truth is the population value. Seeds 1 (realism), 2 (pairwise), 100-"
        f"{99 + args.pilots} (pilots; the studies they plan use the pilot's seed + 1), 3 (stopping). Target: 95% "
        f"intervals cover the truth 93-97% of the time; with {args.studies} studies a coverage's own 95% margin "
        f"is about +-{1.96 * np.sqrt(0.95 * 0.05 / args.studies):.3f}.",
        "",
        f"## Realism ({args.studies} studies: 16 raters, 2 models x 16 fakes + 16 real photos, 24 answers each)",
        "",
        "`error:m` is model m's balanced error (fakes called real + reals called fake) / 2, `fake:m` its fakes "
        "called real, `real` the real photos called fake; two-way (rater x item) cluster-robust intervals.",
        "", *_table(realism), "",
        f"## Pairwise ({args.studies} studies: 20 raters, 16 sounds x 3 pairs of 3 models, 12 answers each)",
        "",
        "`win:a>b` is model a's win rate against b (ties half), `strength:k` model k's Bradley-Terry strength "
        "against model 0 (the truth: the strengths fitted to the population win rates); ties, rater tastes, "
        f"sound effects and a lean to the left picture with sides balanced. Fits that failed: "
        f"{pairwise['strength:1']['fits_failed']}.",
        "", *_table(pairwise), "",
        f"## The same with two more seeds ({args.studies} studies each)",
        "",
        f"A coverage of {args.studies} studies moves by about +-{1.96 * np.sqrt(0.95 * 0.05 / args.studies):.3f} "
        "from seed to seed; the same designs with seeds 5 and 6:",
        "",
        "| kind | seed | coverage per interval |",
        "|---|---|---|",
        *[f"| {kind} | {seed} | " + ", ".join(f"{name} {row['coverage']:.3f}" for name, row in result.items()) + " |"
          for (kind, seed), result in repeats.items()],
        "",
        f"Over all three seeds ({3 * args.studies} studies per interval), coverage ranges "
        f"{min(_pooled(realism, repeats, 'realism').values()):.3f}-{max(_pooled(realism, repeats, 'realism').values()):.3f} "
        f"(realism) and {min(_pooled(pairwise, repeats, 'pairwise').values()):.3f}-"
        f"{max(_pooled(pairwise, repeats, 'pairwise').values()):.3f} (pairwise).",
        "",
        f"## Planner ({args.pilots} pilots of 12 raters, {args.studies} studies per recommendation)",
        "",
        "Each pilot estimates the variance components of model 0's error and recommends the fewest raters for a "
        "95% half-width of 0.09 (32 items as in the pilot); studies of that size are then simulated and their "
        "mean half-width measured.",
        "",
        "| pilot | raters recommended | predicted half-width | measured | predicted / measured | coverage |",
        "|---|---|---|---|---|---|",
        *[f"| {k} | {p['plan']['raters_needed']} | {p['predicted_half_width']:.4f} | {p['measured_half_width']:.4f} | "
          f"{p['ratio']:.3f} | {p['coverage']:.3f} |" for k, p in enumerate(plans) if p.get("ratio")],
        "",
        f"Predicted / measured: median {np.median(ratios):.3f}, range {ratios.min():.3f}-{ratios.max():.3f}; "
        f"within 15%: {np.mean(np.abs(ratios - 1) <= 0.15):.0%} of the pilots. A pilot of 32 images estimates "
        "the item variance (the largest term) with much noise, and each pilot's recommendation inherits it.",
        "",
        "The width formula itself, with the components estimated from one very large pilot (200 raters, 400 "
        f"images of each kind, seed 4), against the mean half-width measured over {args.studies} studies of each "
        "size (32 items):",
        "",
        "| raters | predicted half-width | measured | predicted / measured | coverage |",
        "|---|---|---|---|---|",
        *[f"| {r['raters']} | {r['predicted_half_width']:.4f} | {r['measured_half_width']:.4f} | {r['ratio']:.3f} | "
          f"{r['coverage']:.3f} |" for r in formula],
        "",
        f"## Stopping rule ({args.studies} studies)",
        "",
        f"Look after every 2 raters from 6, close when both models' error half-widths are at most "
        f"{stopping['target_half_width']}, cap 60 raters. Coverage of the intervals reported at closing: "
        f"model 0 {stopping['coverage_per_model'][0]:.3f}, model 1 {stopping['coverage_per_model'][1]:.3f} "
        f"(both at once {stopping['coverage_all_models']:.3f}); raters at closing median "
        f"{stopping['raters_at_stop']['median']:.0f} (range {stopping['raters_at_stop']['min']}-"
        f"{stopping['raters_at_stop']['max']}), {stopping['stopped_at_cap']:.1%} closed at the cap.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(OUT, "w") as handle:
            handle.write(text)
        print(f"wrote {os.path.relpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
