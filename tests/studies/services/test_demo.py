"""The demo's studies (studies/services/demo.py): a rating study over the checkpoints in order and a
correlation study over the last one, both open, with their links; without real photos the
correlation study is built without catch and practice trials rather than failing."""
import pytest

from studies.errors import NoRealPhotos
from studies.models import StudyKind, StudyState, TrialRole
from studies.services import demo
from studies.services.demo import build_demo_studies

pytestmark = pytest.mark.django_db


def _roles(study) -> dict[str, int]:
    return {role: study.trials.filter(role=role).count() for role in TrialRole.values}


def test_the_demo_opens_a_rating_and_a_correlation_study_with_their_links(world):
    first, last = world["checkpoints"]
    built = build_demo_studies([first, last], base_url="http://demo.example:8000/", catch_trials=1,
                               practice_trials=1)
    rating, correlation = built["rating"]["study"], built["correlation"]["study"]
    assert (rating.kind, correlation.kind) == (StudyKind.RATING, StudyKind.CORRELATION)
    assert rating.state == correlation.state == StudyState.OPEN
    assert list(rating.conditions.order_by("position").values_list("checkpoint", flat=True)) == [first.pk, last.pk]
    assert list(correlation.conditions.values_list("checkpoint", flat=True)) == [last.pk]
    assert built["rating"]["link"] == f"http://demo.example:8000/s/{rating.public_key}/"
    assert built["correlation"]["link"] == f"http://demo.example:8000/s/{correlation.public_key}/"
    assert rating.target_votes_per_item == correlation.target_votes_per_item == 3
    assert _roles(correlation)[TrialRole.PRACTICE] == 1 and _roles(correlation)[TrialRole.CATCH] == 1


def test_without_real_photos_the_correlation_study_has_no_catch_or_practice_trials(world, monkeypatch):
    real = demo.build_correlation_study
    calls = []

    def no_photos(*args, catch_trials, practice_trials, **kwargs):
        calls.append((catch_trials, practice_trials))
        if catch_trials or practice_trials:
            raise NoRealPhotos("no real photos in this dataset")
        return real(*args, catch_trials=catch_trials, practice_trials=practice_trials, **kwargs)

    monkeypatch.setattr(demo, "build_correlation_study", no_photos)
    built = build_demo_studies(world["checkpoints"], correlation_checkpoint=world["checkpoints"][0])
    correlation = built["correlation"]["study"]
    assert calls == [(2, 1), (0, 0)]
    assert list(correlation.conditions.values_list("checkpoint", flat=True)) == [world["checkpoints"][0].pk]
    assert _roles(correlation)[TrialRole.CATCH] == _roles(correlation)[TrialRole.PRACTICE] == 0
    assert correlation.state == StudyState.OPEN


def test_the_demo_needs_a_checkpoint():
    with pytest.raises(ValueError, match="at least one checkpoint"):
        build_demo_studies([])
