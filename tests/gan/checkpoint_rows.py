"""A checkpoint as database rows only (a dataset, its training run, the checkpoint; no weights file),
for tests of what is written or read about a checkpoint rather than made with it. The fixture is
imported by name into each test module that uses it."""
import pytest

from gan.models import Checkpoint, Dataset, TrainingRun


def make_checkpoint(dataset=None, step: int = 4) -> Checkpoint:
    """The final checkpoint of a row-g MFCC run of `dataset` (by default a new two-class one)."""
    if dataset is None:
        dataset = Dataset.objects.create(name="d", source="test", root="datasets/d", class_names=["a", "b"])
    run = TrainingRun.objects.create(dataset=dataset, variant="g", feature_spec={"kind": "mfcc"})
    return Checkpoint.objects.create(run=run, step=step, path=f"runs/{run.pk}/ckpt.pt", is_final=True)


@pytest.fixture
def checkpoint():
    return make_checkpoint()
