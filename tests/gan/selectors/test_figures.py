"""Reads of Figure rows (gan/selectors/figures.py): a generate job's figures of one checkpoint in the
report's order, and the figures of the newest job that drew a checkpoint's class grid."""
import pytest

from gan.models import Checkpoint, Dataset, Figure, TrainingRun
from gan.selectors.figures import figures_of_job, latest_figures
from jobs.models import Job

pytestmark = pytest.mark.django_db


def test_the_newest_generate_jobs_figures_of_a_checkpoint():
    dataset = Dataset.objects.create(name="d", source="test", root="datasets/d", class_names=["a", "b"])
    run = TrainingRun.objects.create(dataset=dataset, variant="g", feature_spec={"kind": "mfcc"})
    checkpoint = Checkpoint.objects.create(run=run, step=4, path="runs/1/ckpt.pt", is_final=True)
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
