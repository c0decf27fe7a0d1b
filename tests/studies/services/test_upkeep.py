"""The studies' periodic job (studies/services/upkeep.py): stale trials expire with their load given
back, per study when asked and in batches; raters whose whole plan is answered are marked finished;
a study closes once every main trial has its votes and nobody holds a counted trial."""
from datetime import timedelta

import pytest
from django.utils import timezone

from studies.models import Assignment, AssignmentState, Participant, StudyState, Trial, TrialRole
from studies.services import build_rating_study, open_study, start_participant
from studies.services.upkeep import close_if_complete, expire_stale, maintain_studies, mark_finished_participants

pytestmark = pytest.mark.django_db


def _study(world, name, **kwargs):
    return open_study(build_rating_study(name, world["checkpoints"], catch_trials=0, practice_trials=0, **kwargs))


def test_stale_trials_expire_per_study_in_batches_and_give_their_load_back(world):
    now = timezone.now()
    first, second = _study(world, "first", target_votes=2), _study(world, "second", target_votes=2)
    raters = [start_participant(first), start_participant(first), start_participant(second)]
    Assignment.objects.filter(participant__in=raters).update(expires_at=now - timedelta(seconds=1))
    held_by_first = Assignment.objects.filter(participant__study=first).count()
    assert sum(Trial.objects.filter(study=first).values_list("load", flat=True)) == held_by_first
    assert expire_stale(now, study=first, batch=3) == held_by_first  # several batches of 3
    assert sum(Trial.objects.filter(study=first).values_list("load", flat=True)) == 0
    assert not Assignment.objects.filter(participant__study=first, state=AssignmentState.ACTIVE).exists()
    assert Assignment.objects.filter(participant__study=second, state=AssignmentState.ACTIVE).count() > 0
    assert expire_stale(now) == Assignment.objects.filter(participant__study=second).count()
    assert expire_stale(now) == 0


def test_a_rater_is_finished_only_when_every_trial_of_their_plan_is_answered(world):
    study = _study(world, "plan", target_votes=3, trials_per_participant=2)
    done, midway = start_participant(study), start_participant(study)
    Assignment.objects.filter(participant=done).update(state=AssignmentState.ANSWERED)
    first = Assignment.objects.filter(participant=midway).order_by("position").first()
    Assignment.objects.filter(pk=first.pk).update(state=AssignmentState.ANSWERED)
    now = timezone.now()
    assert mark_finished_participants(now) == 1
    assert Participant.objects.get(pk=done.pk).completed_at == now
    assert Participant.objects.get(pk=midway.pk).completed_at is None
    assert mark_finished_participants(now) == 0  # marked once


def test_a_study_closes_when_its_votes_are_in_and_nobody_is_mid_way(world):
    study = _study(world, "close", target_votes=1)
    rater = start_participant(study)
    main = Trial.objects.filter(study=study, role=TrialRole.MAIN)
    assert not close_if_complete(study.pk)  # no votes yet
    main.update(vote_count=1)
    assert not close_if_complete(study.pk)  # the rater still holds counted trials
    now = timezone.now()
    Assignment.objects.filter(participant=rater).update(expires_at=now - timedelta(seconds=1))
    result = maintain_studies(now)
    assert result["closed"] == [study.pk] and result["expired"] == Assignment.objects.filter(participant=rater).count()
    study.refresh_from_db()
    assert study.state == StudyState.CLOSED and study.closed_at == now
    assert not close_if_complete(study.pk)  # closed already
