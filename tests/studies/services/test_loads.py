"""Trial loads (studies/services/loads.py): a slot is taken only below the target, the left side
counted apart, and giving back expires the rows and returns only the main trials' loads, so the
loads always equal what the assignments say."""
import pytest

from studies.models import Assignment, AssignmentState, Trial, TrialRole
from studies.selectors.loads import live_loads
from studies.services import build_rating_study, open_study, start_participant
from studies.services.loads import HELD_ROW_FIELDS, give_back, take_slots

pytestmark = pytest.mark.django_db


def _loads(study) -> dict[int, tuple[int, int]]:
    return {t.pk: (t.load, t.left_load) for t in Trial.objects.filter(study=study)}


def test_a_slot_is_taken_only_below_the_target_and_the_left_side_is_counted_apart(world):
    study = build_rating_study("take", world["checkpoints"], target_votes=1)
    first, second, third = Trial.objects.filter(study=study, role=TrialRole.MAIN).order_by("pk")[:3]
    assert take_slots(study, [second.pk, first.pk], {second.pk}) == [first.pk, second.pk]  # in id order
    loads = _loads(study)
    assert loads[first.pk] == (1, 0) and loads[second.pk] == (1, 1) and loads[third.pk] == (0, 0)
    assert take_slots(study, [first.pk, third.pk], {first.pk}) == [third.pk]  # the first is full
    assert _loads(study)[first.pk] == (1, 0) and _loads(study)[third.pk] == (1, 0)


def test_giving_back_expires_the_rows_and_returns_the_main_trials_loads_only(world):
    study = open_study(build_rating_study("back", world["checkpoints"], target_votes=3, catch_trials=1,
                                          practice_trials=1))
    rater = start_participant(study)
    rows = list(Assignment.objects.filter(participant=rater).order_by("pk").values_list(*HELD_ROW_FIELDS))
    main = [row for row in rows if row[4] == TrialRole.MAIN]
    assert main and len(main) == len(rows) - 2  # one practice and one catch trial besides
    before = _loads(study)
    assert all(before[trial][0] == 1 for _, trial, _, _, _ in main)
    give_back(rows)
    assert set(Assignment.objects.filter(participant=rater).values_list("state", flat=True)) == {
        AssignmentState.EXPIRED}
    after = _loads(study)
    assert {trial: after[trial] for _, trial, _, _, _ in main} == {trial: (0, 0) for _, trial, _, _, _ in main}
    assert {pk: load for pk, load in after.items() if pk not in {row[1] for row in main}} == {
        pk: load for pk, load in before.items() if pk not in {row[1] for row in main}}
    assert sum(live_loads(study).values()) == 0
