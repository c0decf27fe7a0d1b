"""The `suite` job (gan/kinds/suite.py) end to end on the tone dataset (quick preset, shrunk further):
its children and their rows, its one progress view, its resumption after a lost worker or a failed
child, model selection across seeds, and a diverged seed reported rather than averaged. The plan and
the refusals at launch: tests/gan/services/test_suite.py."""
import pytest
import torch

from gan.kinds.suite import _diverged, _torch_threads
from gan.models import (CellStatus, Checkpoint, Evaluation, Figure, GeneratedImage, RunStatus, SuiteCell,
                        TrainingRun)
from gan.reports import suite_report
from gan.reports.formats import to_csv, to_markdown
from gan.services.suite import launch_suite
from jobs.engine import execute_job
from jobs.models import Job, JobStatus
from tests.gan.suite_settings import TINY
from tests.gan.trained_fixtures import tones, tones_with_sources  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_children_run_here_with_the_presets_threads_and_torchs_default_otherwise():
    assert _torch_threads(0) is None and _torch_threads(None) is None
    before = torch.get_num_threads()
    try:
        _torch_threads(1)()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_only_a_training_job_whose_run_says_diverged_counts_as_diverged(tones):
    train, other = Job.objects.create(kind="train"), Job.objects.create(kind="train")
    TrainingRun.objects.create(dataset=tones, variant="g", feature_spec={"kind": "mfcc"}, job=train,
                               summary={"status": RunStatus.DIVERGED.value, "step": 3})
    TrainingRun.objects.create(dataset=tones, variant="g", feature_spec={"kind": "mfcc"}, job=other,
                               summary={"status": RunStatus.COMPLETED.value, "step": 4})
    evaluate = Job.objects.create(kind="evaluate")
    assert [_diverged(job) for job in (train, other, evaluate)] == [True, False, False]


@pytest.mark.slow
def test_the_suite_runs_end_to_end_with_one_progress_view(tones, media_root):
    job = launch_suite(tones, enqueue=False, **TINY)
    assert job.queue == "cpu"  # the parent never holds a GPU worker
    assert execute_job(job.pk, "test") == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    cells = SuiteCell.objects.filter(suite=job)
    # g/mfcc serves Table 2 and Table 4: three runs, not four
    assert sorted(c.key for c in cells) == ["f/mfcc", "g/fbank", "g/mfcc"]
    assert cells.get(variant="g", feature="mfcc").tables == ["2", "4"]
    assert "cells" not in job.metrics["plan"]   # the rows hold them; the metrics keep the settings
    assert job.step == job.total == 3 * 3 + 1 + 1 and job.progress == 1.0   # + the analysis stage
    children = Job.objects.exclude(pk=job.pk)
    assert children.count() == 10 and set(children.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}
    assert set(children.values_list("kind", flat=True)) == {"evaluate", "generate", "train"}
    assert TrainingRun.objects.count() == 3 and Checkpoint.objects.filter(is_final=True).count() == 3
    # volumes 0.5/1/2/3 for Table 3, six test sounds each
    assert GeneratedImage.objects.count() == 3 * 4 * 6
    assert Evaluation.objects.filter(source="generated", job__kind="evaluate").count() == 3 * 2
    assert Evaluation.objects.filter(source="real").count() == 2
    # the suite's own analyses: Table 3 per checkpoint, the probe ceiling per feature (one scored split)
    assert Evaluation.objects.filter(job=job, metric="volume_sensitivity").count() == 3
    assert Evaluation.objects.filter(job=job, metric="probe_ceiling").count() == 2
    assert Figure.objects.filter(kind="class_grid").count() == Figure.objects.filter(kind="volume_table").count() == 3

    report = suite_report(job)
    table2, table4 = report.table("2"), report.table("4")
    assert [r.label for r in table2.rows] == ["Fbank", "MFCCs"]
    assert [r.key for r in table4.rows] == ["real", "f/mfcc", "g/mfcc"]
    real = table4.rows[0]
    assert real.scores["class_consistency"].value == 1.0 and real.checkpoint_id is None
    for row in table2.rows + table4.rows[1:]:
        assert row.scores["inception_score"].n == 6 and row.scores["inception_score"].splits == 3
        assert row.checkpoint_id and (media_root / row.images["class_grid"]).is_file()
        assert (media_root / row.images["volume_table"]).is_file()
    assert "Class consistency" in to_markdown(report) and "f/mfcc" in to_csv(report)

    # a second run of the same suite job (as after a lost worker) reuses every finished child
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    assert execute_job(job.pk, "test") == "succeeded"
    assert Job.objects.count() == 11 and TrainingRun.objects.count() == 3


@pytest.mark.slow
def test_a_failed_child_fails_the_suite_and_a_retry_resumes(tones, media_root):
    from jobs.engine import retry_job
    from gan.models import Pair

    pair = Pair.objects.filter(dataset=tones, split="train").first()
    sound = media_root / pair.sound.name
    original = sound.read_bytes()
    sound.write_bytes(b"not audio")
    job = launch_suite(tones, enqueue=False, **{**TINY, "features": ["mfcc"], "variants": ["g"]})
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "train job" in job.error and pair.sound.name.split("/")[-1] in Job.objects.get(kind="train").error
    sound.write_bytes(original)
    retry_job(job.pk)  # also sends a message; nobody consumes it here, the test runs the job itself
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    train = Job.objects.filter(kind="train").get()
    # The same training run, retried: its second attempt (attempt numbers keep counting across retries)
    assert TrainingRun.objects.count() == 1 and (train.attempts, train.attempts_at_retry) == (2, 1)


SEEDED = dict(TINY, features=["mfcc", "fbank"], variants=["g"], seeds=[0, 1], metrics=["class_consistency", "fid"],
              train={**TINY["train"], "iterations": 6, "validate_every": 2, "patience": 1,
                     "keep_checkpoints": "best-and-last"},
              validation={"classifier": "domain"})


@pytest.mark.slow
def test_a_seeded_suite_selects_on_validation_and_reports_intervals_ceilings_and_verdicts(tones_with_sources):
    dataset = tones_with_sources
    job = launch_suite(dataset, enqueue=False, **SEEDED)
    assert execute_job(job.pk, "test") == "succeeded", Job.objects.get(pk=job.pk).error
    plan = Job.objects.get(pk=job.pk).metrics["plan"]
    assert plan["splits"] == ["test", "heldout"] and plan["validation"]["split"] == "val"
    cells = SuiteCell.objects.filter(suite_id=job.pk)
    assert sorted((c.key, c.seed) for c in cells) == [("g/fbank", 0), ("g/fbank", 1), ("g/mfcc", 0), ("g/mfcc", 1)]
    for cell in cells:
        run = cell.run
        assert run.train_config["seed"] == cell.seed and run.validation["split"] == "val"
        assert cell.status in (CellStatus.CONVERGED, CellStatus.CAP, CellStatus.CAP_IMPROVING)
        result = Checkpoint.objects.get(run=run, is_final=True)
        assert result == cell.checkpoint
        assert result.step == run.summary["best_step"] == cell.step and result.val_score is not None
        assert None not in (cell.evaluate_job, cell.evaluate_heldout_job, cell.generate_job, cell.generate_heldout_job)
    assert GeneratedImage.objects.filter(source_pair__split="heldout").exists()
    report = suite_report(job.pk)
    mfcc = next(r for r in report.table("2").rows if r.feature == "mfcc")
    score = mfcc.scores["class_consistency"]
    assert len(score.values) == 2 and score.value == pytest.approx(sum(score.values) / 2)
    assert score.ci[0] <= score.value <= score.ci[1]
    assert "class_consistency@heldout" in mfcc.scores and "diversity" in mfcc.scores
    assert set(mfcc.ceilings) == {"test", "heldout"} and 0 <= mfcc.ceilings["heldout"]["accuracy"] <= 1
    assert mfcc.volume["seeds"] == 2 and set(mfcc.volume["per_volume"]) == {"0.5", "1.0", "2.0", "3.0"}
    assert mfcc.volume["per_volume"]["1.0"]["mean"] == 0.0
    claims = {v["claim"].split(":")[0] + (" held-out" if "held-out" in v["claim"] else ""): v for v in report.verdicts}
    assert {"Table 2", "Table 2 held-out", "Data cleaning helps (the paper trained on cleaned pairs)"} <= set(claims)
    assert all(v["verdict"] in ("holds", "does not hold", "inconclusive", "not measured") for v in report.verdicts)
    markdown = to_markdown(report)
    assert "## Verdicts on the paper's claims" in markdown and "mean over 2 seeds" in markdown
    assert "Linear-probe ceiling" in markdown and "## Training per row" in markdown


@pytest.mark.slow
def test_a_diverged_seed_is_reported_and_left_out_of_the_mean(tones_with_sources, monkeypatch):
    from gan.ml.trainer import Trainer, TrainingDiverged

    real_iteration = Trainer._iteration

    def diverge_for_seed_1(self):
        if self.train_cfg.seed == 1 and self.step >= 2:
            raise TrainingDiverged("training diverged at iteration 3: d_loss = nan (test)")
        return real_iteration(self)

    monkeypatch.setattr(Trainer, "_iteration", diverge_for_seed_1)
    job = launch_suite(tones_with_sources, enqueue=False, **{**SEEDED, "features": ["mfcc"]})
    assert execute_job(job.pk, "test") == "succeeded", Job.objects.get(pk=job.pk).error
    statuses = dict(SuiteCell.objects.filter(suite_id=job.pk).values_list("seed", "status"))
    assert statuses[1] == CellStatus.DIVERGED and statuses[0] != CellStatus.DIVERGED
    assert Job.objects.get(pk=job.pk).progress == 1.0     # the diverged row's later stages are not waited for
    diverged = SuiteCell.objects.get(suite_id=job.pk, seed=1)
    assert diverged.generate_job is None and diverged.train_job.status == "failed"
    row = suite_report(job.pk).table("2").rows[0]
    assert [s["status"] for s in row.seeds if s["seed"] == 1] == ["diverged"]
    assert row.scores["class_consistency"].values == []           # one live seed: no mean over seeds
    assert "1 diverged" in row.source() and "seed 1: diverged" in row.source()
