"""Building rating and correlation studies from generated images: contents and balance."""
from collections import Counter

import pytest

from studies.errors import BuildError
from studies.models import StudyKind, Trial, TrialRole
from studies.services import build_correlation_study, build_rating_study, open_study

from .conftest import CLASSES, make_world

pytestmark = pytest.mark.django_db


def test_rating_study_is_sounds_times_conditions_with_catch_and_practice(world):
    study = build_rating_study("r", world["checkpoints"], target_votes=3, catch_trials=2, practice_trials=1)
    assert study.kind == StudyKind.RATING and study.state == "draft"
    main = Trial.objects.filter(study=study, role=TrialRole.MAIN).select_related("stimulus", "condition")
    assert main.count() == 2 * 2 * 2  # 2 classes x 2 test sounds x 2 conditions
    per_condition = Counter(t.condition.checkpoint_id for t in main)
    assert set(per_condition.values()) == {4}
    per_class = Counter((t.condition_id, t.stimulus.sound_label) for t in main)
    assert set(per_class.values()) == {2}
    for trial in main:  # the image shown is the one that checkpoint generated from that sound
        image = trial.stimulus.generated_image
        assert image.checkpoint_id == trial.condition.checkpoint_id
        assert image.sound.name == trial.stimulus.source_sound and trial.stimulus.source_image == image.image.name
        assert trial.stimulus.sound_duration_s == pytest.approx(0.2, abs=1e-3)
    catch = Trial.objects.filter(study=study, role=TrialRole.CATCH).select_related("stimulus")
    assert catch.count() == 2 and {t.catch_expectation for t in catch} == {"low_rating"}
    assert {t.stimulus.sound_label for t in catch} == set(CLASSES)  # spread over the classes
    practice = Trial.objects.get(study=study, role=TrialRole.PRACTICE)
    assert practice.stimulus.real_pair is not None


def test_correlation_study_balances_negative_classes(media_root):
    world = make_world(sounds_per_class=4)
    study = build_correlation_study("c", world["checkpoints"][1], catch_trials=2, practice_trials=1)
    main = list(Trial.objects.filter(study=study, role=TrialRole.MAIN).select_related("stimulus"))
    assert len(main) == 8
    for trial in main:
        s = trial.stimulus
        assert s.sound_label != s.other_label
        assert s.generated_image.sound_label == s.sound_label
        assert s.other_generated_image.sound_label == s.other_label
        assert s.generated_image.checkpoint_id == s.other_generated_image.checkpoint_id == world["checkpoints"][1].pk
    assert Counter(t.stimulus.other_label for t in main) == Counter({c: 4 for c in CLASSES})
    # negatives spread over the other class's images rather than reusing one
    assert len({t.stimulus.other_generated_image_id for t in main}) == 8
    catch = Trial.objects.filter(study=study, role=TrialRole.CATCH).select_related("stimulus")
    for trial in catch:
        assert trial.stimulus.real_pair.label == trial.stimulus.sound_label
        assert trial.stimulus.other_real_pair.label == trial.stimulus.other_label != trial.stimulus.sound_label


def test_bad_builds_are_refused(world):
    with pytest.raises(BuildError, match="at least one checkpoint"):
        build_rating_study("r", [])
    with pytest.raises(BuildError, match="chosen twice"):
        build_rating_study("r", [world["checkpoints"][0]] * 2)
    with pytest.raises(BuildError, match="target_votes"):
        build_rating_study("r", world["checkpoints"], target_votes=0)


def test_correlation_needs_two_classes(media_root):
    world = make_world()
    world["images"][0].checkpoint.images.exclude(sound_label=CLASSES[0]).delete()
    with pytest.raises(BuildError, match="two classes"):
        build_correlation_study("c", world["checkpoints"][0])


def test_open_requires_main_trials(world):
    study = build_rating_study("r", world["checkpoints"])
    assert open_study(study).state == "open"
