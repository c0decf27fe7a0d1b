"""Data migration: the rows of suites and figures made before they were rows.

A suite used to keep its cells (with their child jobs), the real images' evaluate jobs and its
analyses (the linear-probe ceilings, each cell's Table 3 volume figures) in a JSON plan in its
metrics, and a generate job named its figures only in its metrics' outputs
(`ckpt<id>_class_grid`, `ckpt<id>_volume_table`). This builds SuiteCell, SuiteUpperBound, Figure and
the analyses' Evaluation rows from them. Old and partial plans are read tolerantly: a missing key
is a default, an id that no longer exists is left empty, a cell that cannot be read is skipped. The
JSON itself is left as it was (a resumed suite rewrites its metrics without the cells)."""
import math
import re

from django.db import migrations

OUTPUT_KEY = re.compile(r"ckpt(\d+)_(class_grid|volume_table)")
CELL_JOBS = {"train": "train_job_id", "generate": "generate_job_id", "generate_heldout": "generate_heldout_job_id",
             "evaluate": "evaluate_job_id", "evaluate_heldout": "evaluate_heldout_job_id"}
PROBE_CLASSIFIER = "linear probe (logistic regression on the training sounds' features)"
VOLUME_CLASSIFIER = "mean absolute pixel change from volume 1"


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _figures(apps, checkpoints: set[int]) -> None:
    Job, Figure = apps.get_model("jobs", "Job"), apps.get_model("gan", "Figure")
    for job in Job.objects.filter(kind="generate").only("id", "metrics", "params").iterator():
        outputs = (job.metrics or {}).get("outputs") if isinstance(job.metrics, dict) else None
        split = (job.params or {}).get("split") if isinstance(job.params, dict) else None
        for key, path in (outputs.items() if isinstance(outputs, dict) else []):
            match = OUTPUT_KEY.fullmatch(str(key))
            if match and isinstance(path, str) and path and int(match[1]) in checkpoints:
                Figure.objects.get_or_create(job_id=job.pk, checkpoint_id=int(match[1]), kind=match[2],
                                             defaults={"split": split or "test", "path": path})


def _suite(apps, suite, plan: dict, known: dict[str, set[int]]) -> None:
    SuiteCell = apps.get_model("gan", "SuiteCell")
    SuiteUpperBound = apps.get_model("gan", "SuiteUpperBound")
    Evaluation = apps.get_model("gan", "Evaluation")
    Checkpoint = apps.get_model("gan", "Checkpoint")

    def existing(kind, value):
        value = _int(value)
        return value if value in known[kind] else None

    seen = set()
    for position, cell in enumerate(plan.get("cells") or []):
        if not isinstance(cell, dict):
            continue
        key = str(cell.get("key") or "")
        variant = cell.get("variant") or key.partition("/")[0]
        feature = cell.get("feature") or key.partition("/")[2]
        seed = _int(cell.get("seed", 0))
        if not variant or not feature or seed is None or (variant, feature, seed) in seen:
            continue
        seen.add((variant, feature, seed))
        tables = cell.get("tables") or []
        jobs = cell.get("jobs") if isinstance(cell.get("jobs"), dict) else {}
        elapsed = cell.get("elapsed_s")
        checkpoint_id = existing("checkpoint", cell.get("checkpoint_id"))
        SuiteCell.objects.create(
            suite_id=suite.pk, position=position, variant=str(variant)[:8], feature=str(feature)[:16], seed=seed,
            in_table2="2" in tables, in_table4="4" in tables, status=str(cell.get("status") or "completed")[:24],
            run_id=existing("run", cell.get("run_id")), checkpoint_id=checkpoint_id,
            step=_int(cell.get("step")), iterations=_int(cell.get("iterations")),
            elapsed_s=float(elapsed) if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) else None,
            **{field: existing("job", jobs.get(name)) for name, field in CELL_JOBS.items()})
        volume = cell.get("volume")
        if checkpoint_id is not None and isinstance(volume, dict) and volume:
            rho = volume.get("spearman_rho")
            n = _int(volume.get("n_sounds")) or 0
            Evaluation.objects.create(
                dataset_id=Checkpoint.objects.filter(pk=checkpoint_id).values_list("run__dataset_id", flat=True)[0],
                source="generated", checkpoint_id=checkpoint_id, split="test", seed=0, metric="volume_sensitivity",
                classifier=VOLUME_CLASSIFIER, n_images=n, job_id=suite.pk, details=volume,
                value=rho if isinstance(rho, float) and math.isfinite(rho) else 0.0)
    real = (plan.get("real") or {}).get("jobs") if isinstance(plan.get("real"), dict) else None
    for name, heldout in (("evaluate", False), ("evaluate_heldout", True)):
        job_id = existing("job", (real or {}).get(name)) if isinstance(real, dict) else None
        if job_id is not None:
            SuiteUpperBound.objects.get_or_create(suite_id=suite.pk, heldout=heldout,
                                                  defaults={"evaluate_job_id": job_id})
    probe = (plan.get("analysis") or {}).get("probe") if isinstance(plan.get("analysis"), dict) else None
    dataset_id = existing("dataset", (suite.params or {}).get("dataset_id") if isinstance(suite.params, dict) else None)
    for feature, per_split in (probe.items() if isinstance(probe, dict) and dataset_id is not None else []):
        for split, result in (per_split.items() if isinstance(per_split, dict) else []):
            if not isinstance(result, dict) or not isinstance(result.get("accuracy"), (int, float)):
                continue
            Evaluation.objects.create(
                dataset_id=dataset_id, source="features", split=str(split)[:8], metric="probe_ceiling",
                classifier=PROBE_CLASSIFIER, n_images=_int(result.get("n")) or 0, value=float(result["accuracy"]),
                job_id=suite.pk, details={"feature": feature, "ci": result.get("ci")})


def build_rows(apps, schema_editor=None):
    Job = apps.get_model("jobs", "Job")
    known = {"job": set(Job.objects.values_list("pk", flat=True)),
             "run": set(apps.get_model("gan", "TrainingRun").objects.values_list("pk", flat=True)),
             "checkpoint": set(apps.get_model("gan", "Checkpoint").objects.values_list("pk", flat=True)),
             "dataset": set(apps.get_model("gan", "Dataset").objects.values_list("pk", flat=True))}
    _figures(apps, known["checkpoint"])
    SuiteCell = apps.get_model("gan", "SuiteCell")
    for suite in Job.objects.filter(kind="suite").order_by("id").iterator():
        plan = (suite.metrics or {}).get("plan") if isinstance(suite.metrics, dict) else None
        if isinstance(plan, dict) and not SuiteCell.objects.filter(suite_id=suite.pk).exists():
            _suite(apps, suite, plan, known)


def remove_rows(apps, schema_editor=None):
    """Back: the plans still hold everything; the analyses' rows go (the older schema has no place for them)."""
    apps.get_model("gan", "Evaluation").objects.filter(metric__in=["volume_sensitivity", "probe_ceiling"]).delete()
    for name in ("SuiteCell", "SuiteUpperBound", "Figure"):
        apps.get_model("gan", name).objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gan", "0008_suite_rows_and_figures"),
    ]

    operations = [migrations.RunPython(build_rows, remove_rows)]
