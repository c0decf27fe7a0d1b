"""Building rating and correlation studies from generated images: contents and balance."""
from collections import Counter

import pytest

from studies.errors import BuildError
from studies.models import StudyKind, Trial, TrialRole
from studies.services import build_correlation_study, build_rating_study, open_study

from ..conftest import CLASSES, make_world

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


def test_catch_and_practice_pictures_look_like_main_ones_to_a_script(media_root):
    """Real photos (here 64x64 with an alpha channel) and the catch picture are served at the main
    images' size and format, and the catch picture's file is no outlier in size."""
    import io

    from django.core.files.storage import default_storage
    from PIL import Image

    from studies.models import Trial
    from studies.services import build_correlation_study, build_rating_study

    from ..conftest import make_world, save

    world = make_world(sounds_per_class=3)
    for pair in world["pairs"]:  # bigger real photos, in another mode
        buffer = io.BytesIO()
        Image.new("RGBA", (64, 64), (200, 30, 30, 128)).save(buffer, format="PNG")
        pair.image = save(f"photos/{pair.pk}.png", buffer.getvalue())
        pair.save()
    rating = build_rating_study("r", world["checkpoints"], catch_trials=2, practice_trials=2)
    correlation = build_correlation_study("c", world["checkpoints"][0], catch_trials=2, practice_trials=2)
    for study in (rating, correlation):
        served = {}
        for trial in Trial.objects.filter(study=study).select_related("stimulus"):
            for path in filter(None, (trial.stimulus.image, trial.stimulus.other_image)):
                with default_storage.open(path) as handle:
                    data = handle.read()
                image = Image.open(io.BytesIO(data))
                served.setdefault(trial.role, []).append((image.format, image.mode, image.size, len(data)))
        assert {(f, m, s) for role in served.values() for f, m, s, _ in role} == {("PNG", "RGB", (8, 8))}, served
        assert set(served) == {"main", "catch", "practice"}
    main_sizes = [n for _, _, _, n in served["main"]]
    # the rating study's catch picture (a generated image in shuffled blocks) is no outlier either
    rating_catch = [len(default_storage.open(t.stimulus.image).read())
                    for t in Trial.objects.filter(study=rating, role="catch").select_related("stimulus")]
    rating_main = [len(default_storage.open(t.stimulus.image).read())
                   for t in Trial.objects.filter(study=rating, role="main").select_related("stimulus")]
    assert min(rating_main) * 0.8 <= min(rating_catch) and max(rating_catch) <= max(rating_main) * 1.2
    assert main_sizes
