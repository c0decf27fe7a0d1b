"""Building the realism study (studies/services/building_kinds.py): each test sound's real photo beside
every chosen model's image of it, catch and qualification trials, and nothing but the pixels to tell a
real photo from a fake. The kinds end to end through the rater API: tests/studies/test_study_kinds.py."""
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from studies.models import TrialRole
from studies.services import build_realism_study

pytestmark = pytest.mark.django_db


def test_realism_study_mixes_each_sounds_real_photo_with_every_models_image(world):
    study = build_realism_study("real", world["checkpoints"], catch_trials=2, qualification_trials=2)
    main = study.trials.filter(role=TrialRole.MAIN).select_related("stimulus", "condition")
    assert main.count() == 4 * 3  # 4 test sounds x (2 models' images + the real photo)
    reals = [t for t in main if t.condition is None]
    assert len(reals) == 4 and all(t.stimulus.real_pair is not None for t in reals)
    assert {t.stimulus.real_pair.split for t in reals} == {"test"}
    qualification = study.trials.filter(role=TrialRole.PRACTICE)
    assert sorted(qualification.values_list("catch_expectation", flat=True)) == ["fake", "real"]
    assert set(study.trials.filter(role=TrialRole.CATCH).values_list("catch_expectation", flat=True)) == {"fake"}
    # nothing but the pixels differs: one size, one mode, PNG without any metadata, real or fake
    for trial in main:
        with Image.open(default_storage.path(trial.stimulus.image)) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (8, 8))
            assert not image.info, image.info
    with pytest.raises(Exception, match="at least 1 checkpoint"):
        build_realism_study("none", [])
