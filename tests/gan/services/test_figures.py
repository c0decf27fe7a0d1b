"""Writes of Figure rows (gan/services/figures.py): one row per (generate job, checkpoint, kind), a
retried job's figure replacing its earlier path, another job's figures rows of their own."""
import pytest

from gan.models import Figure
from gan.selectors.figures import figures_of_job
from gan.services.figures import record_figure
from jobs.models import Job
from tests.gan.checkpoint_rows import checkpoint  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_a_figure_is_one_row_per_job_checkpoint_and_kind(checkpoint):
    job = Job.objects.create(kind="generate")
    record_figure(job.pk, checkpoint, "class_grid", "test", "generated/job1/ckpt1/class_grid.png")
    record_figure(job.pk, checkpoint, "class_grid", "test", "generated/job1/ckpt1/class_grid-2.png")   # a retry
    record_figure(job.pk, checkpoint, "volume_table", "test", "generated/job1/ckpt1/volume_table.png")
    assert list(Figure.objects.filter(checkpoint=checkpoint).values_list("kind", "path")) == [
        ("class_grid", "generated/job1/ckpt1/class_grid-2.png"),
        ("volume_table", "generated/job1/ckpt1/volume_table.png")]


def test_another_jobs_figures_are_rows_of_their_own(checkpoint):
    first, second = Job.objects.create(kind="generate"), Job.objects.create(kind="generate")
    stored = record_figure(first.pk, checkpoint, "class_grid", "test", "generated/a/class_grid.png")
    assert (stored.job_id, stored.checkpoint, stored.kind, stored.split) == (first.pk, checkpoint, "class_grid", "test")
    record_figure(second.pk, checkpoint, "class_grid", "heldout", "generated/b/class_grid.png")
    assert Figure.objects.filter(checkpoint=checkpoint).count() == 2
    assert figures_of_job(first.pk, checkpoint.pk) == {"class_grid": "generated/a/class_grid.png"}
    assert Figure.objects.get(job=second).split == "heldout"
