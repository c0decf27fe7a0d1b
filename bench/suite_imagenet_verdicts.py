"""A finished suite's Table 2 and Table 4 verdicts again under a second judge: EfficientNet-Lite0
(ImageNet, closed set over the instruments' class map), beside the suite's own judge (the dataset's
domain classifier). Row h's discriminator trains on EfficientNet-Lite1 features, so neither judge is a
network any discriminator trains against.

    source /path/to/env.sh   # DATABASE_URL, VAR_DIR of the results database
    .venv/bin/python manage.py run_paper_suite instruments --preset cpu --table2-variant h-cbn \\
        --features spectrogram,soundnet --variants g,h-cbn --model '{"g_width": 32, "d_width": 32}' \\
        --train '{"iterations": 2500}' --inline
    .venv/bin/python manage.py export_results <suite> --out docs/results/row-h
    .venv/bin/python bench/suite_imagenet_verdicts.py <suite> --out docs/results/row-h/imagenet-judge.md

For every seed's picked checkpoint it scores the images from the in-domain test sounds and from the
held-out sample set, and the real photos of both at the generator's size (the baseline, same run); the
verdicts use the same rule as the suite's (gan/reports/verdicts.py: the seeds' 95% Welch interval of
each difference).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")

SPLITS = (("test", ""), ("heldout", "@heldout"))
JUDGE = "efficientnet-lite0"


def lite0_scores(suite_id: int) -> tuple[dict, dict]:
    """({(row key, seed): {split: Evaluation}}, {split: (accuracy, n) of the real photos})."""
    from demo.builders.instruments import CLASS_MAP
    from gan.models import Evaluation, SuiteCell
    from gan.services.scoring import launch_evaluation
    from jobs.engine import execute_job
    from tqdm import tqdm

    options = dict(metrics=["class_consistency"], classifier=JUDGE, class_map=CLASS_MAP, closed_set=True,
                   enqueue=False)
    cells = list(SuiteCell.objects.filter(suite_id=suite_id, checkpoint__isnull=False)
                 .exclude(status="diverged").select_related("checkpoint__run__dataset"))
    if not cells:
        raise SystemExit(f"suite #{suite_id} has no trained cells")
    generated = {}
    for cell in tqdm(cells, desc="Lite0 on each seed's checkpoint", unit="cell"):
        for split, _ in SPLITS:
            job = launch_evaluation(checkpoint=cell.checkpoint, split=split, **options)
            execute_job(job.pk, "bench-imagenet-verdicts")
            generated.setdefault((cell.key, cell.seed), {})[split] = Evaluation.objects.get(job_id=job.pk)
    size = cells[0].checkpoint.run.model_config["image_size"]
    return generated, real_photos(cells[0].checkpoint.run.dataset, size, CLASS_MAP)


def real_photos(dataset, size: int, class_map: dict) -> dict:
    """Lite0 on the real photos of each split at the generator's size (the evaluate job scores them at
    the dataset's own size), so the ratio compares like with like."""
    import numpy as np
    from gan.ml.classifiers import imagenet_class_names, load_efficientnet_lite0
    from gan.ml.cleaning import ClassMap
    from gan.ml.metrics import class_consistency, class_predictions
    from gan.ml.paired_arrays import class_index
    from gan.selectors.datasets import real_pairs
    from gan.services.datasets import load_images

    lite0 = load_efficientnet_lite0(device="cpu")
    names = list(dataset.class_names)
    mapping = ClassMap({name: class_map[name] for name in names}, imagenet_class_names())
    out = {}
    for split, _ in SPLITS:
        pairs = real_pairs(dataset, split)
        index = class_index(names)
        labels = np.array([index[p.label] for p in pairs], dtype=np.int64)
        predicted = class_predictions(lite0.predict_proba(load_images(pairs, size, dataset.channels)),
                                      mapping.class_of, len(names), closed_set=True)
        result = class_consistency(predicted, labels, names)
        out[split] = (result.overall, result.n)
    return out


def judged_report(report, generated: dict):
    """The suite's report with each row's class consistency replaced by Lite0's (per seed)."""
    from gan.reports.collect import _mean_per_class   # the suite report's own mean over seeds
    from gan.reports.tables import Score, mean_interval

    judged = copy.deepcopy(report)
    for table in judged.tables:
        for row in table.rows:
            if row.key == "real":
                continue
            scores = {}
            for split, suffix in SPLITS:
                evaluations = [per[split] for (key, _), per in sorted(generated.items()) if key == row.key]
                if not evaluations:
                    continue
                values = [e.value for e in evaluations]
                mean, ci = mean_interval(values)
                scores["class_consistency" + suffix] = Score(
                    metric="class_consistency", value=mean, std=None, n=evaluations[0].n_images, classifier=JUDGE,
                    split=split, values=values, ci=ci, per_class=_mean_per_class([e.per_class for e in evaluations]))
            row.scores = scores
    return judged


def markdown(suite_id: int, report, judged, real: dict) -> str:
    from gan.reports.verdicts import claim_verdicts

    lines = [f"# Suite #{suite_id} judged by EfficientNet-Lite0", "",
             "Made by `bench/suite_imagenet_verdicts.py` (its docstring has the commands). Judge: "
             "**EfficientNet-Lite0** (ImageNet weights, closed set over the class map: the most probable of "
             "the dataset's classes); no discriminator here trains on it (row h's projected D uses "
             "EfficientNet-Lite1). Mean over seeds [95% t-interval across seeds]; n = images per seed, one "
             "per sound.", ""]
    for split, suffix in SPLITS:
        words = "in-domain test sounds" if split == "test" else "held-out sample set (never heard in training)"
        base, n_real = real[split]
        lines += [f"## {words}", "", f"Real photos of this split at the generator's size: "
                  f"{100 * base:.1f}% (n = {n_real}).", "",
                  "| table | row | seeds | Lite0 class consistency | / real | per seed | n |",
                  "|---|---|---|---|---|---|---|"]
        for table in judged.tables:
            for row in table.rows:
                score = row.scores.get("class_consistency" + suffix)
                if row.key == "real" or score is None:
                    continue
                ci = f" [{100 * score.ci[0]:.1f}, {100 * score.ci[1]:.1f}]" if score.ci else ""
                per_seed = ", ".join(f"{100 * v:.1f}%" for v in score.values)
                lines.append(f"| {table.number} | {row.label} ({row.variant}) | {len(score.values)} | "
                             f"{100 * score.value:.1f}%{ci} | {score.value / base:.2f} | {per_seed} | {score.n} |")
        scored = [r.scores["class_consistency" + suffix] for t in judged.tables for r in t.rows
                  if "class_consistency" + suffix in r.scores]
        classes = list(scored[0].per_class) if scored else []
        if classes:
            lines += ["", "Per class (mean over seeds):", "", "| row | " + " | ".join(classes) + " |",
                      "|---|" + "---|" * len(classes)]
            seen = set()
            for table in judged.tables:
                for row in table.rows:
                    score = row.scores.get("class_consistency" + suffix)
                    if score is None or row.key in seen or row.key == "real":
                        continue
                    seen.add(row.key)
                    lines.append(f"| {row.label} ({row.variant}) | "
                                 + " | ".join(f"{100 * score.per_class[c]['share']:.0f}%" for c in classes) + " |")
        lines.append("")
    lines += ["## Verdicts, both judges", "",
              "The suite's rule: *holds* when every comparison's 95% Welch interval over the seeds is above zero, "
              "*does not hold* when one is below, *inconclusive* otherwise.", "",
              "| judge | claim | verdict | figures |", "|---|---|---|---|"]
    for judge, source in (("domain CNN (the suite's)", report), ("EfficientNet-Lite0", judged)):
        for verdict in claim_verdicts(source):
            if verdict["claim"].startswith(("Table 2", "Table 4")):
                lines.append(f"| {judge} | {verdict['claim']} | **{verdict['verdict']}** | {verdict['figures']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=int, help="a finished suite job's id (instruments)")
    parser.add_argument("--out", required=True, help="Markdown file to write")
    args = parser.parse_args()
    import django

    django.setup()
    from gan.reports.collect import ReportError, suite_report

    try:
        report = suite_report(args.suite)
    except ReportError as exc:
        raise SystemExit(f"error: {exc}")
    generated, real = lite0_scores(args.suite)
    text = markdown(args.suite, report, judged_report(report, generated), real)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    print(json.dumps({"wrote": args.out}))


if __name__ == "__main__":
    main()
