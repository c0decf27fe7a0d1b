"""Assemble a report from what the selectors read: from one suite job (its rows name every child:
gan/selectors/suite.py), or from whatever runs and evaluations a dataset has (the latest final
checkpoint per variant and feature: gan/selectors/reports.py). No queries of its own."""
from __future__ import annotations

from jobs.models import Job

from ..ml.intervals import mean_interval
from ..ml.variants import VARIANTS
from ..models import Checkpoint, Dataset, Evaluation, PairStatus, Split
from ..selectors.figures import latest_figures
from ..selectors.reports import (dataset_of, job_by_id, latest_scored_results, pair_counts, real_image_scores,
                                 scores_at_volume_one)
from ..selectors.suite import probe_ceilings, suite_cells, upper_bound_evaluations
from .tables import METRIC_ORDER, CountTable, Report, Row, Score, Table, metric_key, table2_variant
from .verdicts import claim_verdicts

FEATURE_TITLES = {"spectrogram": "Spectrogram", "fbank": "Fbank", "mfcc": "MFCCs", "soundnet": "SoundNet"}
FEATURE_ORDER = ("spectrogram", "fbank", "mfcc", "soundnet")  # the paper's Table 2 order
REAL_LABEL = "(a) Upper bound (real images)"


class ReportError(ValueError):
    """The thing asked for has no report (not a suite job, unknown dataset)."""


def count_table(dataset: Dataset) -> CountTable:
    counts: dict[str, dict[str, int]] = {name: {} for name in dataset.class_names}
    for row in pair_counts(dataset):
        column = row["split"] if row["status"] == PairStatus.KEPT else "discarded"
        counts.setdefault(row["label"], {})
        counts[row["label"]][column] = counts[row["label"]].get(column, 0) + row["n"]
    present = {column for per in counts.values() for column in per}
    columns = [c for c in (*Split.values, "discarded") if c in present or c in ("train", "test", "discarded")]
    return CountTable(classes=list(counts), columns=columns, counts=counts)


def score_of(evaluation: Evaluation) -> Score:
    return Score(metric=evaluation.metric, value=evaluation.value, std=evaluation.std, n=evaluation.n_images,
                 classifier=evaluation.classifier, order=evaluation.order, splits=evaluation.splits,
                 order_seed=evaluation.order_seed, evaluation_id=evaluation.pk,
                 per_class=evaluation.per_class)


def _row(key: str, label: str, checkpoint: Checkpoint | None, evaluations, images: dict) -> Row:
    row = Row(key=key, label=label, images=images)
    if checkpoint is not None:
        run = checkpoint.run
        row.variant, row.feature = run.variant, run.feature_spec.get("kind", "")
        row.run_id, row.checkpoint_id = run.pk, checkpoint.pk
        row.checkpoint_step, row.checkpoint_path = checkpoint.step, checkpoint.path
    for evaluation in evaluations:  # newest first: the first of each metric wins
        row.scores.setdefault(evaluation.metric, score_of(evaluation))
    return row


def _label(table: str, variant: str, feature: str) -> str:
    if table == "2":
        return FEATURE_TITLES.get(feature, feature)
    return VARIANTS[variant].title if variant in VARIANTS else variant


def _assemble(dataset: Dataset, cells: list[dict], real_evaluations, suite_job_id, preset, notes) -> Report:
    """cells: dicts with key, variant, feature, tables, checkpoint (or None), evaluations, images."""
    metrics_present = {e.metric for c in cells for e in c["evaluations"]} | {e.metric for e in real_evaluations}
    metrics = [m for m in METRIC_ORDER if m in metrics_present] or ["inception_score"]
    table2 = sorted((c for c in cells if "2" in c["tables"]),
                    key=lambda c: FEATURE_ORDER.index(c["feature"]) if c["feature"] in FEATURE_ORDER else 9)
    table4 = sorted((c for c in cells if "4" in c["tables"]), key=lambda c: c["variant"])
    rows2 = [_row(c["key"], _label("2", c["variant"], c["feature"]), c["checkpoint"], c["evaluations"], c["images"])
             for c in table2]
    rows4 = [_row("real", REAL_LABEL, None, real_evaluations, {})] if real_evaluations else []
    rows4 += [_row(c["key"], _label("4", c["variant"], c["feature"]), c["checkpoint"], c["evaluations"], c["images"])
              for c in table4]
    tables = _tables(dataset, metrics, rows2, rows4, table4[0]["feature"] if table4 else "")
    volume_rows = list({r.key: r for r in rows2 + rows4 if "volume_table" in r.images}.values())
    return Report(dataset=dataset.name, suite_job_id=suite_job_id, preset=preset, table1=count_table(dataset),
                  tables=tables, volume_rows=volume_rows, class_names=list(dataset.class_names), notes=notes)


def _tables(dataset: Dataset, metrics: list[str], rows2: list[Row], rows4: list[Row], table4_feature: str) -> list[Table]:
    tables = [
        Table("2", f"Scores of different kinds of sound features (variant {table2_variant(rows2)})", metrics, rows2),
        Table("4", f"Scores of different models ({FEATURE_TITLES.get(table4_feature, table4_feature)} feature)",
              metrics, rows4),
    ]
    _add_is_floor_notes(tables, dataset)
    return tables


def _add_is_floor_notes(tables: list[Table], dataset: Dataset) -> None:
    for table in tables:
        paper_order = [r.scores["inception_score"] for r in table.rows
                       if r.scores.get("inception_score") and r.scores["inception_score"].order == "paper"]
        if any(score.splits and score.splits >= len(dataset.class_names) for score in paper_order):
            table.notes.append(
                f"With the paper's class-ordered splits and {len(dataset.class_names)} classes, each split holds "
                "only one or two classes, so the Inception Score stays near its floor whatever the images; "
                "use the shuffled order to compare diversity across classes.")


def suite_report(job: Job | int) -> Report:
    """The report of one suite job, from its rows (usable while it still runs).

    Each table row is one (variant, feature) trained once per seed; its scores are the mean over
    the seeds whose training did not diverge, with a 95% t-interval across seeds."""
    if not isinstance(job, Job):
        job = job_by_id(job)
        if job is None:
            raise ReportError("no such job")
    if job.kind != "suite":
        raise ReportError(f"job #{job.pk} is a {job.kind} job, not a suite")
    plan = (job.metrics or {}).get("plan")   # the plan's settings (preset, notes)
    dataset = dataset_of(job)
    if dataset is None:
        raise ReportError(f"the dataset of suite #{job.pk} no longer exists")
    if not plan:
        return _assemble(dataset, [], [], job.pk, job.params.get("preset", ""), ["the suite has not started yet"])
    report = _assemble_seeded(dataset, suite_cells(job.pk), upper_bound_evaluations(job.pk), job.pk, plan["preset"],
                              list(plan.get("notes", [])), probe_ceilings(job.pk))
    report.verdicts = claim_verdicts(report)
    return report


def _seeded_row(key: str, label: str, entry: dict, probe: dict) -> Row:
    row = Row(key=key, label=label, variant=entry["variant"], feature=entry["feature"], images=entry["images"])
    by_metric: dict[str, list] = {}
    for cell in entry["cells"]:
        row.seeds.append({"seed": cell.get("seed", 0), "status": cell.get("status", "completed"),
                          "step": cell.get("step"), "run_id": cell.get("run_id"),
                          "checkpoint_id": cell.get("checkpoint_id"), "iterations": cell.get("iterations"),
                          "elapsed_s": cell.get("elapsed_s")})
        if cell.get("status") == "diverged":
            continue
        latest: dict[str, object] = {}
        for evaluation in sorted(cell["evaluations"], key=lambda e: -e.pk):   # newest first wins
            latest.setdefault(metric_key(evaluation.metric, evaluation.split), evaluation)
        for metric, evaluation in latest.items():
            by_metric.setdefault(metric, []).append(evaluation)
    for metric, evaluations in by_metric.items():
        score = score_of(evaluations[0])
        if len(evaluations) > 1:   # a mean over seeds replaces the single run's own spread
            values = [e.value for e in evaluations]
            score.value, interval = mean_interval(values)
            score.std, score.values, score.ci = None, values, interval
            score.per_class = _mean_per_class([e.per_class for e in evaluations])
        row.scores[metric] = score
    volumes = [c["volume"] for c in entry["cells"] if c.get("volume") and c.get("status") != "diverged"]
    if volumes:
        rho, rho_ci = mean_interval([v["spearman_rho"] for v in volumes])
        per_volume = {}
        for volume in volumes[0]["per_volume"]:
            per_volume[volume] = mean_interval([v["per_volume"][volume]["mean"] for v in volumes])
        row.volume = {"spearman_rho": rho, "ci": rho_ci, "seeds": len(volumes),
                      "per_volume": {str(k): {"mean": m, "ci": ci} for k, (m, ci) in per_volume.items()},
                      "n_sounds": volumes[0]["n_sounds"]}
    row.ceilings = probe.get(entry["feature"], {})
    live = [c for c in entry["cells"] if c.get("status") != "diverged" and c.get("checkpoint")]
    if live:  # the images shown come from the first live seed
        first = live[0]
        row.run_id, row.checkpoint_id = first.get("run_id"), first.get("checkpoint_id")
        row.checkpoint_step, row.checkpoint_path = first["checkpoint"].step, first["checkpoint"].path
    return row


def _mean_per_class(per_class_dicts: list[dict]) -> dict:
    """Per-class class consistency averaged over seeds (n is per seed)."""
    out: dict[str, dict] = {}
    for name in per_class_dicts[0] if per_class_dicts else []:
        shares = [d[name]["share"] for d in per_class_dicts if d.get(name, {}).get("share") is not None]
        if shares:
            out[name] = {"share": sum(shares) / len(shares), "n": per_class_dicts[0][name].get("n")}
    return out


def _assemble_seeded(dataset: Dataset, rows: list[dict], real_evaluations, suite_job_id, preset, notes,
                     probe: dict) -> Report:
    keys = {metric_key(e.metric, e.split) for r in rows for c in r["cells"] for e in c["evaluations"]}
    keys |= {metric_key(e.metric, e.split) for e in real_evaluations}
    metrics = [m for m in METRIC_ORDER if m in keys] or ["class_consistency"]
    table2 = sorted((r for r in rows if "2" in r["tables"]),
                    key=lambda r: FEATURE_ORDER.index(r["feature"]) if r["feature"] in FEATURE_ORDER else 9)
    table4 = sorted((r for r in rows if "4" in r["tables"]), key=lambda r: r["variant"])
    rows2 = [_seeded_row(r["key"], _label("2", r["variant"], r["feature"]), r, probe) for r in table2]
    real_row = Row(key="real", label=REAL_LABEL)
    for evaluation in sorted(real_evaluations, key=lambda e: -e.pk):
        real_row.scores.setdefault(metric_key(evaluation.metric, evaluation.split), score_of(evaluation))
    rows4 = ([real_row] if real_evaluations else []) + [
        _seeded_row(r["key"], _label("4", r["variant"], r["feature"]), r, probe) for r in table4]
    tables = _tables(dataset, metrics, rows2, rows4, table4[0]["feature"] if table4 else "")
    if probe:
        tables[0].notes.append("Linear-probe ceiling (logistic regression on the training sounds' features, "
                               "95% Wilson interval): " + "; ".join(
                                   f"{FEATURE_TITLES.get(k, k)} " + ", ".join(
                                       f"{s} {100 * v['accuracy']:.1f}% [{100 * v['ci'][0]:.1f}, "
                                       f"{100 * v['ci'][1]:.1f}] (n {v['n']})" for s, v in per.items())
                                   for k, per in probe.items()))
    diversity_real = next((e.details.get("real_test") for r in rows for c in r["cells"] for e in c["evaluations"]
                           if e.metric == "diversity" and e.details.get("real_test")), None)
    if diversity_real:
        for table in tables:
            table.notes.append(f"Diversity of the real test images with the same features: {diversity_real:.2f}")
    volume_rows = list({r.key: r for r in rows2 + rows4 if "volume_table" in r.images}.values())
    return Report(dataset=dataset.name, suite_job_id=suite_job_id, preset=preset, table1=count_table(dataset),
                  tables=tables, volume_rows=volume_rows, class_names=list(dataset.class_names), notes=notes)


def dataset_report(dataset: Dataset, table4_feature: str | None = None) -> Report:
    """A report from everything a dataset has: per (variant, feature) its newest final checkpoint
    that has scores at volume 1; Table 2 = variant g per feature; Table 4 = variants with one feature
    (SoundNet when it has runs, else the feature with the most variants)."""
    latest = latest_scored_results(dataset)
    if table4_feature is None:
        per_feature: dict[str, int] = {}
        for variant, feature in latest:
            per_feature[feature] = per_feature.get(feature, 0) + 1
        table4_feature = "soundnet" if per_feature.get("soundnet") else (
            max(per_feature, key=per_feature.get) if per_feature else "")
    cells = []
    for (variant, feature), checkpoint in latest.items():
        tables = (["2"] if variant == "g" else []) + (["4"] if feature == table4_feature else [])
        if not tables:
            continue
        evaluations = scores_at_volume_one(checkpoint)
        cells.append(dict(key=f"{variant}/{feature}", variant=variant, feature=feature, tables=tables,
                          checkpoint=checkpoint, evaluations=evaluations, images=latest_figures(checkpoint.pk)))
    return _assemble(dataset, cells, real_image_scores(dataset), None, "", [])
