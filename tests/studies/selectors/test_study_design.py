"""studies.selectors.study_design and loads.main_slots: the design read once per open study, the
loads read fresh on every join."""
import pytest

from studies.models import Study, Trial, TrialRole
from studies.selectors.loads import main_slots
from studies.selectors.study_design import read_design, study_design
from studies.services import build_rating_study, close_study, open_study, start_participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(world):
    return build_rating_study("design", world["checkpoints"], target_votes=2, catch_trials=1, practice_trials=1)


def test_design_matches_the_trials_in_their_order(draft):
    design = read_design(draft)
    trials = list(Trial.objects.filter(study=draft).order_by("position", "id"))
    assert design.practice == tuple(t.pk for t in trials if t.role == TrialRole.PRACTICE)
    assert design.catch == tuple(t.pk for t in trials if t.role == TrialRole.CATCH)
    assert [s.trial for s in design.main] == [t.pk for t in trials if t.role == TrialRole.MAIN]
    assert len(design.practice) == 1 and len(design.catch) == 1 and len(design.main) > 0
    assert all(s.load == 0 and s.left_load == 0 for s in design.main)


def test_open_study_design_is_read_once_and_a_draft_every_time(draft, django_assert_num_queries):
    with django_assert_num_queries(1):
        study_design(draft)
    with django_assert_num_queries(1):
        study_design(draft)  # a draft may still change: no cache
    study = open_study(draft)
    first = study_design(study)
    again = Study.objects.get(pk=study.pk)  # another request's copy of the same study
    with django_assert_num_queries(0):
        assert study_design(again) is first


def test_a_reopened_study_is_read_afresh(draft):
    study = open_study(draft)
    first = study_design(study)
    close_study(study)
    reopened = open_study(Study.objects.get(pk=study.pk))
    assert reopened.opened_at != study.opened_at
    assert study_design(reopened) is not first
    assert study_design(reopened) == first  # the same trials, read again


def test_main_slots_carry_the_current_loads_from_the_cached_design(draft):
    study = open_study(draft)
    study_design(study)  # cached
    rater = start_participant(study)
    taken = set(rater.assignments.filter(trial__role=TrialRole.MAIN).values_list("trial_id", flat=True))
    assert taken
    slots = {s.trial: s for s in main_slots(study, with_room=False)}
    assert {t for t, s in slots.items() if s.load == 1} == taken
    assert all(s.load == 0 for t, s in slots.items() if t not in taken)
    Trial.objects.filter(pk__in=taken).update(load=study.target_votes_per_item)  # full now
    assert taken.isdisjoint(s.trial for s in main_slots(study))
    assert {s.trial for s in main_slots(study, exclude_trials=taken, with_room=False)} == set(slots) - taken
