"""Launching a training run (gan/services/training.py): a bad request is refused before any row is
stored, and every status the trainer writes is one the run's rows know. The job itself:
tests/gan/kinds/test_train.py."""
import pytest

from gan.models import Pair
from gan.services.training import launch_training
from jobs.engine import JobError
from tests.gan.trained_fixtures import FEATURE, tones  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_bad_training_requests_are_refused_before_anything_is_stored(tones):
    from gan.models import TrainingRun

    with pytest.raises(JobError, match="unknown variant 'z'"):
        launch_training(tones, variant="z", feature=FEATURE, train={"iterations": 1})
    with pytest.raises(JobError, match="unknown|kind"):
        launch_training(tones, variant="g", feature={"kind": "chroma"}, train={"iterations": 1})
    Pair.objects.filter(dataset=tones).exclude(label="low").update(split="test")
    with pytest.raises(JobError, match="1 class"):
        launch_training(tones, variant="g", feature=FEATURE, train={"iterations": 1})
    assert TrainingRun.objects.count() == 0


def test_every_status_the_trainer_writes_is_a_run_status():
    """gan/ml has no Django, so the trainer writes RunStatus's values as plain strings: every string
    it assigns to `status` (or puts in a summary's "status") must be one of them."""
    import ast
    import inspect

    from gan.ml import trainer
    from gan.models import RunStatus

    written = set()
    for node in ast.walk(ast.parse(inspect.getsource(trainer))):
        if isinstance(node, ast.Assign):
            names = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            values = [node.value]
            if isinstance(node.value, ast.Tuple) and isinstance(node.targets[0], ast.Tuple):
                values = [v for t, v in zip(node.targets[0].elts, node.value.elts)
                          if isinstance(t, ast.Name) and t.id == "status"]
            if "status" in names:
                written |= {c.value for v in values for c in ast.walk(v)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert {"completed", "early-stopped", "cancelled"} <= written  # the check sees the real assignments
    assert written <= set(RunStatus.values), written - set(RunStatus.values)
