"""The suite as rows (gan/models/suite.py): the tables from rows are the tables the plan-based suite
gave, on a quick suite captured before the change (tests/gan/suite_known_answer.py); the data
migration reads old and partial plans; the ORM answers questions the plan needed JSON surgery for."""
import importlib
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from gan.models import CellStatus, Evaluation, Figure, SuiteCell, SuiteUpperBound
from gan.reports import suite_report
from gan.selectors.suite import cell_seeds
from jobs.models import Job
from tests.gan.suite_known_answer import CONFIG, DB_FIXTURE, REPORT, assert_same_results, outputs, results

migration = importlib.import_module("gan.migrations.0009_suite_rows_from_plans")


@pytest.fixture
def known():
    return json.loads(REPORT.read_text())


@pytest.mark.django_db
def test_the_rows_migrated_from_a_plan_give_the_tables_the_plan_gave(known):
    call_command("loaddata", str(DB_FIXTURE), verbosity=0)
    migration.build_rows(apps)
    suite = Job.objects.get(pk=known["suite_id"])
    assert SuiteCell.objects.filter(suite=suite).count() == 3 * 2   # f/mfcc, g/mfcc, g/fbank x 2 seeds
    assert SuiteUpperBound.objects.filter(suite=suite).count() == 2  # in-domain and held-out real images
    assert Figure.objects.filter(kind="volume_table").count() == 6
    got = outputs(suite_report(suite))
    assert got["as_dict"] == known["as_dict"]
    for name in ("markdown", "csv", "latex"):
        if connection.vendor == "postgresql":
            # jsonb keeps an object's keys in its own order (shorter first), not as written, so the
            # per-class lines come in that order, from a plan as from the rows (captured on SQLite)
            assert sorted(got[name].splitlines()) == sorted(known[name].splitlines()), name
        else:
            assert got[name] == known[name], name
    migration.build_rows(apps)   # a second pass finds the rows made and adds none
    assert SuiteCell.objects.count() == 6 and Evaluation.objects.filter(job=suite).count() == 6 + 2 * 2


@pytest.mark.django_db
def test_old_and_partial_plans_are_migrated_without_failing():
    from gan.models import Dataset

    dataset = Dataset.objects.create(name="d", source="test", root="datasets/d", class_names=["a", "b"])
    train = Job.objects.create(kind="train")
    plans = [
        # a plan from before seeds: no seed or status; a child that no longer exists; a cell of garbage
        {"preset": "quick", "cells": [{"key": "g/mfcc", "tables": ["2", "4"], "run_id": 10 ** 9, "checkpoint_id": None,
                                       "jobs": {"train": train.pk, "evaluate": 10 ** 9}}, "garbage", {"variant": "g"}],
         "real": {"jobs": {"evaluate": 10 ** 9}}, "analysis": {"probe": {"mfcc": {"test": {"accuracy": 0.5, "n": 4,
                                                                                           "ci": [0.2, 0.8]}}}}},
        {"preset": "quick"},     # never reached its first save of cells
        {"cells": None, "real": [], "analysis": "x"},
    ]
    suites = [Job.objects.create(kind="suite", params={"dataset_id": dataset.pk}, metrics={"plan": plan})
              for plan in plans]
    Job.objects.create(kind="suite", metrics={"plan": "not a plan"})
    Job.objects.create(kind="generate", metrics={"outputs": {"ckpt999_class_grid": "x.png", "other": 1}})
    migration.build_rows(apps)
    cell = SuiteCell.objects.get()
    assert (cell.suite_id, cell.key, cell.seed, cell.status, cell.tables) == (suites[0].pk, "g/mfcc", 0, "completed",
                                                                             ["2", "4"])
    assert cell.train_job == train and cell.evaluate_job is None and cell.run is None
    assert not SuiteUpperBound.objects.exists() and not Figure.objects.exists()
    probe = Evaluation.objects.get(metric="probe_ceiling")
    assert (probe.job_id, probe.source, probe.value, probe.details) == (suites[0].pk, "features", 0.5,
                                                                        {"feature": "mfcc", "ci": [0.2, 0.8]})
    migration.remove_rows(apps)
    assert not SuiteCell.objects.exists() and not Evaluation.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_quick_suite_today_gives_the_results_it_gave_before_the_rows(known, media_root, tmp_path):
    from gan.services.manifest_import import import_manifest
    from gan.services.suite import launch_suite
    from jobs.engine import execute_job
    from tests.gan.synthetic import write_tone_dataset

    dataset = import_manifest("tones-sources", write_tone_dataset(tmp_path / "tones-sources", val_per_class=2,
                                                                  heldout_per_class=2),
                              source="test", image_size=32, channels=3)
    job = launch_suite(dataset, enqueue=False, **CONFIG)
    assert execute_job(job.pk, "test") == "succeeded", Job.objects.get(pk=job.pk).error
    report = suite_report(job.pk)
    assert_same_results(results(outputs(report)["as_dict"]), results(known["as_dict"]))
    # every figure a row shows is a file the suite drew
    for row in report.table("2").rows + report.table("4").rows[1:]:
        assert set(row.images) == {"class_grid", "volume_table"}
        assert all((media_root / path).is_file() for path in row.images.values())
    # "which seeds of row f converged?" is a query (docs/architecture.md)
    seeds = [s["seed"] for r in report.table("4").rows if r.variant == "f" for s in r.seeds
             if s["status"] == CellStatus.CONVERGED]
    assert cell_seeds(job.pk, "f", CellStatus.CONVERGED) == seeds


@pytest.mark.django_db
def test_the_admin_lists_a_suites_cells_read_only(client, staff_user):
    from tests.gan.report_rows import make_suite_rows

    _, suite = make_suite_rows()
    client.force_login(staff_user)
    page = client.get(f"/admin/gan/suitecell/?q={suite.pk}")
    assert page.status_code == 200
    assert b"g/mfcc" in page.content and b"f/mfcc" in page.content
    cell = SuiteCell.objects.filter(suite=suite).first()
    assert client.get(f"/admin/gan/suitecell/{cell.pk}/change/").status_code == 200   # a view, not a form
    assert client.post(f"/admin/gan/suitecell/{cell.pk}/change/", {"status": "diverged"}).status_code == 403
    assert client.get("/admin/gan/suitecell/add/").status_code == 403
