"""Writes of the suite's rows (gan/services/suite_rows.py):
cells made once per suite, a cell's status from its run's summary, children recorded, the analyses
stored as Evaluation rows that a second computation replaces rather than adds to."""
import pytest

from gan.models import CellStatus, Evaluation, RunStatus, SuiteCell, TrainingRun
from gan.services import suite_rows
from jobs.models import Job
from tests.gan.checkpoint_rows import checkpoint  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def suite():
    return Job.objects.create(kind="suite")


PLANNED = [{"key": "g/mfcc", "variant": "g", "feature": "mfcc", "tables": ["2", "4"], "seed": s} for s in (2, 0)]


def test_cells_are_made_once_in_plan_order(suite):
    cells = suite_rows.create_cells(suite.pk, lambda: PLANNED)
    assert [(c.key, c.seed, c.position, c.tables, c.status) for c in cells] == [
        ("g/mfcc", 2, 0, ["2", "4"], CellStatus.PLANNED), ("g/mfcc", 0, 1, ["2", "4"], CellStatus.PLANNED)]
    again = suite_rows.create_cells(suite.pk, lambda: pytest.fail("a suite with rows is not planned again"))
    assert [c.pk for c in again] == [c.pk for c in cells]


@pytest.mark.parametrize("summary, diverged, status", [
    ({"status": RunStatus.EARLY_STOPPED, "best_step": 4, "step": 6}, False, CellStatus.CONVERGED),
    ({"status": RunStatus.COMPLETED, "best_step": 6, "step": 6, "improving_at_end": True}, False,
     CellStatus.CAP_IMPROVING),
    ({"status": RunStatus.COMPLETED, "best_step": 2, "step": 6}, False, CellStatus.CAP),
    ({"status": RunStatus.COMPLETED, "step": 6}, False, CellStatus.COMPLETED),
    ({"status": RunStatus.DIVERGED, "step": 3}, False, CellStatus.DIVERGED),
    ({"step": 3}, True, CellStatus.DIVERGED),   # the train job failed as diverged
])
def test_a_cells_status_and_schedule_come_from_its_runs_summary(suite, checkpoint, summary, diverged, status):
    run = checkpoint.run
    cell = suite_rows.create_cells(suite.pk, lambda: PLANNED[:1])[0]
    run.job = Job.objects.create(kind="train")
    run.save()
    suite_rows.set_training(cell, run)
    TrainingRun.objects.filter(pk=run.pk).update(summary={**summary, "elapsed_s": 12.345})   # as the job left it
    suite_rows.record_training(cell, diverged)
    cell.refresh_from_db()
    assert (cell.status, cell.step, cell.iterations, cell.elapsed_s) == (
        status, summary.get("best_step") or summary["step"], summary["step"], 12.3)
    assert cell.train_job_id == run.job_id
    assert list(SuiteCell.objects.filter(suite=suite, status=status).values_list("seed", flat=True)) == [2]


def test_children_and_the_upper_bound_are_recorded(suite, checkpoint):
    cell = suite_rows.create_cells(suite.pk, lambda: PLANNED[:1])[0]
    generate, evaluate = Job.objects.create(kind="generate"), Job.objects.create(kind="evaluate")
    suite_rows.set_children(cell, checkpoint=checkpoint, generate_job=generate)
    suite_rows.set_children(cell, evaluate_job=evaluate)
    cell.refresh_from_db()
    assert (cell.checkpoint, cell.generate_job, cell.evaluate_job, cell.evaluate_heldout_job) == (
        checkpoint, generate, evaluate, None)
    real = Job.objects.create(kind="evaluate")
    suite_rows.set_upper_bound(suite.pk, False, evaluate)
    assert suite_rows.set_upper_bound(suite.pk, False, real).evaluate_job == real   # replaced, not added
    assert suite.suite_upper_bounds.count() == 1


def test_the_analyses_are_evaluations_of_the_suite_replaced_when_computed_again(suite, checkpoint):
    dataset = checkpoint.run.dataset
    probe = {"test": {"accuracy": 0.75, "n": 8, "ci": [0.4, 0.93]},
             "heldout": {"accuracy": 0.5, "n": 4, "ci": [0.15, 0.85]}}
    suite_rows.record_probe(suite.pk, dataset, "mfcc", probe)
    suite_rows.record_probe(suite.pk, dataset, "mfcc", probe)
    rows = Evaluation.objects.filter(job=suite, metric="probe_ceiling").order_by("id")
    assert [(e.split, e.value, e.n_images, e.source, e.checkpoint_id, e.details) for e in rows] == [
        ("test", 0.75, 8, "features", None, {"feature": "mfcc", "ci": [0.4, 0.93]}),
        ("heldout", 0.5, 4, "features", None, {"feature": "mfcc", "ci": [0.15, 0.85]})]
    volume = {"per_volume": {0.5: {"mean": 0.1, "ci": [0.05, 0.15], "n": 6}, 1.0: {"mean": 0.0, "ci": [0, 0], "n": 6}},
              "spearman_rho": 0.4, "n_sounds": 6}
    suite_rows.record_volume(suite.pk, checkpoint, {**volume, "spearman_rho": 0.9})
    suite_rows.record_volume(suite.pk, checkpoint, volume)
    row = Evaluation.objects.get(job=suite, metric="volume_sensitivity")
    assert (row.checkpoint, row.value, row.n_images, row.source, row.volume) == (checkpoint, 0.4, 6, "generated", None)
    assert row.details["per_volume"]["0.5"]["mean"] == 0.1   # JSON keys: the report reads them as text
