"""Room for new raters (studies/services/admission.py): how many raters fill a study, the cap on
raters of one address holding trials at once, and taking back the trials of raters who joined and
never answered."""
from datetime import timedelta

import pytest
from django.utils import timezone

from studies.errors import TooManyFromAddress
from studies.models import Assignment, AssignmentState, Participant, Study, Trial
from studies.services import build_rating_study, open_study, start_participant
from studies.services.admission import admit_address, raters_needed, reclaim_idle


def test_the_raters_a_study_needs_are_its_votes_over_a_plan_rounded_up():
    assert raters_needed(Study(trials_per_participant=4, target_votes_per_item=3), 10) == 8  # 30 votes / 4
    assert raters_needed(Study(trials_per_participant=None, target_votes_per_item=3), 10) == 3  # whole plans
    assert raters_needed(Study(trials_per_participant=40, target_votes_per_item=2), 10) == 2  # plan cut to 10
    assert raters_needed(Study(trials_per_participant=None, target_votes_per_item=5), 0) == 0


@pytest.mark.django_db
def test_raters_of_one_address_are_capped_while_they_hold_trials(world, settings):
    settings.STUDIES_MAX_RATERS_PER_ADDRESS = 2
    settings.STUDIES_JOIN_HOLD_MINUTES = 5
    study = open_study(build_rating_study("cap", world["checkpoints"], target_votes=50, trials_per_participant=2))
    first, second = (start_participant(study, address="203.0.113.9") for _ in range(2))
    assert first.client_address == second.client_address != "203.0.113.9"  # a keyed hash, not the address
    now = timezone.now()
    with pytest.raises(TooManyFromAddress) as refused:
        admit_address(Participant(study=study, client_address=first.client_address), now)
    assert refused.value.retry_after == 300
    assert start_participant(study, address="198.51.100.7").pk  # another address is not capped
    Assignment.objects.filter(participant=first).update(expires_at=now - timedelta(seconds=1))
    admit_address(Participant(study=study, client_address=first.client_address), now)  # one holds nothing now


@pytest.mark.django_db
def test_raters_who_joined_and_never_answered_give_their_trials_back_oldest_first(world, settings):
    settings.STUDIES_RECLAIM_NEW_SECONDS = 60
    study = open_study(build_rating_study("idle", world["checkpoints"], target_votes=3, trials_per_participant=2,
                                          catch_trials=0, practice_trials=0))
    oldest, older, fresh = (start_participant(study) for _ in range(3))
    now = timezone.now()
    Participant.objects.filter(pk=oldest.pk).update(created_at=now - timedelta(seconds=200))
    Participant.objects.filter(pk=older.pk).update(created_at=now - timedelta(seconds=100))
    load = sum(Trial.objects.filter(study=study).values_list("load", flat=True))
    assert reclaim_idle(study, now, need=2) == 2  # one whole rater is enough: the oldest
    assert set(oldest.assignments.values_list("state", flat=True)) == {AssignmentState.EXPIRED}
    assert set(older.assignments.values_list("state", flat=True)) == {AssignmentState.ACTIVE}
    assert sum(Trial.objects.filter(study=study).values_list("load", flat=True)) == load - 2
    assert reclaim_idle(study, now, need=10) == 2  # the older one too; the one who just joined keeps theirs
    assert set(fresh.assignments.values_list("state", flat=True)) == {AssignmentState.ACTIVE}
