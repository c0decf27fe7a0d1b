"""Launching an evaluation (gan/services/scoring.py): bad requests store nothing and say what is wrong;
ImageNet outputs map onto a dataset's classes. The `evaluate` job itself is tested in
tests/gan/kinds/test_evaluate.py."""
import numpy as np
import pytest

from gan.models import Evaluation, GeneratedImage
from gan.services import scoring
from gan.services.scoring import EvaluationError, launch_evaluation
from jobs.models import Job
from tests.gan.trained_fixtures import generated, tones  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_missing_inception_weights_name_the_file_and_how_to_supply_them(tones, settings, tmp_path):
    settings.WEIGHTS_DIR = tmp_path / "no-weights"
    with pytest.raises(EvaluationError) as caught:
        launch_evaluation(dataset=tones, classifier="inception-v3", splits=3)
    message = str(caught.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message and "inception_v3_google" in message
    assert "WEIGHTS_DIR" in message and "never downloads" in message
    assert not Job.objects.exists() and not Evaluation.objects.exists()


def test_fewer_images_than_splits_and_empty_sets_are_refused(tones, generated):
    with pytest.raises(EvaluationError, match="6 real test images cannot be cut into 10"):
        launch_evaluation(dataset=tones)
    with pytest.raises(EvaluationError, match="empty: no generated images.*run a generation job"):
        launch_evaluation(checkpoint=generated, volume=2.0, splits=3)
    GeneratedImage.objects.all().delete()
    with pytest.raises(EvaluationError, match="empty"):
        launch_evaluation(checkpoint=generated, splits=3)
    with pytest.raises(EvaluationError, match="match none"):
        launch_evaluation(dataset=tones, classifier="efficientnet-lite0", splits=3)
    assert Job.objects.filter(kind="evaluate").count() == 0 and not Evaluation.objects.exists()


def test_class_map_maps_imagenet_outputs_to_dataset_classes(tones):
    names = ["tabby", "tiger cat", "beagle", "airliner"]
    mapping = scoring.class_index_map("net", names, tones,
                                      {"high": ["airliner"], "low": ["beagle"], "mid": ["tabby", "Tiger Cat"]})
    assert mapping.tolist() == [2, 2, 1, 0]  # classes are sorted: high, low, mid
    assert np.array_equal(mapping[np.array([3, 0, 2])], [0, 2, 1])
    # output indices work too, as in the cleaning class maps
    by_index = scoring.class_index_map("net", names, tones, {"high": [3], "low": [2], "mid": [0, "tiger cat"]})
    assert by_index.tolist() == mapping.tolist()


def test_class_map_names_are_exact_before_case_and_never_ambiguous(tones):
    from gan.ml.classifiers import imagenet_class_names

    imagenet = imagenet_class_names()
    mapping = scoring.class_index_map("net", imagenet, tones, {"high": ["Cardigan"], "low": ["cardigan"],
                                                               "mid": ["beagle"]})
    assert np.flatnonzero(mapping == 0).tolist() == [264] and np.flatnonzero(mapping == 1).tolist() == [474]
    dogs = scoring.class_index_map("net", imagenet, tones, {"high": ["group:dog-breeds"], "low": ["cardigan"],
                                                            "mid": ["tabby"]})
    assert (dogs == 0).sum() == 118 and dogs[264] == 0 and dogs[474] == 1
    with pytest.raises(EvaluationError, match="both claim output 264"):
        scoring.class_index_map("net", imagenet, tones, {"high": ["Cardigan"], "low": ["cardigan"],
                                                         "mid": ["group:dog-breeds"]})
    with pytest.raises(EvaluationError, match="CARDIGAN.*264.*474|ambiguous"):
        scoring.class_index_map("net", imagenet, tones, {"high": ["CARDIGAN"], "low": ["beagle"], "mid": ["tabby"]})
