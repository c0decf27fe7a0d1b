"""Reads of Figure rows (gan/selectors/figures.py): a generate job's figures of one checkpoint in the
report's order, and the figures of the newest job that drew a checkpoint's class grid."""
import pytest

from gan.models import Figure
from gan.selectors.figures import figures_of_job, latest_figures
from jobs.models import Job
from tests.gan.checkpoint_rows import make_checkpoint

pytestmark = pytest.mark.django_db


def test_the_newest_generate_jobs_figures_of_a_checkpoint():
    checkpoint = make_checkpoint()
    old, new = Job.objects.create(kind="generate"), Job.objects.create(kind="generate")
    Figure.objects.create(checkpoint=checkpoint, kind="volume_table", path="old/volumes.png", job=old)
    Figure.objects.create(checkpoint=checkpoint, kind="class_grid", path="old/grid.png", job=old)
    Figure.objects.create(checkpoint=checkpoint, kind="class_grid", path="new/grid.png", job=new, split="heldout")
    Figure.objects.create(checkpoint=checkpoint, kind="class_grid", path="orphan/grid.png", job=None)
    assert list(figures_of_job(old.pk, checkpoint.pk).items()) == [("class_grid", "old/grid.png"),
                                                                  ("volume_table", "old/volumes.png")]
    # as the reports always did: the newest job with a grid of the checkpoint, whichever split it drew
    assert latest_figures(checkpoint.pk) == {"class_grid": "new/grid.png"}
    assert figures_of_job(None, checkpoint.pk) == {} and latest_figures(checkpoint.pk + 1) == {}
