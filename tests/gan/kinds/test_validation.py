"""Model selection's score (gan/kinds/validation.py): class consistency of the images a generator
makes from the run's validation sounds (one fixed z per sound, so successive validations differ only
by the weights), judged by the run's classifier, never from a test sound."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gan.kinds import validation
from gan.ml.architectures import build_generator
from gan.ml.variants import ModelConfig, get_variant
from gan.models import Pair
from gan.services.training import launch_training
from tests.gan.trained_fixtures import FEATURE, TINY_MODEL, tones_with_sources  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(tones_with_sources):
    """A row-g run of the tones that validates every 2 iterations (on its 'val' sounds by default)."""
    return launch_training(tones_with_sources, variant="g", feature=FEATURE, model=TINY_MODEL, enqueue=False,
                           train={"iterations": 2, "batch_size": 8, "validate_every": 2},
                           validation={"classifier": "domain"})


def _generator(run, seed=0):
    torch.manual_seed(seed)
    return build_generator(ModelConfig.from_dict(run.model_config), get_variant(run.variant))


@pytest.mark.slow   # trains the dataset's domain classifier (15 epochs on 18 images)
def test_the_score_is_the_domain_classifiers_agreement_on_the_val_sounds_and_repeats(run):
    logged = []
    validate = validation.build_validator(run, SimpleNamespace(log=logged.append))
    assert "training the domain classifier on 18 real train images" in logged
    assert logged[-1] == "validation: 6 val sounds, classifier domain"
    generator = _generator(run)
    score = validate(generator)
    assert 0.0 <= score <= 1.0 and round(score * 6, 6) == int(round(score * 6))   # a share of 6 sounds
    assert validate(generator) == score   # the same weights, the same z per sound: the same score


class _Always:
    """A stand-in classifier that calls every image the class at one index; it keeps what it was shown."""

    def __init__(self, index, classes):
        self.index, self.classes, self.shown = index, classes, []

    def predict_proba(self, images, device=None):
        self.shown.append(images.shape)
        probs = np.zeros((len(images), self.classes), np.float32)
        probs[:, self.index] = 1.0
        return probs


def test_the_score_is_the_share_of_val_sounds_whose_class_the_classifier_names(run, monkeypatch):
    dataset = run.dataset
    Pair.objects.filter(pk=Pair.objects.filter(dataset=dataset, split="val", label="mid").first().pk).update(
        split="train")   # val sounds now: low 2, mid 1, high 2
    for label, share in (("low", 2 / 5), ("mid", 1 / 5)):
        judge = _Always(dataset.class_names.index(label), len(dataset.class_names))
        monkeypatch.setattr(validation, "load_classifier", lambda name, dataset, log: (judge, {}))
        assert validation.build_validator(run)(_generator(run)) == pytest.approx(share)
        assert judge.shown == [(5, 32, 32, 3)]   # one image per val sound, never a test or train one
    # capped at 3: one sound per class (classes in turn), so the stand-in naming 'mid' is right once in 3
    run.validation = {**run.validation, "max_sounds": 3}
    assert validation.build_validator(run)(_generator(run)) == pytest.approx(1 / 3)
